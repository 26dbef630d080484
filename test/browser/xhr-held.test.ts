import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../e2e/server/browser'
import { BUNDLE, startServer, type TestServer } from './server'

// Requests the patched XHR holds (at the gate during a re-login, while a verdict, a probe or a re-login runs,
// during a replay), in real Chromium, against the native XMLHttpRequest doing the same thing: the app's
// timeout counts from its send(), upload events fire once per app request, json/document sign-in pages are
// seen, the synthetic 401 carries its marker, abort() at the gate ends the native way.

const WHATWG_FETCH = resolve(import.meta.dirname, '../../node_modules/whatwg-fetch/dist/fetch.umd.js')

// Runs in the page: one XMLHttpRequest, every app-visible event logged with the readyState and status the
// app sees then, and the sizes of the progress events whose sizes do not depend on timing.
const HELD_RUNNER = `
window.runHeld = (spec) =>
  new Promise((resolve) => {
    if (spec.relogin) window.__relogin = spec.relogin
    const xhr = new XMLHttpRequest()
    const log = []
    const types = ['readystatechange', 'loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend']
    const push = (entry) => {
      if (log[log.length - 1] !== entry) log.push(entry)
    }
    const size = (e) => (e.type === 'progress' || e.loaded === undefined ? '' : ':' + e.loaded + '/' + e.total)
    for (const t of types) xhr.addEventListener(t, (e) => push(t + ':' + xhr.readyState + ':' + xhr.status + size(e)))
    if (spec.upload) for (const t of types) xhr.upload.addEventListener(t, (e) => push('upload.' + t + size(e)))
    let stateAtTimeout = null
    xhr.addEventListener('timeout', () => {
      stateAtTimeout = window.__reauth ? window.__reauth.state : 'native'
    })
    let t0 = 0
    let loadends = 0
    xhr.addEventListener('loadend', () => {
      if (loadends++ > 0) return
      const elapsedMs = Math.round(performance.now() - t0)
      const type = xhr.responseType
      let body = null
      if (type === '' || type === 'text') body = xhr.responseText
      else if (type === 'json') body = JSON.stringify(xhr.response)
      else if (type === 'document')
        body = xhr.response ? xhr.response.documentElement.nodeName + ':' + xhr.response.title : null
      const result = {
        log,
        elapsedMs,
        stateAtTimeout,
        readyState: xhr.readyState,
        status: xhr.status,
        timeout: xhr.timeout,
        responseType: type,
        body,
        contentType: xhr.getResponseHeader('content-type'),
        marker: xhr.getResponseHeader('X-Ajax-Reauth'),
        allHeaders: xhr.getAllResponseHeaders(),
      }
      setTimeout(async () => {
        // Whatever the machine's load: watch until the re-login is over, then a little longer (a replay).
        for (let i = 0; i < 100 && window.__reauth && window.__reauth.state === 'reauthenticating'; i++)
          await new Promise((r) => setTimeout(r, 50))
        await new Promise((r) => setTimeout(r, 100))
        result.loadends = loadends
        result.log = log.slice()
        result.stateAfter = window.__reauth ? window.__reauth.state : 'native'
        result.reports = window.__reports || []
        result.relogins = window.__relogins || 0
        resolve(result)
      }, spec.settleMs || 50)
    })
    if (spec.abortAtState !== undefined) {
      xhr.addEventListener('readystatechange', () => {
        if (xhr.readyState !== spec.abortAtState || log.includes('after-abort')) return
        xhr.abort()
        push('after-abort')
      })
    }
    if (spec.flight) window.__reauth.relogin().catch(() => {})
    xhr.open(spec.method || 'GET', spec.url)
    if (spec.responseType) xhr.responseType = spec.responseType
    if (spec.timeout) xhr.timeout = spec.timeout
    t0 = performance.now()
    xhr.send(spec.body === undefined ? null : spec.body === 'BIG' ? 'x'.repeat(256 * 1024) : spec.body)
    if (spec.abortAfterMs !== undefined) {
      setTimeout(() => {
        xhr.abort()
        push('after-abort:' + xhr.readyState + ':' + xhr.status)
        try {
          xhr.send()
        } catch (e) {
          push('send-again:' + e.name)
        }
      }, spec.abortAfterMs)
    }
  })
`

