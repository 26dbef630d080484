/**
 * Issue #10 in a real browser: a lost session is proven before it costs anything. With a valid
 * session, the upstream's own 401s, Post/Redirect/Get and redirects to CORS APIs behave as natively
 * (one POST, the upstream's body, no re-login); a path-relative request replayed after a client-side
 * route change goes where it went first; a streamed HTML answer is handed over at its first chunk.
 */
import { describe, expect, it } from 'vitest'
import { BROWSER, setupE2E, signIn } from './harness.js'
import { viaFetch, viaXhr } from './probes.js'
import {
  ADAPTERS,
  awaitCall,
  call,
  events,
  releaseRelogin,
  setupSdk,
  startCall,
  waitForEvent,
} from './sdk.js'

const e = setupE2E()

const posts = (path: string) =>
  e.stack.upstream.requests.filter((q) => q.method === 'POST' && q.path === path).length

describe.each(ADAPTERS)('sdk %s, valid session: the upstream answers for itself', (adapter) => {
  it('a POST the upstream refuses with its own 401 is sent once; the app gets its body; no re-login', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    const r = await call(e.page, adapter, '/api/login', {
      method: 'POST',
      body: '{"user":"a","password":"x"}',
    })
    expect(r).toMatchObject({ ok: false, status: 401 })
    if (r.ok) throw new Error('unreachable')
    expect(r.name).not.toBe('AuthRequiredError')
    if (adapter !== 'ky') expect(r.data).toEqual({ error: 'invalid_credentials' })
    expect(posts('/api/login')).toBe(1)
    expect(await events(e.page)).toEqual([])
  })

  it('a 401 with the proxy’s own bytes ({}) from the upstream: one POST, no re-login', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    for (let i = 0; i < 5; i++) {
      const r = await call(e.page, adapter, '/api/own-401', { method: 'POST', body: `{"n":${i}}` })
      expect(r).toMatchObject({ ok: false, status: 401 })
    }
    expect(posts('/api/own-401')).toBe(5)
    expect(await events(e.page)).toEqual([])
  })

  it('Post/Redirect/Get: POST → 303 → an HTML receipt places one order', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    const r = await call(e.page, adapter, '/api/orders', { method: 'POST', body: '{"item":1}' })
    expect(r).toMatchObject({ ok: true, status: 200 })
    expect(JSON.stringify(r.ok && r.data)).toContain('Order 1')
    expect(posts('/api/orders')).toBe(1)
    expect(await events(e.page)).toEqual([])
  })

  it('a same-origin request the upstream redirects to a CORS API works as natively: no preflight', async () => {
    await signIn(e.page, e.stack.appUrl)
    const url = `/api/redirect?to=${encodeURIComponent(`${e.stack.thirdPartyUrl}/simple/data`)}`
    // Native first: the redirect is followed, the third party's simple-CORS answer is readable.
    const native = adapter === 'xhr' ? await viaXhr(e.page, url) : await viaFetch(e.page, url)
    expect(native).toMatchObject({ status: 200 })
    e.stack.thirdParty.reset()
    await setupSdk(e.page, { adapter })
    const r = await call(e.page, adapter, url)
    expect(r).toMatchObject({ ok: true, status: 200, data: { thirdParty: true, path: '/simple/data' } })
    expect(e.stack.thirdParty.preflights()).toHaveLength(0)
    expect(e.stack.thirdParty.requests[0]?.headers['x-requested-with']).toBeUndefined()
    expect(await events(e.page)).toEqual([])
  })
})

describe.each(ADAPTERS)('sdk %s, valid session: markers without the proxy prove nothing', (adapter) => {
  it('the app’s own 200 page titled "Sign in" (a form to /oauth2/start), POSTed to: one POST, no re-login', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    const r = await call(e.page, adapter, '/account/sign-in', { method: 'POST', body: '{"step":1}' })
    expect(r).toMatchObject({ ok: true, status: 200 })
    expect(JSON.stringify(r.ok && r.data)).toContain('Sign in')
    expect(posts('/account/sign-in')).toBe(1)
    expect(await events(e.page)).toEqual([])
  })
})

const probes = () => e.stack.proxy.requests.filter((q) => q.path.startsWith('/oauth2/auth')).length

describe('sdk fetch: mode no-cors, an in-scope cross-origin request', () => {
  const noCors = (url: string) =>
    e.page.evaluate(
      (url) =>
        fetch(url, { method: 'POST', mode: 'no-cors', body: 'x' }).then(
          (r) => ({ type: r.type, status: r.status }),
          (err: Error) => ({ type: err.name, status: -1 }),
        ),
      url,
    )

  const sessions: [string, () => void][] = [
    ['valid', () => {}],
    ['lost', () => void e.stack.proxy.deleteSession()],
  ]
  it.each(sessions)(
    'session %s: the opaque answer is handed back as is; one POST, no probe, no re-login',
    async (_kind, lose) => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, {
        adapter: 'fetch',
        options: { scope: { origins: ['same-origin', e.stack.thirdPartyUrl] } },
      })
      lose()
      const before = probes()
      // Natively: an opaque answer, status 0 (the third party's CORS headers are not read in no-cors).
      const r = await noCors(`${e.stack.thirdPartyUrl}/opaque`)
      expect(r).toEqual({ type: 'opaque', status: 0 })
      expect(e.stack.thirdParty.requests.filter((q) => q.method === 'POST')).toHaveLength(1)
      expect(probes() - before).toBe(0)
      expect(await events(e.page)).toEqual([])
    },
  )
})

