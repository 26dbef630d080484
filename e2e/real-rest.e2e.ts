/**
 * Issue 21.3, the last three suites against the real oauth2-proxy binary (Chromium only): the redirect
 * re-login strategy, a client-matrix subset, and the raw CSRF cookie flood behind real nginx.
 */
import { describe, expect, it } from 'vitest'
import { clientsBundle } from './clients/bundle.js'
import type { Seen } from './clients/entry.js'
import type { ClientName } from './clients/names.js'
import type { Page } from './driver/types.js'
import type { RealE2E } from './harness.js'
import {
  CSRF_PER_REQUEST,
  cookieNames,
  dropSessionCookie,
  setupE2E,
  signIn,
  useDeployment,
} from './harness.js'
import { report } from './report.js'
import { call, countOf, events, setupSdk, startCall } from './sdk.js'
import type { RealDeployment, RealDeploymentName } from './server/real.js'
import { REAL_DEPLOYMENTS } from './server/real.js'

const e: RealE2E = setupE2E({ proxy: 'real' })
const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}

const mark = (): number => e.stack.real.requests.length
const starts = (from: number): number =>
  e.stack.real.requests.slice(from).filter((q) => q.path.startsWith('/oauth2/start')).length
const callbacks = (from: number): (number | null)[] =>
  e.stack.real.requests
    .slice(from)
    .filter((q) => q.path.startsWith('/oauth2/callback'))
    .map((q) => q.status)

describe('real oauth2-proxy: the redirect re-login strategy', () => {
  const cases: [string, RealDeploymentName][] = [
    ['defaults', 'defaults'],
    ['nginx → /oauth2/sign_in', 'nginx'],
  ]
  it.each(cases)(
    '%s: the page goes through /oauth2/start and the provider and back; then a fetch gets its data; one re-login',
    async (_name, d) => {
      await useDeployment(e, d)
      const base = e.stack.appUrl
      await signIn(e.page, base)
      await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'redirect' } })
      await dropSessionCookie(e.context)
      const from = mark()
      const authorize = e.stack.idp.counters.authorizeRequests
      const t0 = Date.now()
      // the call never settles in this document: the SDK navigates the page away
      await startCall(e.page, 'fetch', '/api/items')
      // a new document of the app (the SDK's recorder is gone) after the callback
      await e.page.waitForFunction(() => !('__sdk' in window) && 'axios' in window && 'ky' in window, null, {
        timeout: 10_000,
      })
      expect(e.page.url()).toBe(`${base}/app.html`)
      const data = await e.page.evaluate(() => fetch('/api/items').then((r) => r.json()))
      const ms = Date.now() - t0
      const counted = await e.page.evaluate(
        () => JSON.parse(sessionStorage.getItem('ajax-reauth:redirects') ?? '[]').length,
      )
      const provider = e.stack.idp.counters.authorizeRequests - authorize
      // the SDK again in the new document: the session is back, nothing to recover, no further redirect
      await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'redirect' } })
      const again = await call(e.page, 'fetch', '/api/items')
      const ev = await events(e.page)
      const seen = {
        starts: starts(from),
        provider,
        callbacks: callbacks(from),
        counted,
        ms,
        events: ev.map((x) => x.type),
      }
      report(`real-redirect-relogin ${d}`, seen)
      expect(data).toMatchObject({ items: ITEMS.items })
      expect(again).toMatchObject({ ok: true, status: 200 })
      expect(seen.starts).toBe(1)
      expect(seen.provider).toBe(1)
      expect(seen.callbacks).toEqual([302])
      expect(seen.counted).toBe(1)
      expect(countOf(ev, 'reauth:required')).toBe(0)
    },
  )

  it("nginx → /oauth2/sign_in, the session lost again and again: 3 full-page re-logins, then 'too-many-redirects', no 4th", async () => {
    await useDeployment(e, 'nginx')
    const base = e.stack.appUrl
    await signIn(e.page, base)
    const from = mark()
    for (let i = 0; i < 3; i++) {
      await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'redirect' } })
      await dropSessionCookie(e.context)
      await startCall(e.page, 'fetch', '/api/items')
      await e.page.waitForFunction(() => !('__sdk' in window) && 'axios' in window && 'ky' in window, null, {
        timeout: 10_000,
      })
    }
    await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'redirect' } })
    await dropSessionCookie(e.context)
    const last = await call(e.page, 'fetch', '/api/items')
    const ev = await events(e.page)
    const interaction = ev.filter((x) => x.type === 'reauth:interaction-required').map((x) => x.reason)
    report('real-redirect-bound nginx', {
      starts: starts(from),
      callbacks: callbacks(from),
      last,
      interaction,
    })
    expect(starts(from)).toBe(3)
    expect(callbacks(from)).toEqual([302, 302, 302])
    expect(last).toMatchObject({ ok: false, name: 'AuthRequiredError', status: 401 })
    expect(interaction).toEqual(['too-many-redirects'])
    expect(e.page.url()).toBe(`${base}/app.html`)
  })
})

