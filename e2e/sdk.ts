/**
 * The "with the SDK" half: set the built SDK (`window.AjaxReauth`) up in a page of the e2e app and
 * make requests through one adapter. Everything the page sees is returned as plain data.
 */
import { currentBrowser } from './driver/index.js'
import type { Page } from './driver/types.js'

export type Adapter = 'fetch' | 'xhr' | 'axios' | 'ky'
/**
 * Chromium runs every adapter; Firefox and WebKit the two the browser implements (axios and ky sit
 * on XHR and fetch, and the adapters are browser-neutral code): keeps CI within its time budget.
 */
export const ADAPTERS: Adapter[] =
  currentBrowser() === 'chromium' ? ['fetch', 'xhr', 'axios', 'ky'] : ['fetch', 'xhr']

export interface SdkConfig {
  /**
   * fetch, xhr: `reauth.install()` (patches fetch and XMLHttpRequest).
   * axios: `AjaxReauth.axiosReauth(axios.create(), reauth)` only; ky: `ky.create({ hooks: AjaxReauth.kyReauth(reauth), fetch: reauth.fetch })` only,
   * so each adapter is exercised alone. `install: true` adds `install()` to axios and ky too.
   */
  adapter: Adapter
  install?: boolean
  /** JSON-safe `createReauth()` options. */
  options?: Record<string, unknown>
  /**
   * In-page re-login functions (functions cannot cross `page.evaluate`):
   * 'fail' rejects at once; 'held' waits for `releaseRelogin()` then signs in again in an iframe.
   */
  relogin?: 'fail' | 'held'
  /** Options of the built-in profile `options.proxy` names, made in the page: `AjaxReauth.authelia({…})`. */
  proxyOptions?: Record<string, unknown>
}

export interface SdkEvent {
  type: string
  t: number
  reason?: string
  leader?: boolean
  strategy?: string
  error?: string
}

export type Outcome =
  | { ok: true; status: number; data: unknown; ms: number; xhrEvents?: string[] }
  | {
      ok: false
      status: number | null
      /** 'AuthRequiredError' for the SDK's 401 through any client (`authRequiredReason()`). */
      name: string
      clientName?: string
      reason: string | null
      message: string
      code?: string | null
      data?: unknown
      ms: number
      xhrEvents?: string[]
    }

export interface CallInit {
  method?: string
  headers?: Record<string, string>
  body?: string
  redirect?: 'follow' | 'manual'
  /** Abort after this many ms (AbortController), to test aborts during the gate. */
  abortAfterMs?: number
  /** Make the request abortable by aborting every controller in `window.__controllers`. */
  abortable?: boolean
  /**
   * Start the request without transient user activation. Playwright evaluates scripts as a user
   * gesture; opening (and closing) a blank window consumes that activation first.
   */
  noGesture?: boolean
}

/** What the upstream's `/api/items` answers for the test user. */
export const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}

const EVENT_TYPES = [
  'reauth:required',
  'reauth:start',
  'reauth:success',
  'reauth:failure',
  'reauth:interaction-required',
  'circuit:open',
  'circuit:close',
  'request:replayed',
]

