import ky, { HTTPError } from 'ky'
import ky2, { HTTPError as HTTPError2 } from 'ky2'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { authRequiredReason } from '../src'
import { kyReauth } from '../src/ky'
import { html, lostSessionAnswer, rejectionOf } from './helpers/answers'
import { OAUTH2_SIGN_IN_PAGE } from './helpers/fixtures'
import { ORIGIN, stubPage } from './helpers/page'
import { createReloginHarness } from './helpers/relogin'

const APP = ORIGIN
let seen: Headers[] = []

const server = setupServer(
  http.get(`${APP}/oauth2/auth`, () => new HttpResponse(null, { status: h.signedIn ? 202 : 401 })),
  http.get(`${APP}/oauth2/sign_in`, () => html(OAUTH2_SIGN_IN_PAGE, 200)),
  http.all(`${APP}/api/:case`, ({ request, params }) => {
    seen.push(request.headers)
    // A signed-in user's 403 (an upstream's, or a proxy that keeps the session): the probe says signed in.
    if (h.signedIn && params.case !== 'forbidden') return HttpResponse.json({ ok: true, case: params.case })
    return lostSessionAnswer(String(params.case)) ?? HttpResponse.json({ ok: true, case: params.case })
  }),
  http.all('http://other.test/*', ({ request }) => {
    seen.push(request.headers)
    return HttpResponse.json({}, { status: 401 })
  }),
)

const h = createReloginHarness()
const { make, makeHeld } = h

const fail = rejectionOf

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
beforeEach(() => {
  stubPage()
  // A page's window is an EventTarget (the cross-tab code listens for 'storage' on it).
  const target = new EventTarget()
  vi.stubGlobal('addEventListener', target.addEventListener.bind(target))
  vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target))
})
afterEach(() => {
  h.reauth?.uninstall()
  vi.unstubAllGlobals()
  server.resetHandlers()
  h.reset()
  seen = []
})
afterAll(() => server.close())

// The same assertions over ky 1 (positional hook arguments) and ky 2 (state objects).
describe.each([
  ['ky 1', ky, HTTPError],
  ['ky 2', ky2 as unknown as typeof ky, HTTPError2 as unknown as typeof HTTPError],
])('%s', (_name, kyLib, HTTPErrorClass) => {
  const client = (retry = 0) => kyLib.create({ hooks: kyReauth(h.reauth), retry })
  const api = (retry = 0) => ({
    get: (path: string, options?: Parameters<typeof ky.get>[1]) =>
      client(retry).get(`${APP}/api/${path}`, options),
    post: (path: string, options?: Parameters<typeof ky.post>[1]) =>
      client(retry).post(`${APP}/api/${path}`, options),
  })

  it('holds a new in-scope request while a re-login runs, then sends it', async () => {
    const held = makeHeld()
    const first = api().get('unauthorized').json()
    await vi.waitFor(() => expect(h.relogins).toBe(1))
    const sent = seen.length
    const second = api().get('held').json()
    await new Promise((r) => setTimeout(r, 30))
    expect(seen.length).toBe(sent)
    held.finish()
    expect(await second).toMatchObject({ ok: true })
    expect(await first).toMatchObject({ ok: true })
    expect(h.relogins).toBe(1)
  })

  it("a request held at the gate whose re-login fails rejects with ky's own HTTPError 401", async () => {
    makeHeld()
    const first = fail(api().get('unauthorized'))
    await vi.waitFor(() => expect(h.relogins).toBe(1))
    const sent = seen.length
    const second = fail(api(2).get('held'))
    await new Promise((r) => setTimeout(r, 30))
    h.finish(false)
    const [a, b] = await Promise.all([first, second])
    for (const error of [a, b]) {
      expect(error).toBeInstanceOf(HTTPErrorClass)
      expect(error.response.status).toBe(401)
      expect(authRequiredReason(error)).toBe('unauthorized')
    }
    // the held request never went out, and ky did not retry it
    expect(seen.length).toBe(sent)
    expect(h.relogins).toBe(1)
  })

  it('adds the headers to in-scope requests and keeps the app’s own', async () => {
    make()
    await api().get('ok')
    await api().get('ok', { headers: { accept: 'text/html', 'x-requested-with': 'Fetch' } })
    await api().get('ok').json()
    await api().get('ok', { headers: { accept: '*/*' } })
    expect(seen.map((h) => [h.get('accept'), h.get('x-requested-with')])).toEqual([
      // oauth2-proxy reads Accept alone: no X-Requested-With by default.
      ['application/json', null],
      ['text/html', 'Fetch'],
      ['application/json', null],
      // One Accept policy for every adapter: a `*/*` is extended with an exact entry.
      ['*/*, application/json', null],
    ])
  })

  it('leaves out-of-scope requests alone: a plain HTTPError, no headers, no report', async () => {
    make()
    const error = await fail(kyLib.get('http://other.test/x', { hooks: kyReauth(h.reauth), retry: 0 }))
    expect(error).toBeInstanceOf(HTTPErrorClass)
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(h.events).toEqual([])
  })

  it.each(['unauthorized', 'login-page', 'sign-in-redirect', 'header-overflow'])(
    "%s rejects with ky's own HTTPError 401 that carries the marker",
    async (reason) => {
      make()
      const error = await fail(api().get(reason))
      expect(error).toBeInstanceOf(HTTPErrorClass)
      expect(error.response.status).toBe(401)
      expect(error.response.headers.get('x-ajax-reauth')).toBe(reason)
      expect(authRequiredReason(error)).toBe(reason)
      // ky 2 reads the body into `data`; ky 1 leaves it to the app.
      const body = 'data' in error && error.data !== undefined ? error.data : await error.response.json()
      expect(body).toEqual({ error: 'auth_required', reason })
      expect(h.events.map((e) => e.reason)).toEqual([reason])
    },
  )

  it('non-auth failures stay HTTPErrors', async () => {
    make()
    h.signedIn = true
    const forbidden = await fail(api().get('forbidden'))
    h.signedIn = false
    const boom = await fail(api().get('server-error'))
    expect(forbidden).toBeInstanceOf(HTTPErrorClass)
    expect(boom).toBeInstanceOf(HTTPErrorClass)
    expect(h.events).toEqual([])
  })

  it('replays after a re-login and resolves with the replayed response', async () => {
    make('ok')
    const data = await api()
      .post('unauthorized', { json: { n: 1 } })
      .json()
    expect(data).toEqual({ ok: true, case: 'unauthorized' })
    expect(h.relogins).toBe(1)
    expect(seen).toHaveLength(2)
    expect(h.events).toHaveLength(1)
  })

  it('a lost session is not retried by ky into a second report (default retry, GET)', async () => {
    make()
    const error = await fail(api(2).get('unauthorized'))
    expect(authRequiredReason(error)).toBe('unauthorized')
    expect(seen).toHaveLength(1)
    expect(h.events).toHaveLength(1)
    expect(h.relogins).toBe(1)
  })

  it('with the global fetch also patched, one lost session is reported once', async () => {
    make().install()
    const error = await fail(api(2).get('unauthorized'))
    expect(error).toBeInstanceOf(HTTPErrorClass)
    expect(authRequiredReason(error)).toBe('unauthorized')
    expect(seen).toHaveLength(1)
    expect(h.events).toHaveLength(1)
    expect(h.relogins).toBe(1)
    h.signedIn = true
    expect(await api().get('ok').json()).toEqual({ ok: true, case: 'ok' })
  })

  it('install() alone: a lost session (also a network failure) is one HTTPError 401, no ky retry', async () => {
    make().install()
    const plain = (path: string) => kyLib.get(`${APP}/api/${path}`, { retry: { limit: 2, backoffLimit: 1 } })
    for (const path of ['unauthorized', 'network-error']) {
      const error = await fail(plain(path))
      expect(error).toBeInstanceOf(HTTPErrorClass)
      expect(error.response.status).toBe(401)
      expect(authRequiredReason(error)).toBe(path)
    }
    // one request each, ky retried neither; the second loss comes right after the failed re-login, so it
    // fails fast in the same episode: one flight, one reauth:required
    expect(seen).toHaveLength(2)
    expect(h.relogins).toBe(1)
    expect(h.events.map((e) => e.reason)).toEqual(['unauthorized'])
  })

  it('with fetch: reauth.fetch (the ky 1 setup), one flight and the HTTPError 401', async () => {
    make()
    const error = await fail(
      kyLib.get(`${APP}/api/network-error`, { hooks: kyReauth(h.reauth), fetch: h.reauth.fetch, retry: 2 }),
    )
    expect(error).toBeInstanceOf(HTTPErrorClass)
    expect(authRequiredReason(error)).toBe('network-error')
    expect(seen).toHaveLength(1)
    expect(h.relogins).toBe(1)
    expect(h.events).toHaveLength(1)
  })
})

