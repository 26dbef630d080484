import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import { ORIGIN, stubPage } from './helpers/page'

let session: 'valid' | 'gone' = 'valid'
const seen: Headers[] = []
const server = setupServer(
  http.get(
    `${ORIGIN}/oauth2/auth`,
    () => new HttpResponse(null, { status: session === 'valid' ? 202 : 401 }),
  ),
  http.get(`${ORIGIN}/api/:name`, ({ request, params }) => {
    seen.push(request.headers)
    return session === 'gone'
      ? HttpResponse.json({}, { status: 401 })
      : HttpResponse.json({ name: params.name })
  }),
)

let relogins = 0
let reauth: Reauth
// What the page has before the SDK: msw's interceptor over Node's fetch.
let nativeFetch: typeof fetch
let nativeDescriptor: PropertyDescriptor

beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' })
  nativeFetch = globalThis.fetch
  nativeDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch')!
})
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  session = 'valid'
  seen.length = 0
  relogins = 0
  reauth = createReauth({
    crossTab: false,
    relogin: async () => {
      relogins++
      session = 'valid'
    },
  })
})
afterEach(() => {
  reauth.uninstall()
  Object.defineProperty(globalThis, 'fetch', nativeDescriptor)
  vi.unstubAllGlobals()
})

/** What a library that instruments fetch after the SDK does (Sentry, msw, Datadog). */
const wrapLater = (calls: string[]): typeof fetch => {
  const below = globalThis.fetch
  const later = function sentryFetch(input: RequestInfo | URL, init?: RequestInit) {
    calls.push(String(input))
    return below(input, init)
  }
  globalThis.fetch = later as typeof fetch
  return later as typeof fetch
}

describe('uninstall() unwraps only its own layer', () => {
  it('leaves a fetch wrapper installed after the SDK in place, still working', async () => {
    reauth.install()
    const calls: string[] = []
    const later = wrapLater(calls)
    reauth.uninstall()
    expect(globalThis.fetch).toBe(later)
    expect(reauth.installed).toBe(false)

    session = 'gone'
    const res = await fetch('/api/items')
    // Straight through: the app sees the proxy's answer, nothing added, no re-login.
    expect(res.status).toBe(401)
    expect(calls).toEqual(['/api/items'])
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(relogins).toBe(0)
  })

  it('restores the exact original descriptor when nothing was installed on top', () => {
    reauth.install()
    reauth.uninstall()
    expect(globalThis.fetch).toBe(nativeFetch)
    expect(Object.getOwnPropertyDescriptor(globalThis, 'fetch')).toEqual(nativeDescriptor)
  })

  it('a reference to the patched fetch captured before uninstall() is a pure pass-through after', async () => {
    reauth.install()
    const captured = globalThis.fetch
    // While installed: headers added, the lost session recovered.
    session = 'gone'
    expect((await captured('/api/before')).status).toBe(200)
    expect(seen.at(-1)!.get('accept')).toBe('application/json')
    expect(relogins).toBe(1)

    reauth.uninstall()
    seen.length = 0
    session = 'gone'
    const res = await captured('/api/after', { headers: { 'x-mine': '1' } })
    expect(res.status).toBe(401)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.get('accept')).toBeNull()
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(seen[0]!.get('x-mine')).toBe('1')
    expect(relogins).toBe(1)
  })

  it('after uninstall() with a later wrapper on top, install() again layers over it without a loop', async () => {
    reauth.install()
    const calls: string[] = []
    const later = wrapLater(calls)
    reauth.uninstall()
    reauth.install()
    expect(globalThis.fetch).not.toBe(later)
    session = 'gone'
    const res = await fetch('/api/again')
    expect(res.status).toBe(200)
    expect(relogins).toBe(1)
    // The first send and the replay went through the later wrapper once each (the probe too: the SDK's
    // own calls go to what install() replaced).
    expect(calls.filter((c) => c.endsWith('/api/again'))).toHaveLength(2)
    reauth.uninstall()
    expect(globalThis.fetch).toBe(later)
  })

  it('reauth.fetch keeps working after uninstall() with a later wrapper in place', async () => {
    reauth.install()
    const calls: string[] = []
    wrapLater(calls)
    reauth.uninstall()
    session = 'gone'
    const res = await reauth.fetch('/api/own')
    expect(res.status).toBe(200)
    expect(relogins).toBe(1)
  })
})

/** A minimal XMLHttpRequest that records what the app (or the SDK) sends and never answers. */
class FakeXhr extends EventTarget {
  static sent: { url: string; headers: [string, string][] }[] = []
  readyState = 0
  status = 0
  #url = ''
  #headers: [string, string][] = []
  open(_method: string, url: string): void {
    this.#url = url
    this.#headers = []
    this.readyState = 1
  }
  setRequestHeader(name: string, value: string): void {
    this.#headers.push([name.toLowerCase(), value])
  }
  send(): void {
    FakeXhr.sent.push({ url: this.#url, headers: this.#headers })
  }
  abort(): void {}
  getResponseHeader(): string | null {
    return null
  }
  getAllResponseHeaders(): string {
    return ''
  }
}

describe('XMLHttpRequest', () => {
  beforeEach(() => {
    FakeXhr.sent = []
    vi.stubGlobal('XMLHttpRequest', FakeXhr)
  })

  it('leaves a later XMLHttpRequest wrapper in place; a captured SDK class passes through', () => {
    reauth.install()
    const Sdk = globalThis.XMLHttpRequest
    expect(Sdk).not.toBe(FakeXhr)
    const Later = class extends Sdk {}
    globalThis.XMLHttpRequest = Later

    const before = new Sdk()
    before.open('GET', '/api/x')
    before.send()
    expect(FakeXhr.sent.at(-1)!.headers.map(([n]) => n)).toContain('accept')

    reauth.uninstall()
    expect(globalThis.XMLHttpRequest).toBe(Later)
    for (const Cls of [Sdk, Later]) {
      const xhr = new Cls()
      xhr.open('GET', '/api/y')
      xhr.send()
      expect(FakeXhr.sent.at(-1)).toEqual({ url: '/api/y', headers: [] })
    }
  })
})
