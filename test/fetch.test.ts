import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createFetchAdapter } from '../src/adapters/fetch'
import { createReauth, type Reauth } from '../src/client'
import { authRequiredReason, isAuthRequiredError, ReauthError } from '../src/errors'
import { engineOf } from '../src/internal'
import { authelia, azureEasyAuth, cloudflareAccess, googleIap, pomerium } from '../src/profiles'
import { OAUTH2_SIGN_IN_PAGE } from './helpers/fixtures'
import { ORIGIN, stubPage } from './helpers/page'

const THIRD = 'https://third.example'
const seen: { url: string; headers: Headers; method: string; body: string }[] = []
let session: 'valid' | 'gone' = 'valid'
let probeAnswer = 401

const server = setupServer(
  http.all(
    `${ORIGIN}/oauth2/auth`,
    () => new HttpResponse(null, { status: session === 'valid' ? 202 : probeAnswer }),
  ),
  http.all(`${ORIGIN}/api/*`, async ({ request }) => {
    seen.push({
      url: request.url,
      headers: request.headers,
      method: request.method,
      body: request.body ? await request.text() : '',
    })
    if (session === 'gone') {
      const ajax = (request.headers.get('accept') ?? '')
        .split(',')
        .some((e) => e.trim() === 'application/json')
      return ajax
        ? HttpResponse.json({}, { status: 401 })
        : new HttpResponse(OAUTH2_SIGN_IN_PAGE, { status: 403, headers: { 'content-type': 'text/html' } })
    }
    if (request.url.endsWith('/fragment')) return HttpResponse.html('<p>fragment</p>'.repeat(20_000))
    return HttpResponse.json({ ok: true, path: new URL(request.url).pathname })
  }),
  http.all(`${THIRD}/*`, ({ request }) => {
    seen.push({ url: request.url, headers: request.headers, method: request.method, body: '' })
    return HttpResponse.json({ third: true })
  }),
)

const failRelogin = () => Promise.reject(new Error('no re-login in unit tests'))
let reauth: Reauth

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  seen.length = 0
  session = 'valid'
  probeAnswer = 401
  // Both headers on, to see both added (the oauth2-proxy default sends only Accept: see the first test).
  reauth = createReauth({
    crossTab: false,
    relogin: failRelogin,
    headers: { requestedWith: 'XMLHttpRequest' },
  })
})
afterEach(() => {
  reauth.uninstall()
  vi.unstubAllGlobals()
})

