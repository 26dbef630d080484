// @vitest-environment happy-dom
// @vitest-environment-options {"url": "http://app.test/app/"}
import { ClientRequestInterceptor } from '@mswjs/interceptors/ClientRequest'
import axios from 'axios'
import { HttpResponse, http } from 'msw'
import { SetupServerApi } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { fetch as whatwgFetch } from 'whatwg-fetch'
import { AuthRequiredError, isAuthRequiredError, pomerium } from '../src'
import { axiosReauth } from '../src/axios'
import { html, lostSessionAnswer } from './helpers/answers'
import { OAUTH2_SIGN_IN_PAGE } from './helpers/fixtures'
import { createReloginHarness } from './helpers/relogin'

// happy-dom's XHR runs on its fetch, which runs on node:http: msw intercepts it there. msw's own XHR
// interceptor is left out on purpose, so the SDK wraps the environment's real XMLHttpRequest.
const APP = 'http://app.test'
let seen: Headers[] = []

const CORS = { 'access-control-allow-origin': APP }
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
      return HttpResponse.json({ other: true }, { headers: CORS })
    }),
  ],
  [new ClientRequestInterceptor()],
)

const TYPES = ['readystatechange', 'loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend']

interface Run {
  xhr: XMLHttpRequest
  log: string[]
}

/** Send one request and log every app-visible event with the readyState and status the app sees then. */
const send = (
  url: string,
  setup: (xhr: XMLHttpRequest) => void = () => {},
  method = 'GET',
  body: string | null = null,
): Promise<Run> =>
  new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    const log: string[] = []
    for (const type of TYPES)
      xhr.addEventListener(type, () => log.push(`${type}:${xhr.readyState}:${xhr.status}`))
    xhr.onload = () => log.push(`onload:${xhr.status}`)
    xhr.addEventListener('loadend', () => setTimeout(() => resolve({ xhr, log }), 20))
    xhr.open(method, url)
    setup(xhr)
    xhr.send(body)
  })

const h = createReloginHarness({ install: true })
const { make, makeHeld } = h

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// The session probe is the SDK's only fetch here. happy-dom's fetch trips over the probe's body cancel
// (an uncaught "Controller is already closed"), so the probe talks to a stub: 202 signed in, 401 not.
let probeGate: Promise<void> = Promise.resolve()
let probes = 0
/** Fetches other than the probe. Checked after each test: the probe's caller swallows a throw in the stub. */
let strayFetches: string[] = []
beforeEach(() => {
  vi.stubGlobal('fetch', async (input: RequestInfo | URL) => {
    if (String(input) !== `${APP}/oauth2/auth`) {
      strayFetches.push(String(input))
      throw new TypeError('Failed to fetch')
    }
    probes++
    await probeGate
    return new Response(null, { status: h.signedIn ? 202 : 401 })
  })
})
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  // Uninstalled first: it puts back the globals it found, which may be this test's stubs.
  h.reauth?.uninstall()
  vi.unstubAllGlobals()
  probeGate = Promise.resolve()
  probes = 0
  server.resetHandlers()
  h.reset()
  seen = []
  const stray = strayFetches
  strayFetches = []
  expect(stray, 'the SDK fetched something other than the session probe').toEqual([])
})
afterAll(() => server.close())

describe('install / uninstall', () => {
  it('replaces XMLHttpRequest with a subclass and restores the exact original', () => {
    const native = globalThis.XMLHttpRequest
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'XMLHttpRequest')
    make()
    expect(globalThis.XMLHttpRequest).not.toBe(native)
    const xhr = new XMLHttpRequest()
    expect(xhr).toBeInstanceOf(native)
    expect(xhr).toBeInstanceOf(XMLHttpRequest)
    h.reauth.uninstall()
    expect(globalThis.XMLHttpRequest).toBe(native)
    expect(Object.getOwnPropertyDescriptor(globalThis, 'XMLHttpRequest')).toEqual(descriptor)
  })
})

