/**
 * Recovery at the limit (issue #23 item 3), in a real browser: redirect:'manual' and the abort of what is
 * queued are the browser's semantics, so every engine runs this file.
 *
 * - An in-scope GET the app sends with the default `redirect: 'follow'` goes out with `redirect: 'manual'`:
 *   behind the nginx-style front (`302 /oauth2/start`) the lost session shows as an opaque redirect, and the
 *   probe proves it before any app request reaches `/oauth2/start` (no CSRF cookie, no provider hit).
 * - A URL that redirects as the app's own (same-origin 302 to another app path) gives the app the native
 *   redirected response, at the cost of one extra request, once per URL.
 * - At the first proven loss, the GETs still unanswered are aborted and replayed; a POST never is.
 */
import { describe, expect, it } from 'vitest'
import type { Page } from './driver/types.js'
import { setupE2E, signIn } from './harness.js'
import type { ProxyRecord } from './server/proxy.js'

const e = setupE2E({ nginx: true })

function nginxUrl(): string {
  const url = e.stack.nginxUrl
  if (!url) throw new Error('nginx is not running (missing /usr/sbin/nginx)')
  return url
}

/** The built SDK in the page, installed, with the events the tests read. */
async function install(page: Page): Promise<void> {
  await page.waitForFunction(() => 'AjaxReauth' in window)
  await page.evaluate(() => {
    const w = window as any
    w.__events = []
    w.__reauth = w.AjaxReauth.createReauth({}).install()
    for (const type of [
      'reauth:required',
      'reauth:start',
      'reauth:success',
      'reauth:failure',
      'request:replayed',
    ])
      w.__reauth.on(type, (x: any) => w.__events.push({ type, url: x?.url }))
  })
}

const eventTypes = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as any).__events.map((x: any) => x.type))

/** The sign-in starts an app request caused (its URI in `rd`), not the re-login's own. */
const appSignInStarts = (records: ProxyRecord[]): ProxyRecord[] =>
  records.filter((r) => r.path.startsWith('/oauth2/start') && /rd=%2Fapi%2F|rd=\/api\//.test(r.path))

/** The session probes (the SDK's `/oauth2/auth`, not nginx's auth_request subrequests for app URIs). */
const probes = (records: ProxyRecord[]): ProxyRecord[] =>
  records.filter(
    (r) => r.path.startsWith('/oauth2/auth') && (r.originalUri ?? '/oauth2/auth').startsWith('/oauth2/'),
  )

/** n GETs of /api/items at once (plus a POST at `postAt`), each outcome 'ok' or what went wrong. */
const burst = (page: Page, n: number, postAt = -1): Promise<string[]> =>
  page.evaluate(
    ({ n, postAt }) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          (i === postAt
            ? fetch(`/api/echo?i=${i}`, {
                method: 'POST',
                body: `order ${i}`,
                headers: { 'content-type': 'text/plain' },
              })
            : fetch(`/api/items?i=${i}`)
          ).then(
            async (r) => {
              const body = await r.json().catch(() => null)
              const ok =
                i === postAt
                  ? body?.method === 'POST' && body?.body === `order ${i}`
                  : Array.isArray(body?.items)
              return r.status === 200 && ok ? 'ok' : `${r.status} ${r.type}`
            },
            (err: Error) => `${err.name}: ${err.message}`,
          ),
        ),
      ),
    { n, postAt },
  )

