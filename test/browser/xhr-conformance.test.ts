import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentBrowser } from '../../e2e/driver/index'
import type { Browser, BrowserContext, Page } from '../../e2e/driver/types'
import { launch } from '../../e2e/server/browser'
import { BUNDLE, startServer, type TestServer } from './server'

// The same XHR scenarios, run in real Chromium against the native XMLHttpRequest and against the one
// ajax-reauth's install() puts in its place. For everything that is not a lost session the two must be
// indistinguishable to the app.

const RUNNER = readFileSync(resolve(import.meta.dirname, 'runner.js'), 'utf8')

interface Spec {
  url: string
  method?: string
  responseType?: XMLHttpRequestResponseType
  headers?: Record<string, string>
  body?: string
  sync?: boolean
  upload?: boolean
  reuse?: string
  abortAfterMs?: number
}
interface Result {
  log: string[]
  readyState: number
  status: number
  statusText: string
  responseURL: string
  contentType: string | null
  body: string | null
  instanceOfNative: boolean
}

let server: TestServer
let browser: Browser
// One context for every page: nothing here depends on cookies or storage (and a WebKit context is a
// WebDriver session of its own).
let context: BrowserContext
const BROWSER = currentBrowser()

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`)
  server = await startServer()
  browser = await launch(BROWSER)
  context = await browser.newContext()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A fresh page, either untouched (`native`) or with `AjaxReauth.createReauth().install()`. */
const open = async (mode: 'native' | 'patched'): Promise<Page> => {
  const page = await context.newPage()
  await page.goto(`${server.origin}/`)
  await page.addScriptTag({ content: 'window.__NativeXHR = XMLHttpRequest' })
  await page.addScriptTag({ url: '/ajax-reauth.global.js' })
  await page.addScriptTag({ content: RUNNER })
  if (mode === 'patched') {
    await page.evaluate(`(() => {
      window.__reports = []
      const reauth = AjaxReauth.createReauth({
        crossTab: false,
        relogin: async () => { throw new Error('no re-login in this test') },
      }).install()
      reauth.onReauthRequired((e) => window.__reports.push(e.reason))
      window.__reauth = reauth
    })()`)
  }
  return page
}

const run = async (mode: 'native' | 'patched', spec: Spec): Promise<Result & { reports?: string[] }> => {
  const page = await open(mode)
  try {
    const result = (await page.evaluate(`window.runXhr(${JSON.stringify(spec)})`)) as Result & {
      reports?: string[]
    }
    if (mode === 'patched') result.reports = (await page.evaluate('window.__reports')) as string[]
    return result
  } finally {
    await page.close()
  }
}

/** Run on both, check the patch really was in place, and return both results. */
const both = async (spec: Spec) => {
  const [native, patched] = await Promise.all([run('native', spec), run('patched', spec)])
  expect(patched.instanceOfNative).toBe(true)
  const { reports, ...rest } = patched
  expect(reports).toEqual([])
  return { native, patched: rest }
}

describe('patched XHR behaves exactly like the native one', () => {
  it('a normal 200: identical event log, readyState sequence, status and body', async () => {
    const { native, patched } = await both({ url: '/api/json' })
    expect(native.log).toEqual([
      'readystatechange:1:0',
      'onreadystatechange:1:0',
      'loadstart:1:0',
      'readystatechange:2:200',
      'onreadystatechange:2:200',
      'readystatechange:3:200',
      'onreadystatechange:3:200',
      'progress:3:200',
      'readystatechange:4:200',
      'onreadystatechange:4:200',
      'load:4:200',
      'onload:4:200',
      'loadend:4:200',
    ])
    expect(patched).toEqual(native)
  })

  it('an HTML response (held for the body peek, then released) looks native', async () => {
    const { native, patched } = await both({ url: '/api/fragment', headers: { Accept: 'text/html' } })
    expect(native.body).toContain('Items')
    expect(patched).toEqual(native)
  })

  it.each(['', 'text', 'json', 'blob', 'arraybuffer', 'document'] as const)(
    'responseType %j',
    async (responseType) => {
      const url = responseType === 'document' ? '/api/xml' : '/api/json'
      const { native, patched } = await both({ url, responseType })
      expect(native.body).not.toBeNull()
      expect(patched).toEqual(native)
    },
  )

  it('responseURL after a redirect', async () => {
    const { native, patched } = await both({ url: '/api/redirect' })
    expect(native.responseURL).toBe('/api/json')
    expect(patched).toEqual(native)
  })

  it('a synchronous request', async () => {
    const { native, patched } = await both({ url: '/api/json', sync: true })
    expect(native.status).toBe(200)
    expect(native.log).toContain('after-send:4:200')
    expect(patched).toEqual(native)
  })

  it('abort() of a request in flight', async () => {
    const { native, patched } = await both({ url: '/api/slow', abortAfterMs: 100 })
    expect(native.log.slice(-5)).toEqual([
      'readystatechange:4:0',
      'onreadystatechange:4:0',
      'abort:4:0',
      'loadend:4:0',
      'after-abort:0:0',
    ])
    expect(patched).toEqual(native)
  })

  it('one object reused for two requests (readyState reset)', async () => {
    const { native, patched } = await both({ url: '/api/text', reuse: '/api/json' })
    expect(native.log).toContain('first:200:/api/text')
    expect(native.log.filter((l) => l === 'loadstart:1:0')).toHaveLength(2)
    expect(patched).toEqual(native)
  })

  it('upload progress events', async () => {
    const { native, patched } = await both({ url: '/api/upload', method: 'POST', body: 'BIG', upload: true })
    expect(native.log).toContain('upload.progress')
    expect(native.log).toContain('upload.load')
    expect(JSON.parse(native.body!)).toEqual({ received: 256 * 1024 })
    expect(patched).toEqual(native)
  })

  it('download progress of a large body', async () => {
    const { native, patched } = await both({ url: '/api/big', responseType: 'arraybuffer' })
    // Chromium throttles progress events (50 ms) and may flush the last one as readyState turns 4,
    // natively too: compare without progress, and require progress on both.
    // How many progress and LOADING (3) events fire follows how the network chunked the body, which differs
    // between two requests (WebKit especially): compare the sequence with those runs collapsed.
    const noProgress = (log: string[]) =>
      log
        .filter((l) => !l.startsWith('progress:') && !l.startsWith('onprogress:'))
        .filter((l, i, all) => !(l.includes(':3:') && all[i - 2] === l))
    expect(native.log).toContain('progress:3:200')
    expect(patched.log).toContain('progress:3:200')
    expect(noProgress(patched.log)).toEqual(noProgress(native.log))
    expect(patched.body!.length).toBe(512 * 1024)
  })
})

describe('headers on the wire', () => {
  it('the patched XHR adds Accept (oauth2-proxy reads it alone); the native one does not', async () => {
    await run('native', { url: '/api/json?native' })
    await run('patched', { url: '/api/json?patched' })
    const json = server.seen.filter((s) => s.path === '/api/json')
    const native = json.at(-2)!.headers
    const patched = json.at(-1)!.headers
    expect(native['x-requested-with']).toBeUndefined()
    // The default profile (oauth2-proxy) reads Accept alone: no X-Requested-With (src/profiles/oauth2-proxy.ts).
    expect(patched['x-requested-with']).toBeUndefined()
    expect(patched.accept).toBe('application/json')
  })

  it('the patched XHR extends an Accept that admits JSON: the browser joins the two values', async () => {
    await run('patched', { url: '/api/json?extended', headers: { Accept: '*/*' } })
    const json = server.seen.filter((s) => s.path === '/api/json')
    expect(json.at(-1)!.headers.accept).toBe('*/*, application/json')
  })
})

describe('a lost session through the patched XHR', () => {
  it.each([
    ['unauthorized', '/api/401'],
    ['login-page', '/api/login'],
    ['sign-in-redirect', '/api/to-sign-in'],
  ])('%s completes as the synthetic 401 with the native 401 event sequence', async (reason, url) => {
    const [real401, patched] = await Promise.all([
      run('native', { url: '/api/401' }),
      run('patched', { url }),
    ])
    expect(patched.status).toBe(401)
    expect(patched.statusText).toBe('Unauthorized')
    expect(patched.contentType).toBe('application/json')
    expect(JSON.parse(patched.body!)).toEqual({ error: 'auth_required', reason })
    expect(patched.reports).toEqual([reason])
    // Same events, readyStates and statuses as a real JSON 401 from the server, each once.
    expect(patched.log).toEqual(real401.log)
    expect(patched.log.filter((l) => l === 'load:4:401')).toHaveLength(1)
  })

  it.each(['json', 'arraybuffer', 'blob'] as const)(
    'responseType %s gets the JSON body in that form',
    async (type) => {
      const url = type === 'json' ? '/api/401' : '/api/login'
      const patched = await run('patched', { url, responseType: type })
      expect(patched.status).toBe(401)
      expect(JSON.parse(patched.body!)).toEqual({
        error: 'auth_required',
        reason: type === 'json' ? 'unauthorized' : 'login-page',
      })
    },
  )
})
