// @vitest-environment happy-dom
// @vitest-environment-options {"url": "http://app.test/app/"}
import { ClientRequestInterceptor } from '@mswjs/interceptors/ClientRequest'
import axios, { AxiosError, type AxiosInstance } from 'axios'
import { HttpResponse, http } from 'msw'
import { SetupServerApi } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { AuthRequiredError, authRequiredReason, isAuthRequiredError, pomerium } from '../src'
import { axiosReauth } from '../src/axios'
import { engineOf } from '../src/internal'
import { html, lostSessionAnswer, rejectionOf } from './helpers/answers'
import { OAUTH2_SIGN_IN_PAGE } from './helpers/fixtures'
import { createReloginHarness } from './helpers/relogin'

// axios in a browser-like environment sends through (happy-dom's, unpatched) XMLHttpRequest.
const APP = 'http://app.test'
const CORS = { 'access-control-allow-origin': APP }
let seen: Headers[] = []

const server = new SetupServerApi(
  [
    http.get(`${APP}/oauth2/sign_in`, () => html(OAUTH2_SIGN_IN_PAGE, 200)),
    http.all(`${APP}/api/:case`, ({ request, params }) => {
      seen.push(request.headers)
      // A signed-in user's 403 (an upstream's, or a proxy that keeps the session): the probe says signed in.
      if (h.signedIn && params.case !== 'forbidden') return HttpResponse.json({ ok: true, case: params.case })
      return lostSessionAnswer(String(params.case)) ?? HttpResponse.json({ ok: true, case: params.case })
    }),
    http.all('http://other.test/*', ({ request }) => {
      seen.push(request.headers)
      return HttpResponse.json({}, { status: 401, headers: CORS })
    }),
  ],
  [new ClientRequestInterceptor()],
)

const h = createReloginHarness()
const { make, makeHeld } = h
let ejects: (() => void)[] = []
const guard = (instance: AxiosInstance) => {
  const eject = axiosReauth(instance, h.reauth)
  ejects.push(eject)
  return eject
}

const fail = rejectionOf

// The session probe is a fetch: stubbed, 202 signed in / 401 not (see xhr.test.ts for why).
beforeEach(() => {
  vi.stubGlobal('fetch', async () => new Response(null, { status: h.signedIn ? 202 : 401 }))
})
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  for (const eject of ejects) eject()
  ejects = []
  vi.unstubAllGlobals()
  server.resetHandlers()
  h.reset()
  seen = []
})
afterAll(() => server.close())

