import http from 'node:http'
import type { ApiResponse, Cookie, PageFunction, WaitOptions } from './types.js'

export const DEFAULT_TIMEOUT_MS = 30_000

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The source of a page function call, for drivers that take a script string. */
export function callSource<A, R>(fn: PageFunction<A, R>, argExpr: string): string {
  return typeof fn === 'string' ? `(${fn})` : `(${fn.toString()})(${argExpr})`
}

/** Polls `check` until it returns true; rejects after the timeout with `what` in the message. */
export async function poll(
  check: () => Promise<boolean>,
  what: string,
  options: WaitOptions = {},
  intervalMs = 25,
): Promise<void> {
  const limit = options.timeout ?? DEFAULT_TIMEOUT_MS
  const end = Date.now() + limit
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new Error(`Timeout ${limit}ms exceeded waiting for ${what}`)
    await sleep(intervalMs)
  }
}

export const urlMatches = (actual: string, expected: string | RegExp): boolean =>
  typeof expected === 'string' ? actual === expected : expected.test(actual)

/** A tiny typed event hub (listeners and one-shot waiters). */
export class Events<M extends Record<string, unknown>> {
  #listeners = new Map<keyof M, ((v: never) => void)[]>()
  on<K extends keyof M>(event: K, listener: (value: M[K]) => void): void {
    const list = this.#listeners.get(event) ?? []
    list.push(listener as (v: never) => void)
    this.#listeners.set(event, list)
  }
  emit<K extends keyof M>(event: K, value: M[K]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) (l as (v: M[K]) => void)(value)
  }
  wait<K extends keyof M>(event: K, options: WaitOptions = {}): Promise<M[K]> {
    const limit = options.timeout ?? DEFAULT_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Timeout ${limit}ms exceeded waiting for event "${String(event)}"`)),
        limit,
      )
      const once = (v: M[K]) => {
        const list = this.#listeners.get(event) ?? []
        list.splice(list.indexOf(once as (v: never) => void), 1)
        clearTimeout(timer)
        resolve(v)
      }
      this.on(event, once)
    })
  }
}

/** The cookies among `all` that a request to `url` would carry (domain, path, secure). */
export function cookiesFor(all: Cookie[], url: string): Cookie[] {
  const u = new URL(url)
  return all.filter((c) => {
    const domain = c.domain.replace(/^\./, '')
    const hostOk = u.hostname === domain || (c.domain.startsWith('.') && u.hostname.endsWith(`.${domain}`))
    return hostOk && u.pathname.startsWith(c.path || '/') && (!c.secure || u.protocol === 'https:')
  })
}

/** Parses a `Set-Cookie` header into a cookie of `url`'s host (enough for the test proxy's cookies). */
export function parseSetCookie(header: string, url: string): Cookie {
  const [pair = '', ...attrs] = header.split(';').map((s) => s.trim())
  const eq = pair.indexOf('=')
  const cookie: Cookie = {
    name: pair.slice(0, eq),
    value: pair.slice(eq + 1),
    domain: new URL(url).hostname,
    path: '/',
  }
  for (const a of attrs) {
    const [k = '', v = ''] = a.split('=')
    const key = k.toLowerCase()
    if (key === 'path') cookie.path = v
    else if (key === 'max-age') cookie.expires = Math.floor(Date.now() / 1000) + Number(v)
    else if (key === 'httponly') cookie.httpOnly = true
    else if (key === 'secure') cookie.secure = true
    else if (key === 'samesite') cookie.sameSite = (v[0]?.toUpperCase() + v.slice(1).toLowerCase()) as 'Lax'
  }
  return cookie
}

/**
 * Playwright's `context.request.get(url, { maxRedirects: 0 })` for the other drivers: a GET from
 * Node with the context's cookies; the answer's `Set-Cookie` is stored in the context (a cookie
 * with Max-Age=0 removes it).
 */
export function nodeGet(
  url: string,
  cookies: Cookie[],
  store: (set: Cookie[]) => Promise<void>,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const cookie = cookiesFor(cookies, url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ')
    const req = http.get(url, { headers: cookie ? { cookie } : {} }, (res) => {
      res.resume()
      res.on('end', async () => {
        const setCookie = res.headers['set-cookie'] ?? []
        await store(setCookie.map((h) => parseSetCookie(h, url)))
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join('\n') : v
        }
        resolve({ status: () => res.statusCode ?? 0, headers: () => headers })
      })
    })
    req.on('error', reject)
  })
}