describe('headers', () => {
  it('adds Accept to in-scope requests, and X-Requested-With only for a proxy that reads it', async () => {
    make()
    const { xhr } = await send('/api/ok')
    expect(xhr.status).toBe(200)
    expect(seen[0]!.get('accept')).toBe('application/json')
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    h.reauth.uninstall()
    make('fail', { proxy: pomerium() })
    await send('/api/ok')
    expect(seen[1]!.get('accept')).toBe('application/json')
    expect(seen[1]!.get('x-requested-with')).toBe('XMLHttpRequest')
  })

  it('keeps the headers the app set itself', async () => {
    make()
    await send('/api/ok', (x) => {
      x.setRequestHeader('Accept', 'text/html')
      x.setRequestHeader('X-Requested-With', 'Fetch')
    })
    expect(seen[0]!.get('accept')).toBe('text/html')
    expect(seen[0]!.get('x-requested-with')).toBe('Fetch')
  })

  it('extends an Accept that names no type, as every adapter does; not one that names a type', async () => {
    make()
    // Natively setRequestHeader() appends to a header set already (`*/*, application/json`, as the
    // spec and browsers do; happy-dom replaces it): the SDK passes only the entry it adds.
    const native = Object.getPrototypeOf(XMLHttpRequest.prototype) as XMLHttpRequest
    const set = vi.spyOn(native, 'setRequestHeader')
    await send('/api/ok', (x) => x.setRequestHeader('Accept', '*/*'))
    await send('/api/ok', (x) => {
      x.setRequestHeader('Accept', 'text/html')
      x.setRequestHeader('Accept', 'application/*')
    })
    await send('/api/ok', (x) => x.setRequestHeader('Accept', 'text/html'))
    expect(set.mock.calls).toEqual([
      ['Accept', '*/*'],
      ['accept', 'application/json'],
      ['Accept', 'text/html'],
      ['Accept', 'application/*'],
      ['Accept', 'text/html'],
    ])
    set.mockRestore()
  })

  it('leaves out-of-scope requests untouched', async () => {
    make()
    const { xhr } = await send('http://other.test/x')
    expect(JSON.parse(xhr.responseText)).toEqual({ other: true })
    expect(seen[0]!.get('x-requested-with')).toBeNull()
    expect(seen[0]!.get('accept')).not.toBe('application/json')
  })
})

describe('detection and the synthetic 401', () => {
  it.each([['unauthorized'], ['login-page'], ['sign-in-redirect'], ['header-overflow'], ['network-error']])(
    '%s completes as a 401 with one load and one report',
    async (reason) => {
      make()
      const { xhr, log } = await send(`/api/${reason}`)
      expect(xhr.status).toBe(401)
      expect(xhr.statusText).toBe('Unauthorized')
      expect(JSON.parse(xhr.responseText)).toEqual({ error: 'auth_required', reason })
      expect(xhr.getResponseHeader('content-type')).toBe('application/json')
      // The marker a fetch polyfill on top (whatwg-fetch) hands on, so the fetch layer does not judge again.
      expect(xhr.getResponseHeader('X-Ajax-Reauth')).toBe(reason)
      expect(xhr.getAllResponseHeaders()).toBe(
        `content-type: application/json\r\nx-ajax-reauth: ${reason}\r\n`,
      )
      // Nothing of the real response (403, 431, 302, an error) leaks; the tail is the native sequence.
      // (happy-dom fires a non-standard readystatechange(3) at send(), with status 0.)
      expect(log.filter((l) => !/:(0|401)$/.test(l))).toEqual([])
      expect(log.filter((l) => /^readystatechange:[24]/.test(l))).toEqual([
        'readystatechange:2:401',
        'readystatechange:4:401',
      ])
      expect(log.slice(-7)).toEqual([
        'readystatechange:2:401',
        'readystatechange:3:401',
        'progress:3:401',
        'readystatechange:4:401',
        'load:4:401',
        'onload:401',
        'loadend:4:401',
      ])
      expect(log.filter((l) => l.startsWith('load:'))).toHaveLength(1)
      expect(log.filter((l) => l.startsWith('onload'))).toHaveLength(1)
      expect(log.filter((l) => l.startsWith('loadend'))).toEqual(['loadend:4:401'])
      expect(log).not.toContain('error:4:0')
      expect(h.events.map((e) => e.reason)).toEqual([reason])
      expect(h.events[0]!.error).toBeInstanceOf(AuthRequiredError)
    },
  )

  it('gives the body in the form responseType asks for', async () => {
    make()
    const json = await send('/api/unauthorized', (x) => {
      x.responseType = 'json'
    })
    expect(json.xhr.response).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(() => json.xhr.responseText).toThrow()
    const buffer = await send('/api/unauthorized', (x) => {
      x.responseType = 'arraybuffer'
    })
    expect(new TextDecoder().decode(buffer.xhr.response as ArrayBuffer)).toContain('auth_required')
    const blob = await send('/api/unauthorized', (x) => {
      x.responseType = 'blob'
    })
    expect(JSON.parse(await (blob.xhr.response as Blob).text()).reason).toBe('unauthorized')
  })

  it('a signed-in 403 Forbidden page is passed through as is', async () => {
    make()
    h.signedIn = true
    const { xhr, log } = await send('/api/forbidden')
    expect(xhr.status).toBe(403)
    expect(xhr.responseText).toContain('403 Forbidden')
    expect(log).toContain('load:4:403')
    expect(h.events).toEqual([])
  })

  it('a network error the probe shows to be a plain failure stays a native error', async () => {
    make()
    h.signedIn = true
    server.use(http.get(`${APP}/api/down`, () => HttpResponse.error()))
    const { xhr, log } = await send('/api/down')
    expect(xhr.status).toBe(0)
    expect(log.some((l) => l.startsWith('error:'))).toBe(true)
    expect(log.some((l) => l.startsWith('load:'))).toBe(false)
    expect(h.events).toEqual([])
  })

  it('out-of-scope 401s are not judged', async () => {
    make()
    server.use(http.get('http://other.test/401', () => HttpResponse.json({}, { status: 401, headers: CORS })))
    const { xhr } = await send('http://other.test/401')
    expect(xhr.status).toBe(401)
    expect(xhr.responseText).toBe('{}')
    expect(h.events).toEqual([])
  })
})