const CLIENTS: ClientName[] = [
  'jquery3 $.ajax json',
  'superagent',
  'ofetch',
  'axios xhr + axiosReauth()',
  'tanstack query-core',
]
const FRONTS: [string, RealDeploymentName][] = [
  ['defaults', 'defaults'],
  ['nginx → /oauth2/start', 'nginxStart'],
]

async function openClients(base: string, hooksOnly: boolean): Promise<void> {
  await signIn(e.page, base)
  await e.page.addScriptTag({ content: await clientsBundle() })
  await e.page.evaluate((h) => (window as any).__matrix.install({}, !h), hooksOnly)
}

/** One call through a client; `ky 2 + kyReauth() hooks only` through entry.ts's ky2Hooks. */
function run(client: string, url: string): Promise<Seen> {
  if (client === 'ky 2 + kyReauth() hooks only')
    return e.page.evaluate((url) => (window as any).__matrix.ky2Hooks('GET', url), url)
  return e.page.evaluate(({ client, url }) => (window as any).__matrix.run(client, url), { client, url })
}

const matrixEvents = (): Promise<{ type: string }[]> =>
  e.page.evaluate(() => (window as any).__matrix.events())

describe.each(FRONTS)('real oauth2-proxy, client matrix subset, %s', (_front, d) => {
  const clients = [...CLIENTS, 'ky 2 + kyReauth() hooks only']
  it.each(clients)('%s: a lost session recovered silently, one re-login', async (client) => {
    await useDeployment(e, d)
    await openClients(e.stack.appUrl, client.endsWith('hooks only'))
    await dropSessionCookie(e.context)
    const from = mark()
    const seen = await run(client, '/api/items')
    const ev = await matrixEvents()
    report(`real-clients ${client} ${d}`, { ok: seen.ok, status: seen.status, callbacks: callbacks(from) })
    expect(seen).toMatchObject({ ok: true, data: { items: ITEMS.items } })
    expect(callbacks(from)).toEqual([302])
    expect(countOf(ev as never, 'reauth:success')).toBe(1)
  })

  it.each(clients)("%s: provider session ended too: the client's own 401 idiom", async (client) => {
    await useDeployment(e, d)
    await openClients(e.stack.appUrl, client.endsWith('hooks only'))
    await dropSessionCookie(e.context)
    e.stack.idp.endSessions()
    const from = mark()
    const seen = await run(client, '/api/items')
    const ev = await matrixEvents()
    report(`real-clients-cannot ${client} ${d}`, { seen, callbacks: callbacks(from) })
    expect(seen.ok).toBe(false)
    expect(seen.status).toBe(401)
    expect(seen.reason).not.toBeNull()
    expect(countOf(ev as never, 'reauth:start')).toBe(1)
    expect(callbacks(from)).toEqual([])
  })
})