describe('headers', () => {
  it('keeps axios’s default Accept (it has an exact application/json entry); no X-Requested-With for oauth2-proxy', async () => {
    make()
    const instance = axios.create()
    guard(instance)
    await instance.get('/api/ok')
    expect(seen[0]!.get('accept')).toBe('application/json, text/plain, */*')
    expect(seen[0]!.get('x-requested-with')).toBeNull()
  })

  it('adds X-Requested-With for a proxy that reads it (Pomerium)', async () => {
    make('fail', { proxy: pomerium() })
    const instance = axios.create()
    guard(instance)
    await instance.get('/api/ok')
    expect(seen[0]!.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('extends an Accept that admits JSON, keeps one that does not, sets a missing one', async () => {
    make()
    const instance = axios.create()
    guard(instance)
    await instance.get('/api/ok', { headers: { Accept: '*/*' } })
    await instance.get('/api/ok', { headers: { Accept: 'text/html' } })
    await instance.get('/api/ok', { headers: { Accept: null } })
    expect(seen.map((h) => h.get('accept'))).toEqual([
      '*/*, application/json',
      'text/html',
      'application/json',
    ])
  })

  it('leaves out-of-scope requests alone (no headers, no detection)', async () => {
    make()
    const instance = axios.create()
    guard(instance)
    const error = await fail(instance.get('http://other.test/x'))
    expect(error).toBeInstanceOf(AxiosError)
    expect(isAuthRequiredError(error)).toBe(false)
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(h.events).toEqual([])
  })
})

describe('detection', () => {
  it.each([
    ['unauthorized', '/api/unauthorized'],
    ['login-page', '/api/login-page'],
    ['login-page', '/api/login-page-200'],
    ['sign-in-redirect', '/api/sign-in-redirect'],
    ['header-overflow', '/api/header-overflow'],
    ['network-error', '/api/network-error'],
  ])('%s (%s) rejects with an AuthRequiredError shaped like an AxiosError', async (reason, path) => {
    make()
    guard(axios)
    const error = await fail(axios.get(path, { headers: { 'X-Trace': '1' } }))
    expect(error).toBeInstanceOf(AuthRequiredError)
    expect(error.reason).toBe(reason)
    expect(error.status).toBe(401)
    expect(axios.isAxiosError(error)).toBe(true)
    expect(error.code).toBe('ERR_BAD_REQUEST')
    expect(error.config.url).toBe(path)
    expect(error.config.headers['X-Trace']).toBe('1')
    expect(error.request).toBeInstanceOf(XMLHttpRequest)
    expect(error.response).toMatchObject({
      status: 401,
      statusText: 'Unauthorized',
      data: { error: 'auth_required', reason },
      headers: { 'content-type': 'application/json' },
    })
    expect(error.response.config).toBe(error.config)
    expect(error.toJSON()).toMatchObject({ status: 401, reason, code: 'ERR_BAD_REQUEST' })
    expect(h.events.map((e) => e.reason)).toEqual([reason])
  })

  it('passes non-auth failures through untouched', async () => {
    make()
    guard(axios)
    h.signedIn = true
    const forbidden = await fail(axios.get('/api/forbidden'))
    h.signedIn = false
    const boom = await fail(axios.get('/api/server-error'))
    h.signedIn = true
    server.use(http.get(`${APP}/api/down`, () => HttpResponse.error()))
    const down = await fail(axios.get('/api/down'))
    expect([forbidden, boom, down].map((e) => e instanceof AxiosError && !isAuthRequiredError(e))).toEqual([
      true,
      true,
      true,
    ])
    expect(forbidden.response.status).toBe(403)
    expect(down.code).toBe('ERR_NETWORK')
    expect(h.events).toEqual([])
  })
})

describe('replay', () => {
  it('replays through the same instance with the original config after a re-login', async () => {
    make('ok')
    const instance = axios.create({ baseURL: '/api' })
    guard(instance)
    const res = await instance.post('unauthorized', { n: 1 }, { headers: { 'X-Trace': '7' } })
    expect(res.data).toEqual({ ok: true, case: 'unauthorized' })
    expect(h.relogins).toBe(1)
    expect(seen).toHaveLength(2)
    expect(seen[1]!.get('x-trace')).toBe('7')
    expect(h.events).toHaveLength(1)
  })

  it('a replay that gets a 401 again starts no second re-login; the app gets that 401', async () => {
    make('ok')
    server.use(http.all(`${APP}/api/always`, () => HttpResponse.json({}, { status: 401 })))
    const instance = axios.create()
    guard(instance)
    const error = await fail(instance.get('/api/always'))
    // Signed in again, the probe says so: the replay's 401 is the upstream's own, axios's own error.
    expect(isAuthRequiredError(error)).toBe(false)
    expect(error.response.status).toBe(401)
    expect(h.relogins).toBe(1)
  })
})

describe('registration order and eject', () => {
  it('still turns the loss into AuthRequiredError when registered after the app’s own interceptors', async () => {
    make()
    const instance = axios.create()
    const appSaw: unknown[] = []
    instance.interceptors.response.use(undefined, (e) => {
      appSaw.push(e.response?.status, isAuthRequiredError(e))
      return Promise.reject(e)
    })
    instance.interceptors.request.use((config) => {
      config.headers.set('Accept', 'application/xml')
      return config
    })
    guard(instance)
    const error = await fail(instance.get('/api/login-page'))
    expect(isAuthRequiredError(error)).toBe(true)
    // axios runs response interceptors in registration order: the app's saw the raw 403 sign-in page,
    // ours turned it into the 401 shape; the app's Accept (ours runs last and keeps it) went on the wire.
    expect(appSaw).toEqual([403, false])
    expect(error.response.status).toBe(401)
    expect(seen[0]!.get('accept')).toBe('application/xml')
  })

  it('decides scope on the final URL: an app interceptor registered earlier moves the request to a third party', async () => {
    make('fail', { proxy: pomerium() })
    const instance = axios.create({ baseURL: '/api' })
    instance.interceptors.request.use((config) => {
      config.baseURL = 'http://other.test'
      config.url = '/moved'
      return config
    })
    guard(instance)
    const error = await fail(instance.get('/items', { headers: { Accept: '*/*' } }))
    // the third party's own failure (happy-dom's CORS check: ERR_NETWORK), untouched: no headers of
    // ours, not judged as the app's
    expect(error).toBeInstanceOf(AxiosError)
    expect(isAuthRequiredError(error)).toBe(false)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(seen[0]!.get('accept')).toBe('*/*')
    expect(h.events).toEqual([])
    expect(h.relogins).toBe(0)
  })

  it('decides scope on the final URL also with axios running request interceptors in order (registered later)', async () => {
    make('fail', { proxy: pomerium() })
    const instance = axios.create({ transitional: { legacyInterceptorReqResOrdering: false } })
    guard(instance)
    instance.interceptors.request.use((config) => {
      config.url = 'http://other.test/moved'
      return config
    })
    const error = await fail(instance.get('/api/items', { headers: { Accept: '*/*' } }))
    expect(isAuthRequiredError(error)).toBe(false)
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(seen[0]!.get('accept')).toBe('*/*')
    expect(h.events).toEqual([])
  })

  it('decides scope on the final URL: an app interceptor registered earlier moves the request into scope', async () => {
    make()
    const instance = axios.create({ baseURL: 'http://other.test' })
    instance.interceptors.request.use((config) => {
      config.baseURL = APP
      return config
    })
    guard(instance)
    const error = await fail(instance.get('/api/unauthorized', { headers: { Accept: '*/*' } }))
    expect(isAuthRequiredError(error)).toBe(true)
    expect(seen[0]!.get('accept')).toBe('*/*, application/json')
    expect(h.events.map((e) => e.reason)).toEqual(['unauthorized'])
  })

  it('eject removes both interceptors', async () => {
    make()
    const instance = axios.create()
    const before = [
      (instance.interceptors.request as any).handlers.filter(Boolean).length,
      (instance.interceptors.response as any).handlers.filter(Boolean).length,
    ]
    const eject = guard(instance)
    eject()
    const after = [
      (instance.interceptors.request as any).handlers.filter(Boolean).length,
      (instance.interceptors.response as any).handlers.filter(Boolean).length,
    ]
    expect(after).toEqual(before)
    const error = await fail(instance.get('/api/unauthorized'))
    expect(isAuthRequiredError(error)).toBe(false)
    expect(error.response.status).toBe(401)
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(h.events).toEqual([])
  })

  it('axiosReauth() throws a TypeError for anything but an SDK instance', () => {
    expect(() => axiosReauth(axios.create(), {} as never)).toThrow(TypeError)
  })
})

describe('gate', () => {
  it('holds a new in-scope request while a re-login runs, then sends it', async () => {
    const held = makeHeld()
    const instance = axios.create()
    guard(instance)
    const first = instance.get('/api/unauthorized')
    await vi.waitFor(() => expect(h.relogins).toBe(1))
    const sent = seen.length
    const second = instance.get('/api/held')
    await new Promise((r) => setTimeout(r, 30))
    expect(seen.length).toBe(sent)
    held.finish()
    expect((await second).data).toEqual({ ok: true, case: 'held' })
    expect((await first).data).toEqual({ ok: true, case: 'unauthorized' })
    expect(h.relogins).toBe(1)
  })
})

describe("axios's fetch adapter over the patched fetch", () => {
  /** The network under the patched fetch: the probe and a signed-out proxy's Ajax 401. */
  let wire: string[] = []
  beforeEach(() => {
    wire = []
    vi.stubGlobal('fetch', async (input: RequestInfo | URL) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      if (url.includes('/oauth2/auth')) return new Response(null, { status: h.signedIn ? 202 : 401 })
      wire.push(url)
      return h.signedIn
        ? Response.json({ ok: true })
        : new Response('{}', { status: 401, headers: { 'content-type': 'application/json' } })
    })
  })
  afterEach(() => h.reauth?.uninstall())

  it('with the interceptors: an AxiosError-shaped AuthRequiredError, data parsed, one flight', async () => {
    make().install()
    const instance = axios.create({ adapter: 'fetch' })
    guard(instance)
    const error = await fail(instance.get('/api/items'))
    expect(isAuthRequiredError(error)).toBe(true)
    expect(axios.isAxiosError(error)).toBe(true)
    expect(error.reason).toBe('unauthorized')
    expect(error.response.status).toBe(401)
    expect(error.response.data).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(authRequiredReason(error)).toBe('unauthorized')
    expect(wire).toHaveLength(1)
    expect(h.relogins).toBe(1)
    expect(h.events.map((e) => e.reason)).toEqual(['unauthorized'])
  })

  it('with the interceptors: the request is counted on the wire once (the re-login starts with nothing on it)', async () => {
    const onWire: number[] = []
    make('ok', {
      relogin: async () => {
        onWire.push(engineOf(h.reauth).wire.count)
        h.relogins++
        h.signedIn = true
      },
    }).install()
    const instance = axios.create({ adapter: 'fetch' })
    guard(instance)
    const response = await instance.get('/api/items')
    expect(response.data).toEqual({ ok: true })
    expect(onWire).toEqual([0])
    expect(wire).toHaveLength(2)
  })

  it('without them: axios’s own AxiosError 401 with the parsed body and the marker, one flight', async () => {
    make().install()
    const error = await fail(axios.create({ adapter: 'fetch' }).get('/api/items'))
    expect(error).toBeInstanceOf(AxiosError)
    expect(error.response.status).toBe(401)
    expect(error.response.data).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(authRequiredReason(error)).toBe('unauthorized')
    expect(h.relogins).toBe(1)
    expect(h.events).toHaveLength(1)
  })

  it('the XHR adapter over the patched XHR without interceptors: the marker is in the headers', async () => {
    make().install()
    const error = await fail(axios.create().get('/api/unauthorized'))
    expect(error).toBeInstanceOf(AxiosError)
    expect(error.response.status).toBe(401)
    expect(error.response.data).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(authRequiredReason(error)).toBe('unauthorized')
    expect(authRequiredReason(error.request)).toBe('unauthorized')
    expect(h.relogins).toBe(1)
  })
})

// The README's wiring: install() and axiosReauth() on the same page (issue 24 item 1).
describe('one request through axios and the patched XHR', () => {
  afterEach(() => h.reauth?.uninstall())

  it('is counted on the wire once: when the re-login starts, nothing is left on it', async () => {
    const onWire: number[] = []
    make('ok', {
      relogin: async () => {
        onWire.push(engineOf(h.reauth).wire.count)
        h.relogins++
        h.signedIn = true
      },
    }).install()
    const instance = axios.create()
    guard(instance)
    const response = await instance.get('/api/unauthorized')
    expect(response.data).toEqual({ ok: true, case: 'unauthorized' })
    // the XHR under axios landed (and was judged) before the re-login: the re-login did not wait for
    // the wire's drain cap on a request axios had not seen the answer of
    expect(onWire).toEqual([0])
    expect(h.relogins).toBe(1)
    expect(engineOf(h.reauth).wire.count).toBe(0)
  })
})