describe('reauth.fetch: headers', () => {
  it('by default adds Accept, and X-Requested-With only for a proxy that reads it', async () => {
    await createReauth({ crossTab: false }).fetch('/api/items')
    expect(seen[0]!.headers.get('accept')).toBe('application/json')
    expect(seen[0]!.headers.get('x-requested-with')).toBeNull()
    for (const proxy of [pomerium(), authelia(), googleIap(), cloudflareAccess(), azureEasyAuth()]) {
      seen.length = 0
      await createReauth({ crossTab: false, proxy }).fetch('/api/items')
      expect(seen[0]!.headers.get('x-requested-with'), proxy.name).toBe('XMLHttpRequest')
    }
  })

  it('adds Accept and X-Requested-With to in-scope requests', async () => {
    const res = await reauth.fetch('/api/items')
    expect(await res.json()).toEqual({ ok: true, path: '/api/items' })
    expect(seen[0]!.headers.get('accept')).toBe('application/json')
    expect(seen[0]!.headers.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('never adds them to third parties', async () => {
    await reauth.fetch(`${THIRD}/x`)
    expect(seen[0]!.headers.get('x-requested-with')).toBeNull()
    expect(seen[0]!.headers.get('accept')).not.toBe('application/json')
  })

  it("never overwrites the app's own values, in any header form", async () => {
    await reauth.fetch('/api/a', { headers: { Accept: 'text/csv' } })
    await reauth.fetch('/api/b', { headers: [['X-Requested-With', 'Mine']] })
    await reauth.fetch('/api/c', { headers: new Headers({ accept: '*/*' }) })
    await reauth.fetch(new Request(`${ORIGIN}/api/d`, { headers: { accept: 'text/plain', 'x-custom': '1' } }))
    expect(seen.map((s) => [s.headers.get('accept'), s.headers.get('x-requested-with')])).toEqual([
      ['text/csv', 'XMLHttpRequest'],
      ['application/json', 'Mine'],
      // One Accept policy for every adapter: a `*/*` is extended with an exact entry, never replaced.
      ['*/*, application/json', 'XMLHttpRequest'],
      ['text/plain', 'XMLHttpRequest'],
    ])
    expect(seen[3]!.headers.get('x-custom')).toBe('1')
  })

  it('extends an Accept that names no type in every header form; leaves one that names a type (#26.3)', async () => {
    await reauth.fetch('/api/a', { headers: { Accept: '*/*' } })
    await reauth.fetch('/api/b', { headers: [['Accept', 'application/*']] })
    await reauth.fetch(new Request(`${ORIGIN}/api/c`, { headers: { accept: 'text/html, */*;q=0.8' } }))
    await reauth.fetch('/api/d', { headers: { accept: 'application/json;q=0.9, text/plain' } })
    expect(seen.map((s) => s.headers.get('accept'))).toEqual([
      '*/*, application/json',
      'application/*, application/json',
      'text/html, */*;q=0.8',
      'application/json;q=0.9, text/plain',
    ])
  })

  it("does not mutate the app's headers object or init", async () => {
    const headers = { 'X-Custom': '1' }
    const init = { headers }
    await reauth.fetch('/api/x', init)
    expect(headers).toEqual({ 'X-Custom': '1' })
    expect(init.headers).toBe(headers)
    expect(seen[0]!.headers.get('x-custom')).toBe('1')
    expect(seen[0]!.headers.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it("leaves a hypermedia request's Accept alone (htmx's HX-Request), in every header form (#26.3)", async () => {
    await reauth.fetch('/api/a', { headers: { 'HX-Request': 'true' } })
    await reauth.fetch('/api/b', { headers: [['hx-request', 'true']] })
    await reauth.fetch(new Request(`${ORIGIN}/api/c`, { headers: { 'X-Up-Version': '3' } }))
    await reauth.fetch('/api/d', { headers: { 'Turbo-Frame': 'list', Accept: '*/*' } })
    expect(seen.map((s) => s.headers.get('accept'))).toEqual([null, null, null, '*/*'])
  })

  it('honours headers: false', async () => {
    const r = createReauth({ headers: { requestedWith: false }, crossTab: false })
    await r.fetch('/api/x')
    expect(seen[0]!.headers.get('x-requested-with')).toBeNull()
    expect(seen[0]!.headers.get('accept')).toBe('application/json')
  })
})

describe('reauth.fetch: what goes to the underlying fetch', () => {
  it('passes out-of-scope calls through with the very same arguments', async () => {
    const base = vi.fn(async () => new Response('x'))
    vi.stubGlobal('fetch', base)
    const init = { method: 'POST', body: 'b', keepalive: true }
    const input = new URL(`${THIRD}/y`)
    await reauth.fetch(input, init)
    expect(base.mock.calls[0]).toEqual([input, init])
    expect((base.mock.calls[0] as unknown[])[0]).toBe(input)
    expect((base.mock.calls[0] as unknown[])[1]).toBe(init)
  })

  it('keeps every init field of an in-scope call', async () => {
    const base = vi.fn(async (_i: RequestInfo | URL, _n?: RequestInit) => new Response('{}'))
    vi.stubGlobal('fetch', base)
    const controller = new AbortController()
    const body = new URLSearchParams({ a: '1' })
    await reauth.fetch('/api/z', {
      method: 'PATCH',
      body,
      signal: controller.signal,
      credentials: 'include',
      keepalive: true,
      cache: 'no-store',
      mode: 'cors',
      redirect: 'manual',
      referrerPolicy: 'no-referrer',
      integrity: 'sha256-x',
    })
    const [input, init] = base.mock.calls[0]!
    expect(input).toBe('/api/z')
    expect(init).toMatchObject({
      method: 'PATCH',
      body,
      signal: controller.signal,
      credentials: 'include',
      keepalive: true,
      cache: 'no-store',
      mode: 'cors',
      redirect: 'manual',
      referrerPolicy: 'no-referrer',
      integrity: 'sha256-x',
    })
    expect(new Headers(init!.headers).get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('sends a Request input with its body and method', async () => {
    const res = await reauth.fetch(new Request(`${ORIGIN}/api/post`, { method: 'POST', body: 'hello' }))
    expect(res.ok).toBe(true)
    expect(seen[0]).toMatchObject({ method: 'POST', body: 'hello' })
    expect(seen[0]!.headers.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('lets an abort through as the AbortError it is', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await reauth.fetch('/api/items', { signal: controller.signal }).catch((e) => e)
    expect(error.name).toBe('AbortError')
    expect(isAuthRequiredError(error)).toBe(false)
  })

  it("peeks HTML without consuming the app's body", async () => {
    const res = await reauth.fetch('/api/fragment', { headers: { accept: 'text/html' } })
    const text = await res.text()
    expect(text.length).toBe('<p>fragment</p>'.length * 20_000)
  })
})

/** What the app sees of the synthetic 401 the SDK resolves with. */
const synthetic = async (res: Response) => ({
  status: res.status,
  ok: res.ok,
  url: res.url,
  marker: res.headers.get('x-ajax-reauth'),
  contentType: res.headers.get('content-type'),
  reason: authRequiredReason(res),
  body: await res.json(),
})

describe('reauth.fetch: lost session', () => {
  it('resolves a lost session with a synthetic 401 JSON Response that carries the marker', async () => {
    session = 'gone'
    const events: string[] = []
    reauth.onReauthRequired((e) => events.push(`${e.reason} ${e.method} ${e.url}`))
    const res = await reauth.fetch('/api/items')
    expect(res).toBeInstanceOf(Response)
    expect(await synthetic(res)).toEqual({
      status: 401,
      ok: false,
      url: `${ORIGIN}/api/items`,
      marker: 'unauthorized',
      contentType: 'application/json',
      reason: 'unauthorized',
      body: { error: 'auth_required', reason: 'unauthorized' },
    })
    // Enumerating the Response shows nothing of the SDK: the brand is not enumerable.
    expect(Object.keys(res)).toEqual([])
    expect(events).toEqual([`unauthorized GET ${ORIGIN}/api/items`])
  })

  it('resolves the 403 sign-in page an app gets with an Accept without JSON as a 401 login-page', async () => {
    session = 'gone'
    const res = await reauth.fetch('/api/items', { headers: { accept: 'text/plain' } })
    expect(await synthetic(res)).toMatchObject({ status: 401, reason: 'login-page', marker: 'login-page' })
  })

  it('extends an app’s Accept */* so the proxy answers its Ajax 401 instead of the sign-in page', async () => {
    session = 'gone'
    const res = await reauth.fetch('/api/items', { headers: { accept: '*/*' } })
    expect(await synthetic(res)).toMatchObject({
      status: 401,
      reason: 'unauthorized',
      marker: 'unauthorized',
    })
  })

  it('turns a TypeError into network-error only when the probe says signed out', async () => {
    const failing = vi.fn(async (input: RequestInfo | URL) => {
      if (String(input).includes('/oauth2/auth'))
        return new Response(null, { status: session === 'gone' ? 401 : 202 })
      throw new TypeError('Failed to fetch')
    })
    vi.stubGlobal('fetch', failing)
    const plain = await reauth.fetch('/api/items').catch((e) => e)
    expect(plain).toBeInstanceOf(TypeError)
    session = 'gone'
    const lost = await reauth.fetch('/api/items')
    expect(await synthetic(lost)).toMatchObject({ status: 401, reason: 'network-error' })
  })

  it('an opaque redirect is a lost session only when the probe agrees', async () => {
    const opaque = {
      status: 0,
      type: 'opaqueredirect',
      redirected: false,
      url: `${ORIGIN}/api/x`,
      headers: new Headers(),
      body: null,
    }
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) =>
        String(input).includes('/oauth2/auth')
          ? new Response(null, { status: session === 'gone' ? 401 : 202 })
          : opaque,
      ),
    )
    expect(await reauth.fetch('/api/x', { redirect: 'manual' })).toBe(opaque)
    session = 'gone'
    const res = await reauth.fetch('/api/x', { redirect: 'manual' })
    expect(await synthetic(res)).toMatchObject({ status: 401, reason: 'opaque-redirect' })
  })

  it('aborts and other errors still reject as before', async () => {
    session = 'gone'
    const controller = new AbortController()
    controller.abort()
    const aborted = await reauth.fetch('/api/items', { signal: controller.signal }).catch((e) => e)
    expect(aborted.name).toBe('AbortError')
    const bug = new RangeError('a bug under the SDK')
    vi.stubGlobal('fetch', async () => {
      throw bug
    })
    expect(await reauth.fetch('/api/items').catch((e) => e)).toBe(bug)
  })

  it('leaves out-of-scope 401s alone', async () => {
    server.use(http.get(`${THIRD}/private`, () => HttpResponse.json({}, { status: 401 })))
    const res = await reauth.fetch(`${THIRD}/private`)
    expect(res.status).toBe(401)
    expect(authRequiredReason(res)).toBeNull()
  })

  it('unsubscribes', async () => {
    session = 'gone'
    const cb = vi.fn()
    const off = reauth.onReauthRequired(cb)
    off()
    await reauth.fetch('/api/items')
    expect(cb).not.toHaveBeenCalled()
  })
})

describe('reauth.fetch: one verdict per request', () => {
  it('a synthetic 401 from a layer underneath (a fetch polyfill over the XHR patch) is final', async () => {
    session = 'gone'
    // What whatwg-fetch builds from the XHR patch's synthetic 401: status, JSON body, the marker header.
    const below = vi.fn(
      async () =>
        new Response('{"error":"auth_required","reason":"unauthorized"}', {
          status: 401,
          headers: { 'content-type': 'application/json', 'x-ajax-reauth': 'unauthorized' },
        }),
    )
    const relogin = vi.fn(failRelogin)
    const r = createReauth({ crossTab: false, relogin })
    const guarded = createFetchAdapter(engineOf(r), () => below)
    const events: string[] = []
    r.onReauthRequired((e) => events.push(e.reason))
    const res = await guarded('/api/items')
    expect(await synthetic(res)).toMatchObject({ status: 401, reason: 'unauthorized' })
    expect(below).toHaveBeenCalledTimes(1)
    expect(relogin).not.toHaveBeenCalled()
    expect(events).toEqual([])
  })

  it('a genuine 401 without the marker is still judged', async () => {
    session = 'gone'
    const below = vi.fn(async () => HttpResponse.json({}, { status: 401 }))
    const relogin = vi.fn(failRelogin)
    const r = createReauth({ crossTab: false, relogin })
    const res = await createFetchAdapter(engineOf(r), () => below)('/api/items')
    expect(res.headers.get('x-ajax-reauth')).toBe('unauthorized')
    expect(relogin).toHaveBeenCalledTimes(1)
  })

  it('reauth.fetch over the installed patch: one flight, one report', async () => {
    session = 'gone'
    const relogin = vi.fn(failRelogin)
    const r = createReauth({ crossTab: false, relogin, circuit: { failures: 2 } }).install()
    const events: string[] = []
    r.onReauthRequired((e) => events.push(e.reason))
    try {
      // A client that captured the patched fetch and is handed to reauth.fetch's base: two layers.
      const outer = createFetchAdapter(engineOf(r), () => globalThis.fetch)
      const res = await outer('/api/items')
      expect(res.status).toBe(401)
      expect(relogin).toHaveBeenCalledTimes(1)
      expect(events).toEqual(['unauthorized'])
      expect(seen).toHaveLength(1)
    } finally {
      r.uninstall()
    }
  })
})

describe('reauth.fetch: arguments as native', () => {
  it('odd arguments give the native (asynchronous) result and cost no probe', async () => {
    const calls: unknown[][] = []
    const base = vi.fn((...args: unknown[]) => {
      calls.push(args)
      return Promise.reject(new TypeError('native says no'))
    })
    const f = createFetchAdapter(engineOf(reauth), () => base as unknown as typeof fetch)
    const probe = vi.spyOn(engineOf(reauth), 'probe')
    const results = [
      (f as (...a: unknown[]) => Promise<Response>)(),
      f(null as unknown as string),
      f(undefined as unknown as string),
      f({
        toString: () => {
          throw new Error('no string')
        },
      } as unknown as string),
    ]
    for (const p of results) expect(p).toBeInstanceOf(Promise)
    const errors = await Promise.all(results.map((p) => p.catch((e) => e)))
    expect(errors.map((e) => e.message)).toEqual(Array(4).fill('native says no'))
    expect(calls.map((c) => c.length)).toEqual([0, 2, 2, 2])
    expect(calls[1]![0]).toBeNull()
    expect(probe).not.toHaveBeenCalled()
  })

  it('a synchronous throw of the underlying fetch becomes a rejection', async () => {
    const f = createFetchAdapter(engineOf(reauth), () => () => {
      throw new TypeError('sync')
    })
    const p = f(null as unknown as string)
    expect(p).toBeInstanceOf(Promise)
    expect((await p.catch((e) => e)).message).toBe('sync')
  })

  it('fetch(location) is a request to the page, guarded like a string', async () => {
    const res = await reauth.fetch(new URL(`${ORIGIN}/api/loc`) as unknown as Location as unknown as string)
    expect(res.ok).toBe(true)
    expect(seen[0]!.headers.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('a Request from another realm keeps its headers (duck-typed, not instanceof)', async () => {
    const native = new Request(`${ORIGIN}/api/realm`, {
      method: 'POST',
      body: 'from the iframe',
      headers: { 'x-custom': 'iframe', accept: 'text/plain' },
    })
    // An iframe's Request: every member of a Request, another realm's prototype.
    const foreign = new Proxy(native, {
      getPrototypeOf: () => Object.prototype,
      get: (target, key) => {
        const value = Reflect.get(target, key, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    expect(foreign instanceof Request).toBe(false)
    const base = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => HttpResponse.json({}))
    await createFetchAdapter(engineOf(reauth), () => base)(foreign)
    const [input, init] = base.mock.calls[0]!
    expect(input).toBe(foreign)
    const sent = new Headers(init?.headers)
    expect(sent.get('x-custom')).toBe('iframe')
    expect(sent.get('accept')).toBe('text/plain')
    expect(sent.get('x-requested-with')).toBe('XMLHttpRequest')
    expect(init?.method).toBeUndefined()
  })

  it('a Request whose body was already used gets the native TypeError, no probe, no re-login', async () => {
    session = 'gone'
    const relogin = vi.fn(failRelogin)
    const r = createReauth({ crossTab: false, relogin })
    const probe = vi.spyOn(engineOf(r), 'probe')
    const used = new Request(`${ORIGIN}/api/used`, { method: 'POST', body: 'once' })
    await used.text()
    const error = await r.fetch(used).catch((e) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(probe).not.toHaveBeenCalled()
    expect(relogin).not.toHaveBeenCalled()
    expect(seen).toHaveLength(0)
  })

  it('a path-relative URL is replayed to the URL it had when the call was made', async () => {
    server.use(
      http.post(`${ORIGIN}/:section/api/items`, ({ request }) => {
        seen.push({ url: request.url, headers: request.headers, method: request.method, body: '' })
        if (session === 'gone') return HttpResponse.json({}, { status: 401 })
        return HttpResponse.json({ ok: true, path: new URL(request.url).pathname })
      }),
    )
    stubPage(`${ORIGIN}/orders/`)
    session = 'gone'
    let relogged: () => void = () => {}
    const wait = new Promise<void>((r) => {
      relogged = r
    })
    const r = createReauth({
      crossTab: false,
      relogin: async () => {
        // A client-side route change while the re-login runs.
        vi.stubGlobal('location', new URL(`${ORIGIN}/customers/`))
        session = 'valid'
        relogged()
      },
    })
    const res = await r.fetch('api/items', { method: 'POST', body: 'x' })
    await wait
    expect(await res.json()).toEqual({ ok: true, path: '/orders/api/items' })
    expect(seen.map((s) => new URL(s.url).pathname)).toEqual(['/orders/api/items', '/orders/api/items'])
  })
})

describe('install / uninstall', () => {
  it('patches globalThis.fetch and restores the exact original', async () => {
    const before = Object.getOwnPropertyDescriptor(globalThis, 'fetch')
    const original = globalThis.fetch
    reauth.install()
    expect(globalThis.fetch).not.toBe(original)
    expect(reauth.installed).toBe(true)
    await fetch('/api/items')
    expect(seen[0]!.headers.get('x-requested-with')).toBe('XMLHttpRequest')
    reauth.uninstall()
    expect(globalThis.fetch).toBe(original)
    expect(Object.getOwnPropertyDescriptor(globalThis, 'fetch')).toEqual(before)
    reauth.uninstall()
    expect(globalThis.fetch).toBe(original)
  })

  it('is idempotent', () => {
    reauth.install()
    const patched = globalThis.fetch
    reauth.install()
    expect(globalThis.fetch).toBe(patched)
  })

  it('refuses a second instance while the first is installed, and allows it after', () => {
    const other = createReauth({ crossTab: false })
    reauth.install()
    expect(() => other.install()).toThrow(ReauthError)
    reauth.uninstall()
    other.install()
    expect(other.installed).toBe(true)
    other.uninstall()
  })

  it('reauth.fetch does not run the pipeline twice while installed', async () => {
    session = 'gone'
    const cb = vi.fn()
    reauth.onReauthRequired(cb)
    reauth.install()
    expect((await reauth.fetch('/api/items')).status).toBe(401)
    expect((await fetch('/api/items')).status).toBe(401)
    // One episode (the re-login failed and nothing succeeded since): one reauth:required; two requests sent.
    expect(cb).toHaveBeenCalledTimes(1)
    expect(seen).toHaveLength(2)
  })

  it('composes with a wrapper installed after it (Sentry-style)', async () => {
    reauth.install()
    const ours = globalThis.fetch
    const calls: string[] = []
    globalThis.fetch = (input, init) => {
      calls.push(String(input))
      return ours(input, init)
    }
    try {
      const res = await fetch('/api/items')
      expect(res.ok).toBe(true)
      expect(calls).toEqual(['/api/items'])
      expect(seen).toHaveLength(1)
    } finally {
      globalThis.fetch = ours
    }
  })

  it('is a no-op that says so outside a browser', () => {
    vi.stubGlobal('window', undefined)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const original = globalThis.fetch
    createReauth().install()
    expect(globalThis.fetch).toBe(original)
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('no-op'))
    warn.mockRestore()
  })
})

/** An opaque redirect, as a browser hands it to `redirect: 'manual'` (Node's fetch shows the 3xx itself). */
const opaqueRedirect = (url: string): Response => {
  const res = new Response(null, { status: 200 })
  Object.defineProperties(res, {
    type: { value: 'opaqueredirect' },
    status: { value: 0 },
    url: { value: url },
  })
  return res
}

describe('reauth.fetch: see the sign-in redirect at once (issue #23)', () => {
  const modes = async (input: RequestInfo | URL, init?: RequestInit): Promise<unknown> => {
    const base = vi.fn(async (_i: RequestInfo | URL, _n?: RequestInit) => new Response('{}'))
    vi.stubGlobal('fetch', base)
    await reauth.fetch(input, init)
    return base.mock.calls[0]?.[1]?.redirect
  }

  it("a same-origin GET or HEAD with the default mode goes out with redirect: 'manual'; nothing else changes mode", async () => {
    expect(await modes('/api/items')).toBe('manual')
    expect(await modes('/api/items', { method: 'HEAD' })).toBe('manual')
    expect(await modes(new Request(`${ORIGIN}/api/items`))).toBe('manual')
    expect(await modes('/api/items', { method: 'POST', body: 'x' })).toBeUndefined()
    expect(await modes('/api/items', { redirect: 'follow' })).toBe('follow')
    expect(await modes('/api/items', { redirect: 'error' })).toBe('error')
    expect(await modes(new Request(`${ORIGIN}/api/items`, { redirect: 'error' }))).toBeUndefined()
    expect(await modes('/api/items', { mode: 'no-cors' })).toBeUndefined()
    expect(await modes(`${THIRD}/data`)).toBeUndefined()
  })

  it("an opaque redirect with the session alive is the app's own: sent again as the app asked, once per URL", async () => {
    const url = `${ORIGIN}/api/moved`
    const base = vi.fn(async (i: RequestInfo | URL, n?: RequestInit) => {
      if (String(i).endsWith('/oauth2/auth')) return new Response(null, { status: 202 })
      return n?.redirect === 'manual' ? opaqueRedirect(url) : Response.json({ moved: true })
    })
    vi.stubGlobal('fetch', base)
    const sent = () => base.mock.calls.filter((c) => String(c[0]).endsWith('/api/moved'))
    const first = await reauth.fetch('/api/moved')
    expect(await first.json()).toEqual({ moved: true })
    expect(sent().map((c) => c[1]?.redirect)).toEqual(['manual', undefined])
    base.mockClear()
    expect(await (await reauth.fetch('/api/moved')).json()).toEqual({ moved: true })
    expect(sent().map((c) => c[1]?.redirect)).toEqual([undefined])
    // The probe asked once, for the first call.
    expect(base.mock.calls).toHaveLength(1)
  })

  it('a 304 to a conditional GET is the answer, not a redirect: sent once', async () => {
    const base = vi.fn(async (_i: RequestInfo | URL, _n?: RequestInit) => new Response(null, { status: 304 }))
    vi.stubGlobal('fetch', base)
    const res = await reauth.fetch('/api/cached', { headers: { 'if-none-match': '"v1"' } })
    expect(res.status).toBe(304)
    expect(base.mock.calls.filter((c) => String(c[0]).endsWith('/api/cached'))).toHaveLength(1)
  })

  it('an opaque redirect with the session gone is a proven loss: re-login, then the replay as the app asked', async () => {
    session = 'gone'
    const url = `${ORIGIN}/api/items`
    let relogins = 0
    const r = createReauth({
      crossTab: false,
      relogin: async () => {
        relogins++
        session = 'valid'
      },
    })
    const base = vi.fn(async (_i: RequestInfo | URL, n?: RequestInit) =>
      session === 'gone' && n?.redirect === 'manual' ? opaqueRedirect(url) : Response.json({ ok: true }),
    )
    const res = await createFetchAdapter(engineOf(r), () => base)('/api/items')
    expect(await res.json()).toEqual({ ok: true })
    expect(relogins).toBe(1)
    expect(base.mock.calls.map((c) => c[1]?.redirect)).toEqual(['manual', undefined])
  })
})