describe('levers: see the sign-in redirect at once', () => {
  it('nginx front: the lost session is proven from the opaque redirect, no app request reaches /oauth2/start', async () => {
    await signIn(e.page, nginxUrl())
    await install(e.page)
    const before = { ...e.stack.proxy.behaviour.counters }
    const authorizeBefore = e.stack.idp.counters.authorizeRequests
    e.stack.proxy.expireSession()
    const from = e.stack.proxy.requests.length
    expect(await burst(e.page, 1)).toEqual(['ok'])
    const records = e.stack.proxy.requests.slice(from)
    expect(appSignInStarts(records)).toEqual([])
    // The re-login's own flow only: one CSRF cookie, one authorize request, one session.
    const after = e.stack.proxy.behaviour.counters
    expect(after.csrfCookiesMinted - before.csrfCookiesMinted).toBe(1)
    expect(e.stack.idp.counters.authorizeRequests - authorizeBefore).toBe(1)
    expect(after.sessionsCreated - before.sessionsCreated).toBe(1)
    const types = await eventTypes(e.page)
    expect(types.filter((t) => t === 'reauth:required')).toHaveLength(1)
    expect(types.filter((t) => t === 'request:replayed')).toHaveLength(1)
  })

  it("an app URL that redirects as the app's own: the native redirected response, one extra request, once", async () => {
    await signIn(e.page, e.stack.appUrl)
    await install(e.page)
    const from = e.stack.proxy.requests.length
    const seen = () => e.stack.upstream.requests.filter((q) => q.path.startsWith('/api/redirect')).length
    const get = () =>
      e.page.evaluate(async () => {
        const r = await fetch('/api/redirect?to=/api/items')
        const body = await r.json()
        return {
          status: r.status,
          redirected: r.redirected,
          url: r.url,
          type: r.type,
          items: body.items?.length,
        }
      })
    const first = await get()
    expect(first).toEqual({
      status: 200,
      redirected: true,
      url: `${e.stack.appUrl}/api/items`,
      type: 'basic',
      items: 2,
    })
    // The opaque redirect, then the request sent as the app asked.
    expect(seen()).toBe(2)
    expect(await get()).toEqual(first)
    // Remembered: the second call goes out as the app asked, at once.
    expect(seen()).toBe(3)
    expect(probes(e.stack.proxy.requests.slice(from))).toHaveLength(1)
    expect(await eventTypes(e.page)).toEqual([])
  })

  it("the app's own redirect mode is kept: manual gets its opaque redirect, not a followed answer", async () => {
    await signIn(e.page, e.stack.appUrl)
    await install(e.page)
    const r = await e.page.evaluate(async () => {
      const res = await fetch('/api/redirect?to=/api/items', { redirect: 'manual' })
      return { type: res.type, status: res.status }
    })
    expect(r).toEqual({ type: 'opaqueredirect', status: 0 })
    expect(e.stack.upstream.requests.filter((q) => q.path.startsWith('/api/redirect'))).toHaveLength(1)
  })
})

describe('levers: stop what is already queued', () => {
  it('nginx front, 120 fetches at expiry (provider 300 ms): all get their data, one re-login, no app CSRF cookie, ≤ 2 probes', async () => {
    await signIn(e.page, nginxUrl())
    await install(e.page)
    e.stack.setLatency({ idp: { ms: 300, jitter: 60 } })
    const created = e.stack.proxy.behaviour.counters.sessionsCreated
    e.stack.proxy.expireSession()
    const from = e.stack.proxy.requests.length
    const outcomes = await burst(e.page, 120)
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([])
    const records = e.stack.proxy.requests.slice(from)
    expect(e.stack.proxy.behaviour.counters.sessionsCreated - created).toBe(1)
    expect(appSignInStarts(records)).toEqual([])
    expect(probes(records).length).toBeLessThanOrEqual(2)
    expect((await eventTypes(e.page)).filter((t) => t === 'reauth:required')).toHaveLength(1)
  })

  it('a POST in the burst is never aborted or sent twice: the upstream sees it once, with its body', async () => {
    await signIn(e.page, nginxUrl())
    await install(e.page)
    const created = e.stack.proxy.behaviour.counters.sessionsCreated
    e.stack.proxy.expireSession()
    const outcomes = await burst(e.page, 30, 15)
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([])
    const posts = e.stack.upstream.requests.filter(
      (q) => q.method === 'POST' && q.path.startsWith('/api/echo'),
    )
    expect(posts).toHaveLength(1)
    expect(e.stack.proxy.behaviour.counters.sessionsCreated - created).toBe(1)
  })

  it("the app's AbortSignal during the hold: that request rejects with its abort, never reaches the upstream; the others get their data", async () => {
    await signIn(e.page, nginxUrl())
    await install(e.page)
    e.stack.setLatency({ idp: { ms: 300, jitter: 0 } })
    e.stack.proxy.expireSession()
    const out = await e.page.evaluate(async () => {
      const w = window as any
      const ctrl = new AbortController()
      // At the loss: the request is then stopped by the SDK or held for the replay.
      w.__reauth.on('reauth:required', () => ctrl.abort())
      const outcome = (p: Promise<Response>) =>
        p.then(
          async (r) => (r.status === 200 && Array.isArray((await r.json()).items) ? 'ok' : `${r.status}`),
          (err: Error) => err.name,
        )
      const others = Array.from({ length: 12 }, (_, i) => outcome(fetch(`/api/items?i=${i}`)))
      const mine = outcome(fetch('/api/items?mine=1', { signal: ctrl.signal }))
      return { mine: await mine, others: await Promise.all(others) }
    })
    expect(out.mine).toBe('AbortError')
    expect(out.others.filter((o) => o !== 'ok')).toEqual([])
    expect(e.stack.upstream.requests.filter((q) => q.path.includes('mine=1'))).toHaveLength(0)
  })
})