describe('replay', () => {
  it('re-sends the same request after a re-login; the app sees only the final 200, once', async () => {
    make('ok')
    const { xhr, log } = await send(
      '/api/unauthorized',
      (x) => x.setRequestHeader('X-Custom', 'kept'),
      'POST',
      '{"n":1}',
    )
    expect(h.relogins).toBe(1)
    expect(xhr.status).toBe(200)
    expect(JSON.parse(xhr.responseText)).toEqual({ ok: true, case: 'unauthorized' })
    expect(log.filter((l) => l.startsWith('load:'))).toEqual(['load:4:200'])
    expect(log.filter((l) => l.startsWith('loadend'))).toEqual(['loadend:4:200'])
    expect(log.filter((l) => l.startsWith('loadstart'))).toHaveLength(1)
    expect(log.some((l) => l.includes(':401'))).toBe(false)
    expect(seen).toHaveLength(2)
    expect(seen[1]!.get('x-custom')).toBe('kept')
    expect(h.events).toHaveLength(1)
  })

  it('a lost session that re-login cannot fix completes as the synthetic 401', async () => {
    make('fail')
    const { xhr } = await send('/api/unauthorized')
    expect(h.relogins).toBe(1)
    expect(xhr.status).toBe(401)
  })

  it('an object reused from its own loadend handler runs the second request normally', async () => {
    make()
    const xhr = new XMLHttpRequest()
    const statuses: number[] = []
    await new Promise<void>((resolve) => {
      let round = 0
      xhr.onloadend = () => {
        statuses.push(xhr.status)
        if (++round === 1) {
          xhr.open('GET', '/api/ok')
          xhr.send()
        } else resolve()
      }
      xhr.open('GET', '/api/unauthorized')
      xhr.send()
    })
    expect(statuses).toEqual([401, 200])
    expect(xhr.readyState).toBe(4)
  })

  it('abort() while the verdict is pending ends the request the native way', async () => {
    make()
    h.signedIn = false
    let release!: () => void
    probeGate = new Promise<void>((r) => {
      release = r
    })
    const xhr = new XMLHttpRequest()
    const log: string[] = []
    for (const type of TYPES) xhr.addEventListener(type, () => log.push(`${type}:${xhr.readyState}`))
    xhr.open('GET', '/api/network-error')
    xhr.send()
    await new Promise((r) => setTimeout(r, 50))
    expect(log).not.toContain('loadend:4')
    expect(probes).toBe(1)
    xhr.abort()
    expect(log.slice(-3)).toEqual(['readystatechange:4', 'abort:4', 'loadend:4'])
    expect(xhr.readyState).toBe(0)
    release()
    await new Promise((r) => setTimeout(r, 50))
    expect(log.filter((l) => l.startsWith('loadend'))).toHaveLength(1)
  })
})

