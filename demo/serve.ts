/**
 * `npm run demo`: build the package, start the whole stack with the demo SPA, print the URL to open,
 * stay up until Ctrl-C, then stop every server (test proxy, upstream, OpenID provider, nginx).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../e2e/server/upstream.js'
import { startDemo } from './server.js'

const BUNDLE = join(REPO_ROOT, 'dist/ajax-reauth.global.js')

if (!process.argv.includes('--no-build')) {
  console.log('building the package (npm run build)…')
  const built = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' })
  if (built.status !== 0) console.warn(`npm run build exited with ${built.status}; using dist/ as it is`)
}
if (!existsSync(BUNDLE)) {
  console.error(`missing ${BUNDLE}: the browser build (tsup, IIFE) did not produce it`)
  process.exit(1)
}

// `npm run demo -- --real` (or DEMO_REAL=1): the real oauth2-proxy binary instead of the test proxy
const real = process.argv.includes('--real') || process.env.DEMO_REAL === '1'
const demo = await startDemo({ real })
const { stack } = demo
console.log(`
  ajax-reauth demo is running

  open            ${demo.url}
                  (signs you in through the OpenID provider, then shows ${demo.pageUrl})
  proxy           ${stack.kind === 'real' ? `oauth2-proxy ${stack.real.version} (real binary: ${stack.real.path})` : 'test proxy (oauth2-proxy 7.x emulation)'}
  nginx front     ${stack.kind === 'real' ? 'off with --real' : stack.nginxUrl ? `${stack.nginxUrl}/demo/` : 'not available (/usr/sbin/nginx missing)'}
  provider        ${stack.idpUrl}

  Ctrl-C stops every server.
`)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`\n${signal}: stopping the demo servers…`)
  await demo.stop()
  console.log('stopped.')
  process.exit(0)
}
process.once('SIGINT', () => void stop('SIGINT'))
process.once('SIGTERM', () => void stop('SIGTERM'))