describe.each(ADAPTERS)(
  'sdk %s: a cross-origin in-scope request keeps a CORS-safelisted Accept',
  (adapter) => {
    // 115 bytes naming no other type than JSON (so the SDK extends it, #26.3): safelisted as the app sent
    // it; `, application/json` would take it past 128.
    const accept =
      'application/json;v=4;q=0.9, application/json;v=3;q=0.8, application/json;v=2;q=0.7, application/*;q=0.6, */*;q=0.1'
    it('a long app Accept is not extended past 128 bytes: no preflight, as natively', async () => {
      expect(accept.length).toBeLessThanOrEqual(128)
      expect(`${accept}, application/json`.length).toBeGreaterThan(128)
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, {
        adapter,
        options: {
          scope: { origins: ['same-origin', e.stack.thirdPartyUrl] },
          headers: { requestedWith: false },
        },
      })
      const r = await call(e.page, adapter, `${e.stack.thirdPartyUrl}/simple/data`, { headers: { accept } })
      expect(r).toMatchObject({ ok: true, status: 200, data: { thirdParty: true } })
      expect(e.stack.thirdParty.preflights()).toHaveLength(0)
      expect(e.stack.thirdParty.requests.map((q) => q.headers.accept)).toEqual([accept])
      // Same origin, no preflight to lose: the proxy still gets its exact `application/json` entry.
      await call(e.page, adapter, '/api/echo', { headers: { accept } })
      const echoed = e.stack.upstream.requests.filter((q) => q.path === '/api/echo')
      expect(echoed.map((q) => q.headers.accept)).toEqual([`${accept}, application/json`])
    })
  },
)

describe('sdk fetch, valid session: why oauth2-proxy gets no X-Requested-With', () => {
  it('with X-Requested-With turned on, the redirect to the same CORS API needs a preflight it refuses', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { headers: { requestedWith: 'XMLHttpRequest' } } })
    const url = `/api/redirect?to=${encodeURIComponent(`${e.stack.thirdPartyUrl}/simple/data`)}`
    const r = await call(e.page, 'fetch', url)
    expect(r).toMatchObject({ ok: false, name: 'TypeError' })
    expect(e.stack.thirdParty.preflights().length).toBeGreaterThan(0)
    // The probe said signed in: a network failure the proxy did not cause starts nothing.
    expect(await events(e.page)).toEqual([])
  })
})

describe.each(ADAPTERS)('sdk %s, lost session', (adapter) => {
  it('a path-relative POST replayed after a client-side route change goes to the URL it was sent to', async () => {
    await signIn(e.page, e.stack.appUrl)
    await e.page.evaluate(() => history.pushState(null, '', '/orders/'))
    await setupSdk(e.page, { adapter, relogin: 'held' })
    e.stack.proxy.deleteSession()
    const id = await startCall(e.page, adapter, 'api/echo', { method: 'POST', body: 'order-7' })
    await waitForEvent(e.page, 'reauth:start')
    await e.page.evaluate(() => history.pushState(null, '', '/customers/'))
    await releaseRelogin(e.page)
    const r = await awaitCall(e.page, id)
    expect(r).toMatchObject({
      ok: true,
      status: 200,
      data: { method: 'POST', url: '/orders/api/echo', body: 'order-7' },
    })
    expect(posts('/orders/api/echo')).toBe(1)
    expect(posts('/customers/api/echo')).toBe(0)
  })
})

describe('streamed HTML is handed over at its first chunk', () => {
  // fetch only: the XHR adapter holds an HTML answer's progress events until it ends (README, Limitations).
  it.each(['fetch'] as const)('%s: a never-ending HTML stream resolves and reads', async (adapter) => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    const r = await e.page.evaluate(async (adapter) => {
      const t0 = performance.now()
      if (adapter === 'fetch') {
        const ctrl = new AbortController()
        const res = await fetch('/api/html-stream?intervalMs=100', { signal: ctrl.signal })
        const reader = res.body!.getReader()
        const first = await reader.read()
        const ms = Math.round(performance.now() - t0)
        ctrl.abort()
        return { status: res.status, ms, text: new TextDecoder().decode(first.value) }
      }
      return new Promise<{ status: number; ms: number; text: string }>((resolve) => {
        const x = new XMLHttpRequest()
        x.open('GET', '/api/html-stream?intervalMs=100')
        x.onreadystatechange = () => {
          if (x.readyState === 3 && x.responseText.includes('<title>Live</title>')) {
            const out = { status: x.status, ms: Math.round(performance.now() - t0), text: x.responseText }
            x.abort()
            resolve(out)
          }
        }
        x.send()
      })
    }, adapter)
    expect(r.status).toBe(200)
    expect(r.text).toContain('<title>Live</title>')
    console.log(`[e2e] ${BROWSER} ${adapter}: never-ending HTML stream, first chunk after ${r.ms} ms`)
    expect(await events(e.page)).toEqual([])
  })
})