describe('abort() from a listener of a held event, as it is released', () => {
  it('at readystatechange(2) of a peeked page: readystatechange(4), abort, loadend, and nothing after', async () => {
    make()
    h.signedIn = true
    const xhr = new XMLHttpRequest()
    const log: string[] = []
    for (const type of TYPES)
      xhr.addEventListener(type, () => log.push(`${type}:${xhr.readyState}:${xhr.status}`))
    const ended = new Promise<void>((resolve) => {
      xhr.addEventListener('loadend', () => setTimeout(resolve, 30))
    })
    xhr.onreadystatechange = () => {
      if (xhr.readyState === 2) xhr.abort()
    }
    xhr.open('GET', '/api/forbidden')
    xhr.send()
    await ended
    expect(log.slice(log.indexOf('readystatechange:2:403'))).toEqual([
      'readystatechange:2:403',
      'readystatechange:4:0',
      'abort:4:0',
      'loadend:4:0',
    ])
    expect(xhr.readyState).toBe(0)
  })
})

describe('with axios on top (axios sends through XHR)', () => {
  it('reports one lost session once and rejects with the axios-shaped error', async () => {
    make()
    const instance = axios.create()
    const eject = axiosReauth(instance, h.reauth)
    const error = await instance.get('/api/unauthorized').catch((e: unknown) => e)
    expect(isAuthRequiredError(error)).toBe(true)
    expect(axios.isAxiosError(error)).toBe(true)
    expect((error as { response: { status: number } }).response.status).toBe(401)
    expect(h.events).toHaveLength(1)
    expect(h.relogins).toBe(1)
    eject()
  })

  it('replays once and resolves with the final data', async () => {
    make('ok')
    const instance = axios.create()
    axiosReauth(instance, h.reauth)
    const res = await instance.get('/api/login-page')
    expect(res.data).toEqual({ ok: true, case: 'login-page' })
    expect(h.events).toHaveLength(1)
    expect(seen).toHaveLength(2)
  })
})

describe('the synthetic 401 through a fetch polyfill built on XHR', () => {
  it('whatwg-fetch gets a 401 Response carrying the marker header and the JSON body', async () => {
    make()
    const response = await (whatwgFetch as typeof fetch)('/api/unauthorized')
    expect(response.status).toBe(401)
    expect(response.headers.get('x-ajax-reauth')).toBe('unauthorized')
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(await response.json()).toEqual({ error: 'auth_required', reason: 'unauthorized' })
    expect(h.events).toHaveLength(1)
  })
})

describe('timeout counts from send(), held time included', () => {
  const TIMED_OUT = ['readystatechange:4:0', 'timeout:4:0', 'loadend:4:0']

  it('held at the gate: times out during the re-login, the native way, and is never sent', async () => {
    makeHeld()
    const flight = h.reauth.relogin().catch(() => {})
    expect(h.reauth.state).toBe('reauthenticating')
    // Old code: no timeout while held; the re-login ending lets it load.
    const end = setTimeout(() => h.finish(true), 400)
    let during = ''
    const t0 = performance.now()
    const { xhr, log } = await send('/api/ok', (x) => {
      x.timeout = 100
      x.addEventListener('timeout', () => {
        during = `${h.reauth.state} after ${Math.round(performance.now() - t0)} ms`
      })
    })
    console.log(`held at the gate, timeout 100 ms: ${during}`)
    expect(during).toMatch(/^reauthenticating /)
    // (happy-dom's open() fires no readystatechange.)
    expect(log).toEqual(['loadstart:1:0', ...TIMED_OUT])
    expect([xhr.readyState, xhr.status, xhr.responseText, xhr.timeout]).toEqual([4, 0, '', 100])
    clearTimeout(end)
    h.finish(true)
    await flight
    await sleep(50)
    expect(seen).toHaveLength(0)
    expect(log.filter((l) => l.startsWith('loadend'))).toHaveLength(1)
  })

  it('a timeout set after send() also counts from send()', async () => {
    makeHeld()
    h.reauth.relogin().catch(() => {})
    const end = setTimeout(() => h.finish(true), 400)
    const xhr = new XMLHttpRequest()
    const ended = new Promise<string>((resolve) => {
      xhr.onloadend = () => resolve(`${xhr.readyState}:${xhr.status}:${h.reauth.state}`)
      xhr.ontimeout = () => resolve('timeout')
    })
    xhr.open('GET', '/api/ok')
    xhr.send()
    await sleep(50)
    xhr.timeout = 80
    expect(await ended).toBe('timeout')
    clearTimeout(end)
  })

  it('held for a re-login after a 401: times out; the flight succeeds and nothing is replayed', async () => {
    makeHeld()
    const end = setTimeout(() => h.finish(true), 400)
    let during = ''
    const { xhr, log } = await send('/api/unauthorized', (x) => {
      x.timeout = 150
      x.addEventListener('timeout', () => {
        during = h.reauth.state
      })
    })
    expect(during).toBe('reauthenticating')
    expect(log.slice(-3)).toEqual(TIMED_OUT)
    expect(log.some((l) => /:(401|200)$/.test(l))).toBe(false)
    expect([xhr.readyState, xhr.status]).toEqual([4, 0])
    clearTimeout(end)
    h.finish(true)
    await sleep(100)
    expect(h.reauth.state).toBe('idle')
    expect(seen).toHaveLength(1)
    expect(h.relogins).toBe(1)
    expect(log.filter((l) => l.startsWith('loadend'))).toHaveLength(1)
    expect(xhr.status).toBe(0)
  })

  it('held for the session probe: times out; the late answer starts no flight', async () => {
    make('fail')
    let release!: () => void
    probeGate = new Promise<void>((r) => {
      release = r
    })
    const end = setTimeout(() => release(), 400)
    const { log } = await send('/api/network-error', (x) => {
      x.timeout = 150
    })
    expect(probes).toBe(1)
    expect(log.slice(-3)).toEqual(TIMED_OUT)
    clearTimeout(end)
    release()
    await sleep(100)
    expect(h.relogins).toBe(0)
    expect(h.events).toEqual([])
    expect(log.filter((l) => l.startsWith('loadend'))).toHaveLength(1)
  })
})