describe('real oauth2-proxy: the CSRF cookie flood behind real nginx → /oauth2/start', () => {
  const TABS = 3
  const PER_TAB = 100
  const FLOOD_FLAGS = { ...REAL_DEPLOYMENTS.csrfPerRequest.flags, 'skip-provider-button': true }
  const FLOOD: RealDeployment = {
    ...REAL_DEPLOYMENTS.nginxStart,
    flags: FLOOD_FLAGS,
  }
  const fire = (p: Page, tab: number): Promise<(number | string)[]> =>
    p.evaluate(
      ({ n, tab }) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            fetch(`/api/items?tab=${tab}&n=${i}`).then(
              (r) => r.status,
              (err: Error) => err.name,
            ),
          ),
        ),
      { n: PER_TAB, tab },
    )

  /** Sign in, open the tabs, drop the session cookie, and fire every tab's fetches at once. */
  async function flood() {
    await useDeployment(e, FLOOD)
    const base = e.stack.appUrl
    await signIn(e.page, base)
    const pages = [e.page]
    for (let i = 1; i < TABS; i++) {
      const p = await e.context.newPage()
      await p.goto(`${base}/app.html`)
      pages.push(p)
    }
    await dropSessionCookie(e.context)
    const from = mark()
    const t0 = Date.now()
    const outcomes = (await Promise.all(pages.map((p, tab) => fire(p, tab)))).flat()
    const ms = Date.now() - t0
    const tally: Record<string, number> = {}
    for (const o of outcomes) tally[String(o)] = (tally[String(o)] ?? 0) + 1
    return {
      outcomes,
      tally,
      ms,
      csrfMinted: e.stack.real.requests.slice(from).reduce((n, r) => n + r.csrfMinted, 0),
      csrfStored: (await cookieNames(e.context, CSRF_PER_REQUEST)).length,
    }
  }

  it(`raw (no SDK): ${TABS} tabs × ${PER_TAB} fetches at the loss pile up CSRF cookies until nginx's 400`, async () => {
    const f = await flood()
    const next = await e.page.evaluate(() =>
      fetch('/api/items').then(async (r) => ({ status: r.status, body: await r.text() })),
    )
    report('real-flood-raw nginx-start', {
      outcomes: f.tally,
      ms: f.ms,
      csrfMinted: f.csrfMinted,
      csrfStored: f.csrfStored,
      next: next.status,
    })
    expect(f.outcomes.filter((o) => o === 200)).toHaveLength(0)
    expect(f.csrfStored).toBeGreaterThan(20)
    expect(next.status).toBe(400)
    expect(next.body).toContain('Request Header Or Cookie Too Large')
  })

  it("then with the SDK: nginx's 400 is 'header-overflow', no re-login (the circuit trips), every call settles", async () => {
    const f = await flood()
    await setupSdk(e.page, { adapter: 'fetch' })
    const from = mark()
    const calls = [await call(e.page, 'fetch', '/api/items'), await call(e.page, 'fetch', '/api/items')]
    const ev = await events(e.page)
    const seen = {
      flood: f.tally,
      csrfMinted: f.csrfMinted,
      csrfStored: f.csrfStored,
      calls: calls.map((c) => (c.ok ? c.status : `${c.status}:${c.reason}`)),
      relogins: countOf(ev, 'reauth:start'),
      starts: starts(from),
      events: ev.map((x) => (x.reason ? `${x.type}(${x.reason})` : x.type)),
    }
    report('real-flood-sdk nginx-start', seen)
    // each call still reaches nginx and gets its 400 (header-overflow, in one episode): none waits for a re-login
    expect(seen.calls).toEqual(['401:header-overflow', '401:header-overflow'])
    expect(countOf(ev, 'reauth:required')).toBe(1)
    expect(seen.relogins).toBe(0)
    expect(seen.starts).toBe(0)
    expect(countOf(ev, 'circuit:open')).toBe(1)
  })

  // Behind nginx → /oauth2/start every lost request is a 302 that mints a CSRF cookie before the SDK sees
  // an answer (above). Where the SDK's `Accept: application/json` reaches the binary (the same flags, no
  // nginx), oauth2-proxy answers 401 without a cookie: the flood never starts.
  it(`with the SDK, the same flags without nginx: ${TABS} × ${PER_TAB} at the loss → one re-login, 0 lost, ≤ 1 CSRF cookie`, async () => {
    await useDeployment(e, { flags: FLOOD_FLAGS })
    const base = e.stack.appUrl
    await signIn(e.page, base)
    const pages = [e.page]
    for (let i = 1; i < TABS; i++) {
      const p = await e.context.newPage()
      await p.goto(`${base}/app.html`)
      pages.push(p)
    }
    for (const p of pages) await setupSdk(p, { adapter: 'fetch' })
    await dropSessionCookie(e.context)
    const from = mark()
    const t0 = Date.now()
    const outcomes = (await Promise.all(pages.map((p, tab) => fire(p, tab)))).flat()
    const ms = Date.now() - t0
    const perTab = await Promise.all(pages.map((p) => events(p)))
    const tally: Record<string, number> = {}
    for (const o of outcomes) tally[String(o)] = (tally[String(o)] ?? 0) + 1
    const seen = {
      outcomes: tally,
      ms,
      relogins: callbacks(from),
      starts: perTab.map((ev) => countOf(ev, 'reauth:start')),
      leaders: perTab.filter((ev) => ev.some((x) => x.type === 'reauth:success' && x.leader === true)).length,
      csrfMinted: e.stack.real.requests.slice(from).reduce((n, r) => n + r.csrfMinted, 0),
      csrfStored: (await cookieNames(e.context, CSRF_PER_REQUEST)).length,
    }
    report('real-flood-sdk direct skip-provider-button + csrf per request', seen)
    expect(seen.outcomes).toEqual({ 200: TABS * PER_TAB })
    expect(seen.relogins).toEqual([302])
    // every tab hears the one flight (a start each); one tab led it
    expect(seen.starts).toEqual(Array(TABS).fill(1))
    expect(seen.leaders).toBe(1)
    expect(seen.csrfMinted).toBeLessThanOrEqual(1)
  })
})
