import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentBrowser } from '../../e2e/driver/index'
import type { Browser, BrowserContext, Page } from '../../e2e/driver/types'
import { launch } from '../../e2e/server/browser'
import { BUNDLE, startServer, type TestServer } from './server'

// Which events of which round reach the app, in each browser, against the native XMLHttpRequest of the same
// browser: an object reused from its own `load` handler (round 1's `loadend` comes after round 2 began), a
// request recovered after a failed first attempt (its events never reach the app), an abort at the gate
// with upload listeners. The endpoints are test/browser/server.ts's /held/* proxy (cookie `held=1`).

// Runs in the page: one XMLHttpRequest, every event of it and of its upload logged with the readyState and
// status the app sees then (sizes for the upload's events but progress, whose count depends on timing; no
// readyState for the request's progress: WebKit fires a small body's at LOADING or at DONE, as its throttle
// timer falls, natively too).
const RUNNER = `
window.runEvents = (spec) =>
  new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    const log = []
    const types = ['readystatechange', 'loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend']
    const push = (entry) => {
      if (log[log.length - 1] !== entry) log.push(entry)
    }
    const size = (e) => (e.type === 'progress' ? '' : ':' + e.loaded + '/' + e.total)
    const state = (t) => (t === 'progress' ? '*' : xhr.readyState)
    for (const t of types) xhr.addEventListener(t, () => push(t + ':' + state(t) + ':' + xhr.status))
    if (spec.upload) for (const t of types) xhr.upload.addEventListener(t, (e) => push('upload.' + t + size(e)))
    const body = (b) => (b === undefined ? null : b === 'BIG' ? 'x'.repeat(256 * 1024) : b)
    let round = 1
    if (spec.next) {
      // Reuse from round 1's load (or readystatechange 4) listener: open() and send() round 2 there.
      xhr.addEventListener(spec.next.at || 'load', () => {
        if (round !== 1 || xhr.readyState !== 4) return
        round = 2
        xhr.open(spec.next.method || 'GET', spec.next.url)
        xhr.send(body(spec.next.body))
        push('sent:2')
      })
    }
    const finish = () =>
      setTimeout(async () => {
        // Whatever the machine's load: watch until a re-login is over, then a little longer (a replay).
        for (let i = 0; i < 100 && window.__reauth && window.__reauth.state === 'reauthenticating'; i++)
          await new Promise((r) => setTimeout(r, 50))
        await new Promise((r) => setTimeout(r, 300))
        resolve({ log, reports: window.__reports || [], relogins: window.__relogins || 0 })
      }, 50)
    xhr.addEventListener('loadend', () => {
      if (xhr.readyState === 4 && round === (spec.next ? 2 : 1)) finish()
    })
    if (spec.flight) window.__reauth.relogin().catch(() => {})
    xhr.open(spec.method || 'GET', spec.url)
    if (spec.timeout) xhr.timeout = spec.timeout
    xhr.send(body(spec.body))
    if (spec.abortAfterMs !== undefined) {
      setTimeout(() => {
        xhr.abort()
        push('after-abort:' + xhr.readyState + ':' + xhr.status)
        finish()
      }, spec.abortAfterMs)
    }
  })
`

interface Round {
  url: string
  method?: string
  body?: string
  /** Round 2 only: the listener of round 1 that opens and sends it (default `load`). */
  at?: 'load' | 'readystatechange'
}
interface Spec extends Round {
  upload?: boolean
  /** Round 2, opened and sent from round 1's `load` listener. */
  next?: Round
  /** Start a re-login (`reauth.relogin()`) just before sending: the request waits at the gate. */
  flight?: boolean
  abortAfterMs?: number
  timeout?: number
}
interface Result {
  log: string[]
  reports: string[]
  relogins: number
}