interface Spec {
  url: string
  method?: string
  body?: string
  upload?: boolean
  timeout?: number
  responseType?: XMLHttpRequestResponseType
  /** Start a re-login (`reauth.relogin()`) just before sending: the request waits at the gate. */
  flight?: boolean
  /** How the page's re-login goes: it lasts `ms`, then signs in (`ok`) or fails. */
  relogin?: { ms: number; ok: boolean }
  abortAfterMs?: number
  /** abort() from the app's readystatechange listener at this readyState. */
  abortAtState?: number
  /** How long to keep watching after loadend, and then until the re-login is over (a replay after it). */
  settleMs?: number
}
interface Result {
  log: string[]
  elapsedMs: number
  stateAtTimeout: string | null
  readyState: number
  status: number
  timeout: number
  body: string | null
  contentType: string | null
  marker: string | null
  allHeaders: string
  loadends: number
  stateAfter: string
  reports: string[]
  relogins: number
}

let server: TestServer
let browser: Browser

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`)
  server = await startServer()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A fresh page, untouched (`native`) or with the SDK installed for the /held/oauth2 proxy. */
const open = async (mode: 'native' | 'patched', signedIn = false): Promise<Page> => {
  const page = await browser.newPage()
  await page.goto(`${server.origin}/`)
  await page.addScriptTag({ content: 'window.__NativeXHR = XMLHttpRequest; window.__nativeFetch = fetch' })
  await page.addScriptTag({ url: '/ajax-reauth.global.js' })
  await page.addScriptTag({ content: HELD_RUNNER })
  if (signedIn) await page.evaluate(`fetch('/held/login').then((r) => r.text())`)
  if (mode === 'patched') {
    await page.evaluate(`(() => {
      window.__reports = []
      window.__relogins = 0
      window.__relogin = { ms: 0, ok: false }
      const reauth = AjaxReauth.createReauth({
        proxy: AjaxReauth.oauth2Proxy({ prefix: '/held/oauth2' }),
        crossTab: false,
        relogin: async () => {
          window.__relogins++
          const { ms, ok } = window.__relogin
          await new Promise((r) => setTimeout(r, ms))
          if (!ok) throw new Error('re-login refused in this test')
          await window.__nativeFetch('/held/login')
        },
      }).install()
      reauth.onReauthRequired((e) => window.__reports.push(e.reason))
      window.__reauth = reauth
    })()`)
  }
  return page
}

const run = async (mode: 'native' | 'patched', spec: Spec, signedIn = false): Promise<Result> => {
  const page = await open(mode, signedIn)
  try {
    return (await page.evaluate(`window.runHeld(${JSON.stringify(spec)})`)) as Result
  } finally {
    await page.close()
  }
}

/** How many requests the server saw for this path. */
const hits = (path: string): number => server.seen.filter((s) => s.path === path).length

/** A native XHR timing out against a slow endpoint: the sequence a held request must reproduce. */
const nativeTimeout = async (timeout: number): Promise<Result> => {
  const native = await run('native', { url: '/held/slow?ms=2500', timeout })
  expect(native.log).toEqual([
    'readystatechange:1:0',
    'loadstart:1:0:0/0',
    'readystatechange:4:0',
    'timeout:4:0:0/0',
    'loadend:4:0:0/0',
  ])
  return native
}

const report = (what: string, timeout: number, native: Result, patched: Result): void => {
  console.log(
    `${what}: timeout ${timeout} ms → native timed out after ${native.elapsedMs} ms, patched after ${patched.elapsedMs} ms (SDK state then: ${patched.stateAtTimeout})`,
  )
}

describe("the app's timeout counts from its send(), whatever the SDK is doing", () => {
  it('held at the gate: times out during the re-login as natively; the request is never sent', async () => {
    const native = await nativeTimeout(300)
    const patched = await run('patched', {
      url: '/held/api/gate-timeout',
      timeout: 300,
      flight: true,
      relogin: { ms: 1500, ok: true },
      settleMs: 1800,
    })
    report('held at the gate', 300, native, patched)
    expect(patched.log).toEqual(native.log)
    expect(patched.stateAtTimeout).toBe('reauthenticating')
    expect([patched.readyState, patched.status, patched.body, patched.timeout]).toEqual([4, 0, '', 300])
    // The flight ended (signed in) and the request that timed out was not sent after it.
    expect(patched.stateAfter).toBe('idle')
    expect(hits('/held/api/gate-timeout')).toBe(0)
    expect(patched.loadends).toBe(1)
  })

  it('held for the re-login after a 401: times out during it; nothing is replayed once it succeeds', async () => {
    const native = await nativeTimeout(400)
    const patched = await run('patched', {
      url: '/held/api/relogin-timeout',
      timeout: 400,
      relogin: { ms: 1500, ok: true },
      settleMs: 1800,
    })
    report('held for the re-login', 400, native, patched)
    expect(patched.log).toEqual(native.log)
    expect(patched.stateAtTimeout).toBe('reauthenticating')
    expect(patched.reports).toEqual(['unauthorized'])
    expect(patched.relogins).toBe(1)
    expect(patched.stateAfter).toBe('idle')
    expect(hits('/held/api/relogin-timeout')).toBe(1)
    expect(patched.loadends).toBe(1)
  })

  it('held for the session probe: times out; the late answer starts no re-login', async () => {
    const native = await nativeTimeout(400)
    const page = await open('patched')
    try {
      await page.evaluate(`fetch('/held/control?probeDelay=1500').then((r) => r.text())`)
      const patched = (await page.evaluate(
        `window.runHeld(${JSON.stringify({ url: '/held/drop', timeout: 400, relogin: { ms: 0, ok: false }, settleMs: 1800 })})`,
      )) as Result
      report('held for the probe', 400, native, patched)
      expect(patched.log).toEqual(native.log)
      expect(patched.reports).toEqual([])
      expect(patched.relogins).toBe(0)
      expect(patched.loadends).toBe(1)
    } finally {
      await page.evaluate(`fetch('/held/control?probeDelay=0').then((r) => r.text())`)
      await page.close()
    }
  })

  it('a replay on the wire times out at the deadline of the first send()', async () => {
    const native = await nativeTimeout(900)
    // Re-login 500 ms, then the replay; the upstream answers it 700 ms later, after the app's deadline.
    const patched = await run('patched', {
      url: '/held/api/replay-timeout?ms=700',
      timeout: 900,
      relogin: { ms: 500, ok: true },
      settleMs: 600,
    })
    report('replay on the wire', 900, native, patched)
    expect(patched.log).toEqual(native.log)
    expect(hits('/held/api/replay-timeout')).toBe(2)
    expect(patched.timeout).toBe(900)
    expect(patched.loadends).toBe(1)
  })

  it('released from the gate, the native request gets only what is left of the timeout', async () => {
    const native = await nativeTimeout(900)
    // Held 500 ms, then sent; the endpoint answers 600 ms later, after the app's deadline.
    const patched = await run('patched', {
      url: '/held/slow?ms=600',
      timeout: 900,
      flight: true,
      relogin: { ms: 500, ok: true },
      settleMs: 600,
    })
    report('released from the gate', 900, native, patched)
    expect(patched.log).toEqual(native.log)
    expect(patched.timeout).toBe(900)
    expect(patched.loadends).toBe(1)
  })
})

describe('upload events fire once per app request', () => {
  it('a replayed upload: the same upload and response events as the native upload, once', async () => {
    const spec: Spec = { url: '/held/api/upload', method: 'POST', body: 'BIG', upload: true }
    const native = await run('native', spec, true)
    const before = hits('/held/api/upload')
    const patched = await run('patched', { ...spec, relogin: { ms: 100, ok: true }, settleMs: 200 })
    expect(native.log).toContain('upload.load:262144/262144')
    expect(JSON.parse(native.body!)).toEqual({ received: 256 * 1024 })
    expect(hits('/held/api/upload') - before).toBe(2)
    expect(patched.reports).toEqual(['unauthorized'])
    expect(patched.log).toEqual(native.log)
    expect(patched.body).toBe(native.body)
  })

  it('held at the gate, a timed-out upload ends with upload timeout and loadend, then the request', async () => {
    const patched = await run('patched', {
      url: '/held/api/gate-upload',
      method: 'POST',
      body: 'BIG',
      upload: true,
      timeout: 300,
      flight: true,
      relogin: { ms: 1200, ok: true },
      settleMs: 1500,
    })
    // Chromium's order for a request error during the upload (measured with abort(): upload.abort, loadend):
    // readystatechange(4), the upload's end, then the request's.
    expect(patched.log).toEqual([
      'readystatechange:1:0',
      'loadstart:1:0:0/0',
      'upload.loadstart:0/262144',
      'readystatechange:4:0',
      'upload.timeout:0/0',
      'upload.loadend:0/0',
      'timeout:4:0:0/0',
      'loadend:4:0:0/0',
    ])
    expect(hits('/held/api/gate-upload')).toBe(0)
  })

  it('held at the gate, then sent: upload events once, loadstart within send()', async () => {
    const spec: Spec = { url: '/held/api/upload', method: 'POST', body: 'BIG', upload: true }
    const native = await run('native', spec, true)
    const patched = await run('patched', { ...spec, flight: true, relogin: { ms: 300, ok: true } })
    expect(patched.log).toEqual(native.log)
  })
})

describe('json and document responses are judged too', () => {
  it.each(['json', 'document'] as const)(
    'responseType %s: a 403 sign-in page is a lost session',
    async (type) => {
      const patched = await run('patched', { url: '/held/sign-in-page', responseType: type })
      expect(patched.status).toBe(401)
      expect(patched.reports).toEqual(['login-page'])
      expect(patched.marker).toBe('login-page')
      const expected =
        type === 'json' ? JSON.stringify({ error: 'auth_required', reason: 'login-page' }) : null
      expect(patched.body).toBe(expected)
    },
  )

  it.each([
    ['json', '/held/forbidden-page'],
    ['document', '/held/forbidden-page'],
    ['json', '/held/slow'],
  ] as const)('responseType %s, %s: the app gets the native response', async (responseType, url) => {
    const [native, patched] = await Promise.all([
      run('native', { url, responseType }, true),
      run('patched', { url, responseType }, true),
    ])
    expect(native.body).not.toBeUndefined()
    expect(patched.reports).toEqual([])
    const { log, status, body, contentType, readyState } = patched
    expect({ log, status, body, contentType, readyState }).toEqual({
      log: native.log,
      status: native.status,
      body: native.body,
      contentType: native.contentType,
      readyState: native.readyState,
    })
  })
})

describe('the synthetic 401 carries its marker', () => {
  it('X-Ajax-Reauth on the XHR, and through whatwg-fetch built on it', async () => {
    const xhr = await run('patched', { url: '/held/api/marker' })
    expect(xhr.status).toBe(401)
    expect(xhr.marker).toBe('unauthorized')
    expect(xhr.allHeaders).toBe('content-type: application/json\r\nx-ajax-reauth: unauthorized\r\n')
    const page = await open('patched')
    try {
      await page.addScriptTag({ path: WHATWG_FETCH })
      const res = (await page.evaluate(`WHATWGFetch.fetch('/held/api/marker').then(async (r) => ({
        status: r.status,
        marker: r.headers.get('x-ajax-reauth'),
        type: r.headers.get('content-type'),
        body: await r.json(),
      }))`)) as { status: number; marker: string; type: string; body: unknown }
      expect(res).toEqual({
        status: 401,
        marker: 'unauthorized',
        type: 'application/json',
        body: { error: 'auth_required', reason: 'unauthorized' },
      })
    } finally {
      await page.close()
    }
  })
})

describe('abort() while held at the gate', () => {
  it('ends the native way and leaves readyState 0; a second send() is refused; nothing is sent', async () => {
    const native = await run('native', { url: '/held/slow?ms=1000', abortAfterMs: 100 })
    const patched = await run('patched', {
      url: '/held/api/gate-abort',
      flight: true,
      relogin: { ms: 600, ok: true },
      abortAfterMs: 100,
      settleMs: 800,
    })
    expect(native.log.slice(-5)).toEqual([
      'readystatechange:4:0',
      'abort:4:0:0/0',
      'loadend:4:0:0/0',
      'after-abort:0:0',
      'send-again:InvalidStateError',
    ])
    expect(patched.log).toEqual(native.log)
    expect(patched.stateAfter).toBe('idle')
    expect(hits('/held/api/gate-abort')).toBe(0)
  })
})

describe('abort() from a listener while held events are released', () => {
  it('at readystatechange(2) of a page held for its peek: ends there, as natively', async () => {
    const spec: Spec = { url: '/held/forbidden-page', abortAtState: 2, settleMs: 200 }
    const [native, patched] = await Promise.all([run('native', spec, true), run('patched', spec, true)])
    expect(native.log).toContain('after-abort')
    expect(native.log.slice(-4)).toEqual([
      'readystatechange:4:0',
      'abort:4:0:0/0',
      'loadend:4:0:0/0',
      'after-abort',
    ])
    expect(patched.log).toEqual(native.log)
    expect(patched.readyState).toBe(native.readyState)
  })
})
