/**
 * The README's recipes for TanStack Query and SWR, run as written (each code block is cut out of
 * README.md and bundled with the real library): the provider session has ended too, so the silent
 * re-login cannot save the first query; the recipe does not retry the SDK's 401, and once the user
 * has signed in from a click, the query that was left in error gets its data without the app asking.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { browserBundle } from './clients/bundle.js'
import type { Page } from './harness.js'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import { call, events, ITEMS, setupSdk, waitForEvent } from './sdk.js'
import { REPO_ROOT } from './server/upstream.js'

const e = setupE2E()

/** The code block after `<!-- recipe: <name> … -->` in README.md. */
const readmeRecipe = (name: string): string => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
  const m = new RegExp(`<!-- recipe: ${name}\\b[^>]*-->\\s*\`\`\`tsx?\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (!m?.[1]) throw new Error(`README.md has no recipe '${name}'`)
  return m[1]
}

/**
 * The recipe as the module `recipe`; its imports as in an app: `ajax-reauth` is the SDK in the page
 * (`window.AjaxReauth`), `./reauth` the instance `setupSdk` made, TanStack's React package its core.
 */
const recipePlugin = (code: string): Plugin => ({
  name: 'readme-recipe',
  setup(b) {
    b.onResolve({ filter: /^recipe$/ }, () => ({ path: 'recipe', namespace: 'recipe' }))
    b.onResolve({ filter: /^(ajax-reauth|\.\/reauth)$/ }, (a) => ({ path: a.path, namespace: 'page' }))
    b.onResolve({ filter: /^@tanstack\/react-query$/ }, () => ({
      path: join(REPO_ROOT, 'node_modules/@tanstack/query-core/build/modern/index.js'),
    }))
    b.onLoad({ filter: /.*/, namespace: 'recipe' }, () => ({
      contents: code,
      loader: 'ts',
      resolveDir: REPO_ROOT,
    }))
    b.onLoad({ filter: /.*/, namespace: 'page' }, (a) => ({
      contents:
        a.path === 'ajax-reauth'
          ? 'module.exports = window.AjaxReauth'
          : 'export const reauth = window.__sdk.reauth',
      loader: 'js',
    }))
  },
})

const bundles = new Map<string, Promise<string>>()
const bundle = (name: string, entry: string): Promise<string> => {
  let b = bundles.get(name)
  if (!b) {
    b = import('esbuild').then(async ({ build }) => {
      const out = await build({
        entryPoints: [join(REPO_ROOT, entry)],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2020',
        jsx: 'automatic',
        write: false,
        logLevel: 'silent',
        define: { 'process.env.NODE_ENV': '"production"' },
        plugins: [recipePlugin(readmeRecipe(name))],
      })
      return out.outputFiles[0]?.text ?? ''
    })
    bundles.set(name, b)
  }
  return b
}

interface QueryState {
  status: string
  data: unknown
  attempts: number
}
const queryState = (page: Page): Promise<QueryState> =>
  page.evaluate(() => ({ ...(window as any).__queryState }))
const until = async (page: Page, status: string): Promise<QueryState> => {
  await page.waitForFunction((s) => (window as any).__queryState?.status === s, status, { timeout: 10_000 })
  return queryState(page)
}

const LIBRARIES = [
  { name: 'tanstack-query', entry: 'e2e/recipes/tanstack.ts' },
  { name: 'swr', entry: 'e2e/recipes/swr.tsx' },
]

describe.each(LIBRARIES)('README recipe: $name', ({ name, entry }) => {
  it('healthy session: the query gets its data at once', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch' })
    await e.page.addScriptTag({ content: await bundle(name, entry) })
    await e.page.evaluate(() => (window as any).__query('/api/items'))
    expect(await until(e.page, 'success')).toMatchObject({ data: ITEMS, attempts: 1 })
  })

  it('the user must sign in: one attempt, no retry; after the sign-in the query in error gets its data', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch' })
    await e.page.addScriptTag({ content: await bundle(name, entry) })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const starts = e.stack.proxy.behaviour.counters.signInStarts
    await e.page.evaluate(() => (window as any).__query('/api/items'))
    const failed = await until(e.page, 'error')
    // the SDK's 401 is not retried (the libraries' default: 3 retries more)
    expect(failed.attempts).toBe(1)
    const ev = await events(e.page)
    expect(ev.filter((x) => x.type === 'reauth:interaction-required')).toHaveLength(1)
    // a human clicks "Sign in again": popup → provider form → back
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    await popup.click('#login')
    // nothing but the recipe's reauth:success listener asks the query again
    const done = await until(e.page, 'success')
    expect(done).toMatchObject({ data: ITEMS, attempts: 2 })
    expect(e.stack.proxy.behaviour.counters.signInStarts - starts).toBe(2) // the iframe's and the popup's
    report(`recipe-${name}`, { attemptsBeforeSignIn: failed.attempts, attemptsInAll: done.attempts })
  })
})

/** An app without the recipe: TanStack Query's default retries (e2e/recipes/tanstack-retries.ts). */
const retriesBundle = (): Promise<string> => browserBundle('e2e/recipes/tanstack-retries.ts')

interface Settled {
  url: string
  status: string
  attempts: number
  httpStatus: number | null
}
const runQueries = (page: Page, urls: string[]): Promise<Settled[]> =>
  page.evaluate((urls) => (window as any).__retries(urls), urls)

// Issue 24 item 2. Behind nginx → /oauth2/start every attempt that reaches the proxy mints a CSRF
// cookie and hits the provider (a CORS failure): while the user must sign in, none may go out.
describe('TanStack Query without the recipe, while the user must sign in (nginx → /oauth2/start)', () => {
  it("3 queries × 4 attempts settle with the SDK's 401 and send nothing; after the sign-in they get their data", async () => {
    const base = e.stack.nginxUrl
    if (!base) throw new Error('nginx is not running (missing /usr/sbin/nginx)')
    await signIn(e.page, base)
    await setupSdk(e.page, { adapter: 'fetch' })
    await e.page.addScriptTag({ content: await retriesBundle() })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    // The first loss: the silent re-login meets the provider's login form.
    const first = await call(e.page, 'fetch', '/api/items')
    expect(first).toMatchObject({ ok: false, name: 'AuthRequiredError', status: 401 })
    await waitForEvent(e.page, 'reauth:interaction-required')
    const csrf = e.stack.proxy.behaviour.counters.csrfCookiesMinted
    const authorize = e.stack.idp.counters.authorizeRequests
    const upstream = e.stack.upstream.requests.length
    const urls = [1, 2, 3].map((q) => `/api/items?q=${q}`)
    const settled = await runQueries(e.page, urls)
    const seen = {
      attempts: settled.map((s) => s.attempts),
      csrfCookiesMinted: e.stack.proxy.behaviour.counters.csrfCookiesMinted - csrf,
      providerHits: e.stack.idp.counters.authorizeRequests - authorize,
    }
    report('sign-in-required-tanstack-retries', seen)
    expect(settled).toEqual(urls.map((url) => ({ url, status: 'error', attempts: 4, httpStatus: 401 })))
    expect(seen.csrfCookiesMinted).toBe(0)
    expect(seen.providerHits).toBe(0)
    expect(e.stack.upstream.requests.length - upstream).toBe(0)
    const ev = await events(e.page)
    expect(ev.filter((x) => x.type === 'reauth:required')).toHaveLength(1)
    expect(ev.filter((x) => x.type === 'reauth:interaction-required')).toHaveLength(1)

    // A human clicks "Sign in again": popup → provider form → back. The queries go out again.
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    await popup.click('#login')
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    const again = await runQueries(e.page, urls)
    expect(again).toEqual(urls.map((url) => ({ url, status: 'success', attempts: 1, httpStatus: null })))
  })
})