// ky 2.1 wraps a fetch TypeError in its own NetworkError and retries it (GET) before `beforeError`.
describe('ky 2 with kyReauth hooks only (no install, no fetch option)', () => {
  const api = (retry?: number) =>
    ky2.create({ hooks: kyReauth(h.reauth), ...(retry === undefined ? {} : { retry }) })

  it('a lost session seen as a network failure (GET, default retry) is one flight, then the data', async () => {
    make('ok')
    expect(await api().get(`${APP}/api/network-error`).json()).toEqual({ ok: true, case: 'network-error' })
    // the failed request and its replay: ky retried nothing
    expect(seen).toHaveLength(2)
    expect(h.relogins).toBe(1)
    expect(h.events.map((e) => e.reason)).toEqual(['network-error'])
  })

  it('a POST lost as a network failure is replayed once after the re-login', async () => {
    make('ok')
    const data = await api()
      .post(`${APP}/api/network-error`, { json: { n: 1 } })
      .json()
    expect(data).toEqual({ ok: true, case: 'network-error' })
    expect(seen).toHaveLength(2)
    expect(h.relogins).toBe(1)
  })

  it("re-login failing: ky's own HTTPError 401, no ky retry, one flight", async () => {
    make('fail')
    const error = await fail(api(2).get(`${APP}/api/network-error`))
    expect(error).toBeInstanceOf(HTTPError2)
    expect(error.response.status).toBe(401)
    expect(authRequiredReason(error)).toBe('network-error')
    expect(seen).toHaveLength(1)
    expect(h.relogins).toBe(1)
    expect(h.events).toHaveLength(1)
  })

  it('a plain network failure (session fine) stays a NetworkError, retried by ky as usual', async () => {
    make()
    h.signedIn = true
    server.use(http.get(`${APP}/api/down`, () => HttpResponse.error()))
    const error = await fail(api({ limit: 1, backoffLimit: 1 } as unknown as number).get(`${APP}/api/down`))
    expect(error.name).toBe('NetworkError')
    expect(h.relogins).toBe(0)
    expect(h.events).toEqual([])
  })
})
