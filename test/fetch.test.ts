import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import { AuthRequiredError, isAuthRequiredError, ReauthError } from '../src/errors'
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
  reauth = createReauth({ crossTab: false, relogin: failRelogin })
})
afterEach(() => {
  reauth.uninstall()
  vi.unstubAllGlobals()
})

describe('reauth.fetch: headers', () => {
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
      ['*/*', 'XMLHttpRequest'],
      ['text/plain', 'XMLHttpRequest'],
    ])
    expect(seen[3]!.headers.get('x-custom')).toBe('1')
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

describe('reauth.fetch: lost session', () => {
  it('rejects a 401 with AuthRequiredError and its 401 JSON response', async () => {
    session = 'gone'
    const events: string[] = []
    reauth.onReauthRequired((e) => events.push(`${e.reason} ${e.method} ${e.url}`))
    const error = await reauth.fetch('/api/items').catch((e) => e)
    expect(error).toBeInstanceOf(AuthRequiredError)
    expect(error).toMatchObject({
      reason: 'unauthorized',
      status: 401,
      method: 'GET',
      url: `${ORIGIN}/api/items`,
    })
    expect(await error.response.json()).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(events).toEqual([`unauthorized GET ${ORIGIN}/api/items`])
  })

  it('rejects the 403 sign-in page an app gets when it sets Accept */*', async () => {
    session = 'gone'
    const error = await reauth.fetch('/api/items', { headers: { accept: '*/*' } }).catch((e) => e)
    expect(error).toMatchObject({ name: 'AuthRequiredError', reason: 'login-page' })
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
    const lost = await reauth.fetch('/api/items').catch((e) => e)
    expect(lost).toMatchObject({ name: 'AuthRequiredError', reason: 'network-error' })
    expect(lost.cause).toBeInstanceOf(TypeError)
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
    const error = await reauth.fetch('/api/x', { redirect: 'manual' }).catch((e) => e)
    expect(error).toMatchObject({ reason: 'opaque-redirect' })
  })

  it('leaves out-of-scope 401s alone', async () => {
    server.use(http.get(`${THIRD}/private`, () => HttpResponse.json({}, { status: 401 })))
    const res = await reauth.fetch(`${THIRD}/private`)
    expect(res.status).toBe(401)
  })

  it('unsubscribes', async () => {
    session = 'gone'
    const cb = vi.fn()
    const off = reauth.onReauthRequired(cb)
    off()
    await reauth.fetch('/api/items').catch(() => {})
    expect(cb).not.toHaveBeenCalled()
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
    await reauth.fetch('/api/items').catch(() => {})
    await fetch('/api/items').catch(() => {})
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