describe('held at the gate', () => {
  it('abort() ends it the native way and leaves it UNSENT; it is never sent', async () => {
    makeHeld()
    const flight = h.reauth.relogin().catch(() => {})
    const xhr = new XMLHttpRequest()
    const log: string[] = []
    for (const type of TYPES) xhr.addEventListener(type, () => log.push(`${type}:${xhr.readyState}`))
    xhr.open('GET', '/api/ok')
    xhr.send()
    // Sent, as far as the app knows: a second send() or a new header is refused as natively.
    expect(() => xhr.send()).toThrow(/state must be OPENED/)
    expect(() => xhr.setRequestHeader('X-Late', '1')).toThrow(/state must be OPENED/)
    xhr.abort()
    expect(log).toEqual(['loadstart:1', 'readystatechange:4', 'abort:4', 'loadend:4'])
    expect(xhr.readyState).toBe(0)
    expect(() => xhr.send()).toThrow(/state must be OPENED/)
    h.finish(true)
    await flight
    await sleep(50)
    expect(seen).toHaveLength(0)
    // open() starts over normally.
    const again = await new Promise<number>((resolve) => {
      xhr.onload = () => resolve(xhr.status)
      xhr.open('GET', '/api/ok')
      xhr.send()
    })
    expect(again).toBe(200)
  })

  it('an object reused after a completed request, aborted at the gate, still ends the native way', async () => {
    makeHeld()
    const xhr = new XMLHttpRequest()
    await new Promise<void>((resolve) => {
      xhr.onloadend = () => resolve()
      xhr.open('GET', '/api/forbidden')
      xhr.send()
    })
    xhr.onloadend = null
    h.reauth.relogin().catch(() => {})
    const log: string[] = []
    for (const type of TYPES) xhr.addEventListener(type, () => log.push(`${type}:${xhr.readyState}`))
    xhr.open('GET', '/api/ok')
    xhr.send()
    xhr.abort()
    expect(log).toEqual(['loadstart:1', 'readystatechange:4', 'abort:4', 'loadend:4'])
    expect(xhr.readyState).toBe(0)
  })

  it('a failed re-login completes it as the synthetic 401 (reason of the flight), loadstart first', async () => {
    makeHeld()
    h.reauth.relogin().catch(() => {})
    const end = setTimeout(() => h.finish(false), 100)
    const { xhr, log } = await send('/api/ok')
    clearTimeout(end)
    expect(xhr.status).toBe(401)
    expect(xhr.getResponseHeader('x-ajax-reauth')).toBe('unauthorized')
    expect(log[0]).toBe('loadstart:1:0')
    expect(log.slice(-4)).toEqual(['readystatechange:4:401', 'load:4:401', 'onload:401', 'loadend:4:401'])
    expect(seen).toHaveLength(0)
  })
})

