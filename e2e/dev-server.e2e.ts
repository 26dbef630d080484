/**
 * The option checks in a bundler's development server, where the page has no `process`: a real Vite
 * dev server resolves the package's `development` export condition (as webpack's development mode
 * does), so `createReauth()` with bad options throws `ReauthConfigError`. A production `vite build` of
 * the same app resolves the default build and ships none of the checks.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from './harness.js'
import { BROWSER } from './harness.js'
import { launch } from './server/browser.js'
import { REPO_ROOT } from './server/upstream.js'

const MAIN = `import { createReauth, isReauthConfigError } from 'ajax-reauth'
import { axiosReauth } from 'ajax-reauth/axios'
const attempt = (options) => {
  try {
    createReauth(options)
    return 'no error'
  } catch (e) {
    return (isReauthConfigError(e) ? 'ReauthConfigError: ' : e.name + ': ') + e.message
  }
}
window.__results = {
  hasProcess: typeof process !== 'undefined',
  relogin: attempt({ relogin: 42, crossTab: false, wake: false }),
  include: attempt({ scope: { include: ['api/'] }, crossTab: false, wake: false }),
  good: attempt({ crossTab: false, wake: false }),
  axios: typeof axiosReauth,
}
`

let dir = ''
let server: ViteDevServer | null = null
let browser: Browser | null = null

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ajax-reauth-vite-dev-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'ajax-reauth'), 'dir')
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>dev</title><script type="module" src="/main.js"></script>',
  )
  writeFileSync(join(dir, 'main.js'), MAIN)
  const { createServer } = await import('vite')
  server = await createServer({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    // the package is a symlink to this checkout: resolve it like an installed one
    resolve: { preserveSymlinks: true },
    server: { host: '127.0.0.1', port: 0, strictPort: false, fs: { allow: [dir, REPO_ROOT] } },
  })
  await server.listen()
  browser = await launch(BROWSER)
})

afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await server?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe("a bundler's development server", () => {
  it("Vite's dev server: bad options throw ReauthConfigError naming the field, with no process in the page", async () => {
    const url = server?.resolvedUrls?.local[0]
    if (!url || !browser) throw new Error('vite dev server not started')
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(url)
      await page.waitForFunction(() => (window as any).__results !== undefined, null, { timeout: 20_000 })
      const r = await page.evaluate(() => (window as any).__results)
      expect(r.hasProcess).toBe(false)
      expect(r.relogin).toMatch(/^ReauthConfigError: .*relogin: expected .*got 42/)
      expect(r.include).toMatch(/^ReauthConfigError: .*scope\.include\[0\]: expected .*got 'api\/'/)
      expect(r.good).toBe('no error')
      expect(r.axios).toBe('function')
    } finally {
      await context.close()
    }
  })

  it('vite build (production) of the same app ships none of the checks', async () => {
    const { build } = await import('vite')
    // As the `vite build` command runs: NODE_ENV=production picks the `production` condition (under
    // vitest it is 'test', which Vite would read as development).
    const nodeEnv = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    const out = (await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      mode: 'production',
      resolve: { preserveSymlinks: true },
      build: { write: false, minify: 'esbuild', modulePreload: false },
    }).finally(() => {
      process.env.NODE_ENV = nodeEnv
    })) as { output: { type: string; code?: string }[] }
    const code = out.output.map((o) => (o.type === 'chunk' ? (o.code ?? '') : '')).join('')
    expect(code).toContain('ajax-reauth')
    // validate.ts's messages (the production build keeps only the number checks that prevent a hang)
    expect(code).not.toContain('unknown option')
    expect(code).not.toContain('a same-origin path starting with')
    expect(code).not.toContain('invalid_union') // zod
  })
})