/** Create and install the SDK in the current page (after `signIn`), recording every event. */
export async function setupSdk(page: Page, config: SdkConfig): Promise<void> {
  await page.waitForFunction(() => 'AjaxReauth' in window && 'ky' in window && 'axios' in window)
  await page.evaluate(
    ({ config, types }) => {
      const w = window as any
      const R = w.AjaxReauth
      const events: any[] = []
      const options: Record<string, unknown> = { ...config.options }
      if (config.proxyOptions) {
        const factory = String(options.proxy).replace(/-(\w)/g, (_: string, c: string) => c.toUpperCase())
        options.proxy = R[factory](config.proxyOptions)
      }
      if (config.relogin === 'fail') {
        options.relogin = async () => {
          throw new Error('re-login disabled by the test')
        }
      }
      if (config.relogin === 'held') {
        w.__hold = new Promise<void>((r) => {
          w.__release = r
        })
        options.relogin = async ({ url, signal }: { url: string; signal: AbortSignal }) => {
          await w.__hold
          await new Promise<void>((resolve, reject) => {
            const f = document.createElement('iframe')
            f.style.display = 'none'
            const done = (err?: unknown) => {
              f.remove()
              if (err) reject(err)
              else resolve()
            }
            f.onload = () => {
              try {
                // Landed back on the app (any page of it: `rd` is the page's path at the flight's start).
                const path = f.contentWindow?.location.pathname
                if (path && path !== 'blank' && !path.startsWith('/oauth2/')) done()
              } catch {
                done(new Error('iframe ended on another origin'))
              }
            }
            signal.addEventListener('abort', () => done(signal.reason), { once: true })
            f.src = url
            document.body.append(f)
          })
        }
      }
      const reauth = R.createReauth(options)
      for (const type of types) {
        reauth.on(type, (e: any) => {
          events.push({
            type,
            t: performance.now(),
            reason: e?.reason,
            leader: e?.leader,
            strategy: e?.strategy,
            error: e?.error ? `${e.error.name}: ${e.error.message}` : undefined,
          })
          if (type === 'reauth:interaction-required') w.__start = e.start
        })
      }
      if (config.adapter === 'fetch' || config.adapter === 'xhr' || config.install) reauth.install()
      w.__axios = w.axios.create()
      if (config.adapter === 'axios') R.axiosReauth(w.__axios, reauth)
      // The page's ky is ky 1, which hands no network failure to hooks: its documented setup adds the
      // SDK's fetch (src/ky.ts).
      w.__ky =
        config.adapter === 'ky' ? w.ky.create({ hooks: R.kyReauth(reauth), fetch: reauth.fetch }) : w.ky
      w.__controllers = new Set<AbortController>()
      w.__sdk = { reauth, events }
      w.__startCall = (adapter: string, url: string, init: CallInit): number => {
        const w = window as any
        w.__calls ??= []
        if (init.noGesture && (navigator as any).userActivation?.isActive) {
          window.open('about:blank', '_blank')?.close()
        }
        const t0 = performance.now()
        const ms = () => Math.round(performance.now() - t0)
        const ctrl = new AbortController()
        w.__controllers.add(ctrl)
        if (init.abortAfterMs !== undefined) setTimeout(() => ctrl.abort(), init.abortAfterMs)
        const signal = init.abortable || init.abortAfterMs !== undefined ? ctrl.signal : undefined
        const parse = (text: string): unknown => {
          try {
            return JSON.parse(text)
          } catch {
            return text.slice(0, 200)
          }
        }
        // A lost session reads as the SDK's 401 through every client (ky's HTTPError, the fetch 401):
        // these scenarios look at the SDK's outcome, `clientName` keeps the client's own error name.
        const lostReason = (x: unknown): string | null => R.authRequiredReason(x)
        const failure = (e: any, extra: Record<string, unknown> = {}) => ({
          ok: false,
          status: e?.response?.status ?? e?.status ?? null,
          name: lostReason(e) ? 'AuthRequiredError' : String(e?.name ?? 'Error'),
          clientName: String(e?.name ?? 'Error'),
          reason: e?.reason ?? lostReason(e),
          message: String(e?.message ?? e),
          code: e?.code ?? null,
          data: e?.response?.data ?? null,
          ms: ms(),
          ...extra,
        })
        let p: Promise<unknown>
        if (adapter === 'fetch') {
          p = fetch(url, {
            ...(init.method ? { method: init.method } : {}),
            ...(init.headers ? { headers: init.headers } : {}),
            ...(init.body !== undefined ? { body: init.body } : {}),
            ...(init.redirect ? { redirect: init.redirect } : {}),
            ...(signal ? { signal } : {}),
          }).then(
            async (r) => {
              const text = r.type === 'opaqueredirect' ? '' : await r.text()
              return r.ok
                ? { ok: true, status: r.status, data: parse(text), ms: ms() }
                : {
                    ok: false,
                    status: r.status,
                    name: lostReason(r)
                      ? 'AuthRequiredError'
                      : r.type === 'opaqueredirect'
                        ? 'opaqueredirect'
                        : 'HttpStatus',
                    reason: lostReason(r),
                    message: `HTTP ${r.status}`,
                    data: parse(text),
                    ms: ms(),
                  }
            },
            (e) => failure(e),
          )
        } else if (adapter === 'xhr') {
          p = new Promise((resolve) => {
            const x = new XMLHttpRequest()
            const events: string[] = []
            x.open(init.method ?? 'GET', url)
            for (const [k, v] of Object.entries(init.headers ?? {})) x.setRequestHeader(k, v)
            signal?.addEventListener('abort', () => x.abort())
            for (const t of ['load', 'error', 'abort', 'timeout', 'loadend']) {
              x.addEventListener(t, () => {
                events.push(t)
                if (t !== 'loadend') return
                const ok = x.status >= 200 && x.status < 300
                resolve(
                  ok
                    ? { ok: true, status: x.status, data: parse(x.responseText), ms: ms(), xhrEvents: events }
                    : {
                        ok: false,
                        status: x.status,
                        name: events.includes('abort')
                          ? 'AbortError'
                          : events.includes('error')
                            ? 'XhrError'
                            : 'HttpStatus',
                        reason: (parse(x.responseText) as any)?.reason ?? null,
                        message: `XHR status ${x.status}`,
                        data: parse(x.responseText),
                        ms: ms(),
                        xhrEvents: events,
                      },
                )
              })
            }
            x.send(init.body ?? null)
          })
        } else if (adapter === 'axios') {
          p = w.__axios
            .request({
              url,
              method: init.method ?? 'GET',
              ...(init.headers ? { headers: init.headers } : {}),
              ...(init.body !== undefined ? { data: init.body } : {}),
              ...(signal ? { signal } : {}),
            })
            .then(
              (r: any) => ({ ok: true, status: r.status, data: r.data, ms: ms() }),
              (e: any) => failure(e),
            )
        } else {
          p = w
            .__ky(url, {
              method: init.method ?? 'GET',
              ...(init.headers ? { headers: init.headers } : {}),
              ...(init.body !== undefined ? { body: init.body } : {}),
              ...(init.redirect ? { redirect: init.redirect } : {}),
              ...(signal ? { signal } : {}),
            })
            .then(
              async (r: Response) => ({ ok: true, status: r.status, data: parse(await r.text()), ms: ms() }),
              (e: any) => failure(e),
            )
        }
        const entry: { settled: boolean; result: unknown; promise: Promise<unknown> } = {
          settled: false,
          result: null,
          promise: p,
        }
        p.then((r) => {
          entry.settled = true
          entry.result = r
        })
        w.__calls.push(entry)
        return w.__calls.length - 1
      }
      // A real button whose click handler calls the interaction event's start() (user gesture).
      const b = document.createElement('button')
      b.id = 'signin-again'
      b.textContent = 'Sign in again'
      b.onclick = () => {
        w.__startResult = 'pending'
        w.__start().then(
          () => {
            w.__startResult = 'ok'
          },
          (e: Error) => {
            w.__startResult = `failed: ${e.name}: ${e.message}`
          },
        )
      }
      document.body.append(b)
    },
    { config, types: EVENT_TYPES },
  )
}