let server: TestServer
let browser: Browser
let context: BrowserContext

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`)
  server = await startServer()
  browser = await launch(currentBrowser())
  context = await browser.newContext()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/**
 * A fresh page, signed in or not (the context's one cookie, set or cleared), untouched (`native`) or with
 * the SDK installed for the /held/oauth2 proxy; its re-login lasts `reloginMs` and signs in.
 */
const open = async (
  mode: 'native' | 'patched',
  signedIn: boolean,
  reloginMs = 100,
  reloginOk = true,
): Promise<Page> => {
  const page = await context.newPage()
  await page.goto(`${server.origin}/`)
  await page.addScriptTag({ content: 'window.__nativeFetch = fetch' })
  await page.addScriptTag({ url: '/ajax-reauth.global.js' })
  await page.addScriptTag({ content: RUNNER })
  await page.evaluate(
    signedIn ? `fetch('/held/login').then((r) => r.text())` : `document.cookie = 'held=; Max-Age=0; Path=/'`,
  )
  if (mode === 'patched') {
    await page.evaluate(`(() => {
      window.__reports = []
      window.__relogins = 0
      const reauth = AjaxReauth.createReauth({
        proxy: AjaxReauth.oauth2Proxy({ prefix: '/held/oauth2' }),
        crossTab: false,
        relogin: async () => {
          window.__relogins++
          await new Promise((r) => setTimeout(r, ${reloginMs}))
          if (!${reloginOk}) throw new Error('re-login refused in this test')
          await window.__nativeFetch('/held/login')
        },
      }).install()
      reauth.onReauthRequired((e) => window.__reports.push(e.reason))
      window.__reauth = reauth
    })()`)
  }
  return page
}

const run = async (
  mode: 'native' | 'patched',
  spec: Spec,
  signedIn: boolean,
  reloginMs?: number,
  reloginOk?: boolean,
): Promise<Result> => {
  const page = await open(mode, signedIn, reloginMs, reloginOk)
  try {
    return (await page.evaluate(`window.runEvents(${JSON.stringify(spec)})`)) as Result
  } finally {
    await page.close()
  }
}

/** How many requests the server saw for this path. */
const hits = (path: string): number => server.seen.filter((s) => s.path === path).length

describe('an XHR reused from its own load handler', () => {
  const spec: Spec = {
    url: '/held/api/first',
    next: { url: '/held/api/upload', method: 'POST', body: 'abc' },
  }

  it("healthy session: round 1's late loadend is the app's, as natively; no session probe", async () => {
    const native = await run('native', spec, true)
    // Every browser fires round 1's loadend after the load listener opened and sent round 2.
    expect(native.log.slice(6, 11)).toEqual([
      'load:4:200',
      'readystatechange:1:0',
      'loadstart:1:0',
      'sent:2',
      'loadend:1:0',
    ])
    const probes = hits('/held/oauth2/auth')
    const uploads = hits('/held/api/upload')
    const patched = await run('patched', spec, true)
    expect(patched.log).toEqual(native.log)
    expect(hits('/held/oauth2/auth') - probes).toBe(0)
    expect(hits('/held/api/upload') - uploads).toBe(1)
    expect(patched.reports).toEqual([])
  })

  it('lost session in round 2 (a POST): replayed once after one re-login; the app sees native events', async () => {
    // Round 1 needs no session (/api/text); round 2 gets the proxy's 401, then its replay the upstream's 200.
    const lost: Spec = { ...spec, url: '/api/text' }
    const native = await run('native', lost, true)
    const uploads = hits('/held/api/upload')
    const patched = await run('patched', lost, false)
    expect(patched.reports).toEqual(['unauthorized'])
    expect(patched.relogins).toBe(1)
    expect(hits('/held/api/upload') - uploads).toBe(2)
    expect(patched.log).toEqual(native.log)
  })

  it("lost session in round 1, replayed: round 2 opened from the replay's load; round 1's loadend follows", async () => {
    const recovered: Spec = {
      url: '/held/api/upload',
      method: 'POST',
      body: 'abc',
      next: { url: '/held/api/second' },
    }
    const native = await run('native', recovered, true)
    const patched = await run('patched', recovered, false)
    expect(patched.reports).toEqual(['unauthorized'])
    expect(native.log).toContain('loadend:1:0')
    expect(patched.log).toEqual(native.log)
  })

  it("the synthetic 401 (re-login failed), round 2 opened from its load: a real 401's events", async () => {
    const real401 = await run('native', { url: '/api/401', next: { url: '/api/text' } }, false)
    const patched = await run(
      'patched',
      { url: '/held/api/lost', next: { url: '/api/text' } },
      false,
      0,
      false,
    )
    expect(patched.reports).toEqual(['unauthorized'])
    expect(real401.log).toContain('loadend:1:0')
    expect(patched.log).toEqual(real401.log)
  })

  it('reused from its readystatechange(4) listener, healthy session: the same events as native', async () => {
    const rsc: Spec = { url: '/held/api/first', next: { url: '/held/api/second', at: 'readystatechange' } }
    const native = await run('native', rsc, true)
    const probes = hits('/held/oauth2/auth')
    const patched = await run('patched', rsc, true)
    expect(patched.log).toEqual(native.log)
    expect(hits('/held/oauth2/auth') - probes).toBe(0)
  })
})

describe('the events of a failed attempt that is replayed never reach the app', () => {
  it("a POST sent on to the provider by the front (CORS failure), then replayed: a healthy call's events", async () => {
    const spec: Spec = { url: '/held/front/upload', method: 'POST', body: 'BIG', upload: true }
    const native = await run('native', spec, true)
    expect(native.log).toContain('upload.load:262144/262144')
    const patched = await run('patched', spec, false)
    expect(patched.reports).toEqual(['network-error'])
    expect(patched.relogins).toBe(1)
    expect(patched.log).toEqual(native.log)
  })
})

describe('a failed attempt whose re-login fails: a real 401, upload included', () => {
  it('a POST sent on to the provider by the front (CORS failure): the upload completes, then the 401', async () => {
    const upload = { method: 'POST', body: 'BIG', upload: true }
    const real401 = await run('native', { url: '/api/401', ...upload }, false)
    const patched = await run('patched', { url: '/held/front/upload', ...upload }, false, 0, false)
    expect(real401.log).toContain('upload.load:262144/262144')
    expect(patched.reports).toEqual(['network-error'])
    expect(patched.log).toEqual(real401.log)
  })
})

describe('a failed attempt that is not replayed: its events in their native place', () => {
  it('a GET with upload listeners that fails as a network error (the probe says signed in)', async () => {
    const spec: Spec = { url: '/held/drop', upload: true }
    const native = await run('native', spec, true)
    const patched = await run('patched', spec, true)
    expect(native.log.slice(-2)).toEqual(['error:4:0', 'loadend:4:0'])
    expect(patched.reports).toEqual([])
    expect(patched.log).toEqual(native.log)
  })
})

describe("ended while held at the gate (abort(), the app's timeout), with upload listeners", () => {
  it('a GET: the same events as a native abort in flight', async () => {
    const native = await run('native', { url: '/held/slow?ms=1000', upload: true, abortAfterMs: 100 }, true)
    const patched = await run(
      'patched',
      { url: '/held/api/gate-abort', upload: true, flight: true, abortAfterMs: 100 },
      true,
      600,
    )
    expect(native.log.at(-1)).toBe('after-abort:0:0')
    expect(patched.log).toEqual(native.log)
    expect(hits('/held/api/gate-abort')).toBe(0)
  })

  it('a GET timing out there: the same events as a native timeout', async () => {
    const native = await run('native', { url: '/held/slow?ms=1000', upload: true, timeout: 200 }, true)
    const patched = await run(
      'patched',
      { url: '/held/api/gate-timeout', upload: true, flight: true, timeout: 200 },
      true,
      600,
    )
    expect(native.log.at(-1)).toBe('loadend:4:0')
    expect(patched.log).toEqual(native.log)
    expect(hits('/held/api/gate-timeout')).toBe(0)
  })

  it('a POST: the upload ends with abort and loadend, then the request (the request error steps)', async () => {
    const patched = await run(
      'patched',
      {
        url: '/held/api/gate-abort',
        method: 'POST',
        body: 'abc',
        upload: true,
        flight: true,
        abortAfterMs: 100,
      },
      true,
      600,
    )
    expect(patched.log).toEqual([
      'readystatechange:1:0',
      'loadstart:1:0',
      'upload.loadstart:0/3',
      'readystatechange:4:0',
      'upload.abort:0/0',
      'upload.loadend:0/0',
      'abort:4:0',
      'loadend:4:0',
      'after-abort:0:0',
    ])
    expect(hits('/held/api/gate-abort')).toBe(0)
  })
})
