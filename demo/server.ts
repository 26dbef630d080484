/**
 * The demo's server side: the e2e stack (test proxy in front of the upstream, real OpenID provider,
 * real nginx front when installed) plus the demo SPA served by the upstream under `/demo/`.
 * `demo/serve.ts` (`npm run demo`) and `e2e/demo.e2e.ts` both start it through `startDemo()`.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Stack } from '../e2e/server/stack.js'
import { startStack } from '../e2e/server/stack.js'
import { REPO_ROOT } from '../e2e/server/upstream.js'

const DEMO_DIR = join(REPO_ROOT, 'demo')

export interface Demo {
  stack: Stack
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

export async function startDemo(): Promise<Demo> {
  const stack = await startStack()
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
    body: JSON.stringify({ appUrl: stack.appUrl, nginxUrl: stack.nginxUrl, idpUrl: stack.idpUrl }),
  }))
  // fail early (at start, not in the browser) when the bundle does not build; stop what started
  try {
    await bundleApp()
  } catch (err) {
    await stack.stop()
    throw err
  }
  return {
    stack,
    url: `${stack.appUrl}/oauth2/start?rd=${encodeURIComponent('/demo/')}`,
    pageUrl: `${stack.appUrl}/demo/`,
    stop: () => stack.stop(),
  }
}
