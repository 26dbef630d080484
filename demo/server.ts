/**
 * The demo's server side: the e2e stack (test proxy in front of the upstream, real OpenID provider,
 * real nginx front when installed) plus the demo SPA served by the upstream under `/demo/`.
 * `demo/serve.ts` (`npm run demo`) and `e2e/demo.e2e.ts` both start it through `startDemo()`.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RealStack } from '../e2e/server/real.js'
import type { Stack } from '../e2e/server/stack.js'
import { startStack } from '../e2e/server/stack.js'
import { REPO_ROOT } from '../e2e/server/upstream.js'
import { startRealAdmin } from './real-admin.js'

const DEMO_DIR = join(REPO_ROOT, 'demo')

export interface Demo {
  stack: Stack | RealStack
  /** Open this: signs in through the real flow and lands on the demo. */
  url: string
  /** The demo page itself (behind the proxy). */
  pageUrl: string
  stop(): Promise<void>
}

/** The demo SPA bundled for the browser (esbuild, ES module). Rebuilt on every request: edit and reload. */
async function bundleApp(): Promise<string> {
  const { build } = await import('esbuild')
  const out = await build({
    entryPoints: [join(DEMO_DIR, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  return out.outputFiles[0]?.text ?? ''
}

/**
 * `real`: the real oauth2-proxy binary (`startStack({ proxy: 'real' })`, built by scripts/setup.sh)
 * instead of the test proxy; its admin API runs on an origin of its own (`real-admin.ts`), and the
 * nginx mode is off (the binary runs one deployment, in front of the app).
 */
export async function startDemo(options: { real?: boolean } = {}): Promise<Demo> {
  const stack: Stack | RealStack = options.real ? await startStack({ proxy: 'real' }) : await startStack()
  const admin = stack.kind === 'real' ? await startRealAdmin(stack) : null
  const nginxUrl = stack.kind === 'real' ? null : stack.nginxUrl
  const file = (name: string, type: string) => async () => ({
    type,
    body: await readFile(join(DEMO_DIR, name)),
  })
  const page = file('index.html', 'text/html; charset=utf-8')
  stack.upstream.routes.set('/demo', page)
  stack.upstream.routes.set('/demo/', page)
  stack.upstream.routes.set('/demo/index.html', page)
  stack.upstream.routes.set('/demo/style.css', file('style.css', 'text/css; charset=utf-8'))
  stack.upstream.routes.set('/demo/app.js', async () => ({
    type: 'text/javascript; charset=utf-8',
    body: await bundleApp(),
  }))
  stack.upstream.routes.set('/demo/config.json', async () => ({
    type: 'application/json',
    body: JSON.stringify({
      appUrl: stack.appUrl,
      nginxUrl,
      idpUrl: stack.idpUrl,
      adminUrl: admin?.url ?? `${stack.appUrl}/__admin`,
      proxy: stack.kind === 'real' ? `oauth2-proxy ${stack.real.version} (real binary)` : 'test proxy',
    }),
  }))
  // fail early (at start, not in the browser) when the bundle does not build; stop what started
  try {
    await bundleApp()
  } catch (err) {
    await Promise.allSettled([admin?.close(), stack.stop()])
    throw err
  }
  return {
    stack,
    url: `${stack.appUrl}/oauth2/start?rd=${encodeURIComponent('/demo/')}`,
    pageUrl: `${stack.appUrl}/demo/`,
    stop: async () => {
      await Promise.allSettled([admin?.close(), stack.stop()])
    },
  }
}