// happy-dom's XHR fires no upload events: this stand-in fires them as a browser does for a small body, all
// before the response (here within send(), as msw may answer before a timer would run).
const withUploadEvents = (): void => {
  const Base = globalThis.XMLHttpRequest
  class Uploading extends Base {
    override send(body?: Document | XMLHttpRequestBodyInit | null): void {
      super.send(body)
      if (body == null) return
      const total = String(body).length
      const fire = (type: string, loaded: number) =>
        this.upload.dispatchEvent(new ProgressEvent(type, { lengthComputable: true, loaded, total }))
      fire('loadstart', 0)
      for (const type of ['progress', 'load', 'loadend']) fire(type, total)
    }
  }
  vi.stubGlobal('XMLHttpRequest', Uploading)
}

const uploadLog = (log: string[]) => (x: XMLHttpRequest) => {
  for (const type of TYPES)
    x.upload.addEventListener(type, (e) => log.push(`upload.${type}:${(e as ProgressEvent).loaded}`))
}

describe('upload events', () => {
  it('a replayed upload fires its upload events once', async () => {
    withUploadEvents()
    make('ok')
    const uploads: string[] = []
    const { xhr, log } = await send('/api/unauthorized', uploadLog(uploads), 'POST', '{"n":1}')
    expect(xhr.status).toBe(200)
    expect(seen).toHaveLength(2)
    expect(uploads).toEqual(['upload.loadstart:0', 'upload.progress:7', 'upload.load:7', 'upload.loadend:7'])
    expect(log.filter((l) => l.startsWith('loadend'))).toEqual(['loadend:4:200'])
  })

  it('held at the gate, an upload starts within send() and its events still fire once', async () => {
    withUploadEvents()
    makeHeld()
    h.reauth.relogin().catch(() => {})
    setTimeout(() => h.finish(true), 50)
    const uploads: string[] = []
    const { xhr, log } = await send('/api/ok', uploadLog(uploads), 'POST', '{"n":1}')
    expect(xhr.status).toBe(200)
    expect(uploads).toEqual(['upload.loadstart:0', 'upload.progress:7', 'upload.load:7', 'upload.loadend:7'])
    expect(log.filter((l) => l.startsWith('loadstart'))).toHaveLength(1)
  })

  it('held at the gate, a timeout ends the upload too (upload timeout, loadend; then the request)', async () => {
    withUploadEvents()
    makeHeld()
    h.reauth.relogin().catch(() => {})
    const end = setTimeout(() => h.finish(true), 400)
    const all: string[] = []
    const { log } = await send(
      '/api/ok',
      (x) => {
        x.timeout = 100
        uploadLog(all)(x)
        for (const type of TYPES) x.addEventListener(type, () => all.push(type))
      },
      'POST',
      '{"n":1}',
    )
    clearTimeout(end)
    expect(all).toEqual([
      'loadstart',
      'upload.loadstart:0',
      'readystatechange',
      'upload.timeout:0',
      'upload.loadend:0',
      'timeout',
      'loadend',
    ])
    expect(log.slice(-3)).toEqual(['readystatechange:4:0', 'timeout:4:0', 'loadend:4:0'])
  })
})

describe('responseType document', () => {
  it('a 403 sign-in page is detected through the parsed document', async () => {
    make()
    // happy-dom parses every document as XML: the page is well-formed here (Chromium gets the real one).
    server.use(
      http.get(`${APP}/api/xml-login`, () =>
        html(
          '<html><head><title>Sign In</title></head><body><form action="/oauth2/start"></form></body></html>',
          403,
        ),
      ),
    )
    const { xhr } = await send('/api/xml-login', (x) => {
      x.responseType = 'document'
    })
    expect(xhr.status).toBe(401)
    expect(xhr.getResponseHeader('x-ajax-reauth')).toBe('login-page')
    expect(h.events.map((e) => e.reason)).toEqual(['login-page'])
  })

  it('a signed-in 403 Forbidden page reaches the app as its native document', async () => {
    make()
    h.signedIn = true
    const { xhr } = await send('/api/forbidden', (x) => {
      x.responseType = 'document'
    })
    expect(xhr.status).toBe(403)
    expect((xhr.response as Document).documentElement.outerHTML).toContain('403 Forbidden')
    expect(xhr.responseXML).toBe(xhr.response)
    expect(h.events).toEqual([])
  })
})