/** Start a request in the page without waiting; `awaitCall(page, id)` collects it. */
export async function startCall(
  page: Page,
  adapter: Adapter,
  url: string,
  init: CallInit = {},
): Promise<number> {
  const [id] = await startCalls(page, adapter, [{ url, init }])
  return id as number
}

/** Start several requests in the same task (all are sent before any answer can arrive). */
export function startCalls(
  page: Page,
  adapter: Adapter,
  list: { url: string; init?: CallInit }[],
): Promise<number[]> {
  return page.evaluate(
    ({ adapter, list }) => list.map(({ url, init }) => (window as any).__startCall(adapter, url, init ?? {})),
    { adapter, list },
  )
}

/**
 * Wait for a started call (at most `limitMs`); `'pending'` when it has not settled by then.
 * `noGesture`: wait through an evaluate without user activation (Chromium's and Firefox's own
 * evaluate is a user gesture, which would let a popup strategy open its window).
 */
export async function awaitCall(
  page: Page,
  id: number,
  limitMs = 20_000,
  noGesture = false,
): Promise<Outcome | 'pending'> {
  if (noGesture) {
    return page.evaluateWithoutGesture<Outcome | 'pending'>(
      `Promise.race([window.__calls[${id}].promise, new Promise((r) => setTimeout(() => r('pending'), ${limitMs}))])`,
    )
  }
  return page.evaluate(
    async ({ id, limitMs }) => {
      const entry = (window as any).__calls[id]
      return Promise.race([entry.promise, new Promise((r) => setTimeout(() => r('pending'), limitMs))])
    },
    { id, limitMs },
  ) as Promise<Outcome | 'pending'>
}

/** One request through an adapter, awaited. */
export async function call(page: Page, adapter: Adapter, url: string, init: CallInit = {}): Promise<Outcome> {
  const id = await startCall(page, adapter, url, init)
  const r = await awaitCall(page, id, 20_000, init.noGesture === true)
  if (r === 'pending') throw new Error(`${adapter} ${url} did not settle within 20 s`)
  return r
}

export function events(page: Page): Promise<SdkEvent[]> {
  return page.evaluate(() => (window as any).__sdk.events as SdkEvent[])
}

/** The types of the recorded events, in order. */
export async function eventTypes(page: Page): Promise<string[]> {
  return (await events(page)).map((e) => e.type)
}

export function countOf(list: SdkEvent[], type: string): number {
  return list.filter((e) => e.type === type).length
}

export async function waitForEvent(page: Page, type: string, count = 1, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    ({ type, count }) => (window as any).__sdk.events.filter((e: any) => e.type === type).length >= count,
    { type, count },
    { timeout },
  )
}

export function sdkState(page: Page): Promise<string> {
  return page.evaluate(() => (window as any).__sdk.reauth.state as string)
}

/** Lets a `relogin: 'held'` re-login go on. */
export function releaseRelogin(page: Page): Promise<void> {
  return page.evaluate(() => (window as any).__release())
}
