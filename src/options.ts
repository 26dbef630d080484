import { MAX_DELAY as MAX_INT } from './clock'
import { ReauthConfigError } from './errors'
import { importHint, profileByName, profileNames } from './profiles/by-name'
import type { ProxyProfile } from './types'
import { validateOptions } from './validate'
import { WAKE_AFTER_MS, WAKE_HOLD_MS } from './wake'

/**
 * A string matches a URL as a prefix of its path (`/api/`) or of the whole URL (`https://api.example.com/`):
 * it starts with `/` or is an absolute http(s) URL. A RegExp is tested against the whole URL; its `g`
 * and `y` flags are dropped (they make `test()` stateful, so its answer would flip from call to call).
 */
export type UrlPattern = string | RegExp

/** Context handed to a custom re-login function. */
export interface ReloginContext {
  /** Aborted when the flight times out or the SDK is uninstalled. */
  signal: AbortSignal
  /** The error that started the flight. */
  error: Error
  /** The URL that starts a re-login for the chosen profile, landing back on this app. */
  url: string
  /**
   * A fetch that goes straight to the network, around the SDK: use it for the re-login's own requests
   * (through the patched global `fetch`, an in-scope request would wait at the gate for this very re-login).
   */
  fetch: typeof fetch
}

export type ReloginStrategy = 'iframe' | 'popup' | 'redirect' | ((ctx: ReloginContext) => Promise<void>)

/** Options of `createReauth()`. Every field is optional. */
export interface ReauthOptions {
  /**
   * Which authenticating proxy sits in front of the app: a profile, built in (`oauth2Proxy()`,
   * `pomerium()`, `authelia()`, `googleIap()`, `cloudflareAccess()`, `azureEasyAuth()`, all exported by
   * `ajax-reauth`, so an app ships only the one it imports) or your own. `'oauth2-proxy'` names the
   * default; the IIFE build (`window.AjaxReauth`) also takes the other names (`'pomerium'`, …).
   * @default oauth2Proxy()
   * @example
   * import { createReauth, pomerium } from 'ajax-reauth'
   * createReauth({ proxy: pomerium() })
   */
  proxy?: 'oauth2-proxy' | ProxyProfile
  /**
   * Which requests the SDK touches. Out-of-scope requests go through byte for byte.
   * `origins` lists allowed origins: `'same-origin'` (the page's own) or `scheme://host[:port]` (http or
   * https, no path). `include`/`exclude` match URL prefixes (strings starting with `/`, or absolute
   * http(s) URLs) or RegExps (`g`/`y` flags dropped, see `UrlPattern`). The profile's own endpoints
   * (`/oauth2/*`) are always out of scope.
   * @default { origins: ['same-origin'], include: [], exclude: [] }
   * @example createReauth({ scope: { origins: ['same-origin', 'https://api.example.com'], exclude: ['/public/'] } })
   */
  scope?: { origins?: string[]; include?: UrlPattern[]; exclude?: UrlPattern[] }
  /**
   * Headers the SDK adds to in-scope requests. `false` disables one. A value must be one `Headers` takes
   * as it is: Latin-1, no CR/LF or other control character, no surrounding spaces.
   *
   * `accept` is set where the app set none, and appended (`*\/*` → `*\/*, application/json`) to an app's
   * value that names no other type; it is left alone where the app named a type (`text/html`, Apollo's
   * `application/graphql-response+json`), so a content-negotiating server answers as without the SDK,
   * and on a hypermedia library's request (htmx's `HX-Request`, Unpoly, Turbo Frames, pjax), which wants
   * HTML. `requestedWith` is set only where the app set none.
   * @default { accept: 'application/json', requestedWith: 'XMLHttpRequest' } — `requestedWith` only for
   * proxies that read it (every built-in profile but oauth2-proxy, which reads `Accept` alone: see
   * `ProxyProfile.readsRequestedWith`)
   */
  headers?: { accept?: string | false; requestedWith?: string | false }
  /**
   * How to re-login: a hidden iframe, a popup, a full-page redirect, or your own function.
   * @default 'iframe'
   * @example createReauth({ relogin: async ({ url, signal }) => { await openMyDialog(url, signal) } })
   */
  relogin?: ReloginStrategy
  /**
   * A silent re-login (iframe, redirect, your function) that takes longer fails. An integer from 1 to
   * 2³¹−1 (what `setTimeout` takes). A re-login the user drives (a popup) is bounded by
   * `interactiveTimeoutMs` instead. @default 10000
   */
  reloginTimeoutMs?: number
  /**
   * A re-login the user drives (the popup of `relogin: 'popup'` or of `reauth:interaction-required`'s
   * `start()`) ends when the user signs in or closes the popup; this bounds it in case they do neither:
   * it then fails with `InteractionRequiredError` (`'timeout'`) and the popup closes. Minutes, for a
   * password and a second factor; 10 minutes stays under oauth2-proxy's CSRF cookie (15 minutes), without
   * which the callback fails anyway. An integer from 1 to 2³¹−1. @default 600000
   * @example createReauth({ relogin: 'popup', interactiveTimeoutMs: 300_000 })
   */
  interactiveTimeoutMs?: number
  /**
   * Which requests that failed with a lost session are sent again after a re-login.
   * `'all'`: the proxy rejected them before the upstream saw them. `'idempotent'`: GET, HEAD, OPTIONS, PUT, DELETE.
   * @default 'all'
   */
  replay?: 'all' | 'idempotent' | 'none'
  /**
   * At most this many requests wait for one re-login; more reject with `ReauthQueueFullError`.
   * An integer from 0 to 2³¹−1. @default 200
   */
  maxQueue?: number
  /**
   * `failures` failed re-logins within `windowMs` open the circuit: no re-login for `cooldownMs`.
   * Integers up to 2³¹−1; `failures` ≥ 1, the durations (ms) ≥ 0.
   * @default { failures: 3, windowMs: 60000, cooldownMs: 30000 }
   */
  circuit?: { failures?: number; windowMs?: number; cooldownMs?: number }
  /** Coordinate one re-login across all tabs of the origin (Web Locks + BroadcastChannel). @default true */
  crossTab?: boolean
  /**
   * Same-origin path the re-login lands on (`rd`). Without one, any same-origin page outside the
   * profile's own endpoints counts as success.
   * @example createReauth({ callbackPath: '/reauth-callback.html' })
   */
  callbackPath?: string
  /**
   * The wake-up check: when the page becomes visible after being hidden at least `afterMs`, comes back
   * `online`, or is restored from the back/forward cache, one session probe (one per browser) runs
   * before the app's refetches go out; in-scope requests wait for it at most `holdMs`. A dead session
   * then starts the re-login at once and the held requests go out after it. `false` turns it off
   * (`reauth.check()` still works). Integers (ms): `afterMs` from 0 to 2³¹−1, `holdMs` from 0 to 30000.
   * @default { afterMs: 300000, holdMs: 1500 }
   * @example createReauth({ wake: { afterMs: 60_000 } })
   */
  wake?: boolean | { afterMs?: number; holdMs?: number }
}

/** Options after defaults and validation. */
export interface NormalizedOptions {
  profile: ProxyProfile
  scope: { origins: string[]; include: UrlPattern[]; exclude: UrlPattern[] }
  headers: { accept: string | false; requestedWith: string | false }
  relogin: ReloginStrategy
  reloginTimeoutMs: number
  interactiveTimeoutMs: number
  replay: 'all' | 'idempotent' | 'none'
  maxQueue: number
  circuit: { failures: number; windowMs: number; cooldownMs: number }
  crossTab: boolean
  callbackPath: string | undefined
  wake: { afterMs: number; holdMs: number } | false
}

/** The default bound of a re-login the user drives (`interactiveTimeoutMs`): 10 minutes. */
export const INTERACTIVE_TIMEOUT_MS = 600_000

/** The form scope.ts compares with: `new URL()`'s, and a RegExp whose `test()` keeps no state. */
const canonical = (p: UrlPattern): UrlPattern =>
  p instanceof RegExp
    ? new RegExp(p.source, p.flags.replace(/[gy]/g, ''))
    : p[0] === '/'
      ? p
      : new URL(p).href

/** The profile of `proxy`; a string other than a registered name is a `ReauthConfigError`, also in production. */
const profileOf = (proxy: unknown): ProxyProfile => {
  if (proxy === undefined) return profileByName('oauth2-proxy')!
  if (typeof proxy === 'object' && proxy !== null) return proxy as ProxyProfile
  const named = typeof proxy === 'string' ? profileByName(proxy) : undefined
  if (named) return named
  const hint = importHint(proxy)
  throw new ReauthConfigError([
    {
      path: 'proxy',
      message: hint
        ? `'${proxy as string}' is not a name here: ${hint}`
        : `expected a profile object, got ${String(proxy)}`,
    },
  ])
}

/**
 * The checks a production build keeps: the numbers the timers and the queue compute with (NaN, a
 * negative or an overflowing delay would hang or spin). Everything else is development-only.
 */
const checkNumbers = (o: NormalizedOptions): void => {
  const fields: [string, unknown, number, number?][] = [
    ['reloginTimeoutMs', o.reloginTimeoutMs, 1],
    ['interactiveTimeoutMs', o.interactiveTimeoutMs, 1],
    ['maxQueue', o.maxQueue, 0],
    ['circuit.failures', o.circuit.failures, 1],
    ['circuit.windowMs', o.circuit.windowMs, 0],
    ['circuit.cooldownMs', o.circuit.cooldownMs, 0],
  ]
  // The hold keeps the app's requests at the gate: its documented cap holds in production too.
  if (o.wake) fields.push(['wake.afterMs', o.wake.afterMs, 0], ['wake.holdMs', o.wake.holdMs, 0, 30_000])
  const issues: { path: string; message: string }[] = []
  for (const [path, v, min, max = MAX_INT] of fields)
    if (!(Number.isInteger(v) && (v as number) >= min && (v as number) <= max))
      issues.push({ path, message: `expected an integer from ${min} to ${max}, got ${String(v)}` })
  if (issues.length) throw new ReauthConfigError(issues)
}

/**
 * Validate and apply defaults. In development (the package's `development` build, or
 * `process.env.NODE_ENV !== 'production'`) throws
 * `ReauthConfigError` naming each bad field (down to the array element), what it expects and what it
 * got; a production build checks only a string `proxy` and the numbers (the bundler drops the rest).
 *
 * @example
 * normalizeOptions({ reloginTimeoutMs: Number.NaN })
 * // ReauthConfigError: reloginTimeoutMs: expected an integer from 1 to 2147483647, got NaN
 */
export const normalizeOptions = (input: unknown = {}): NormalizedOptions => {
  // Inline, not in a variable, so each build makes it a constant and drops validate.ts where false:
  // `__AJAX_REAUTH_DEV__` is true in the `development` export condition's build (Vite's dev server,
  // webpack's development mode), false in the default one, where the bundler's NODE_ENV decides;
  // `typeof process`: unbundled ESM in a browser has none. Unbuilt (tests from src/), it is undefined.
  if (
    (typeof __AJAX_REAUTH_DEV__ !== 'undefined' && __AJAX_REAUTH_DEV__) ||
    (typeof process !== 'undefined' && process.env.NODE_ENV !== 'production')
  ) {
    const issues = validateOptions(input ?? {}, { profileNames, importHint })
    if (issues.length) throw new ReauthConfigError(issues)
    return withDefaults(input)
  }
  if (input !== null && typeof input !== 'object') {
    throw new ReauthConfigError([{ path: 'options', message: `expected an object, got ${String(input)}` }])
  }
  const normalized = withDefaults(input)
  checkNumbers(normalized)
  return normalized
}

const withDefaults = (input: unknown): NormalizedOptions => {
  const o = (input ?? {}) as ReauthOptions
  const profile = profileOf(o.proxy)
  const wake = (typeof o.wake === 'object' && o.wake) || {}
  return {
    // A custom profile keeps its identity (and its prototype, if a class).
    profile,
    scope: {
      origins: (o.scope?.origins ?? ['same-origin']).map((v) =>
        v === 'same-origin' ? v : new URL(v).origin,
      ),
      include: (o.scope?.include ?? []).map(canonical),
      exclude: (o.scope?.exclude ?? []).map(canonical),
    },
    headers: {
      accept: o.headers?.accept ?? 'application/json',
      requestedWith:
        o.headers?.requestedWith ?? (profile.readsRequestedWith === false ? false : 'XMLHttpRequest'),
    },
    relogin: o.relogin ?? 'iframe',
    reloginTimeoutMs: o.reloginTimeoutMs ?? 10_000,
    interactiveTimeoutMs: o.interactiveTimeoutMs ?? INTERACTIVE_TIMEOUT_MS,
    replay: o.replay ?? 'all',
    maxQueue: o.maxQueue ?? 200,
    circuit: {
      failures: o.circuit?.failures ?? 3,
      windowMs: o.circuit?.windowMs ?? 60_000,
      cooldownMs: o.circuit?.cooldownMs ?? 30_000,
    },
    crossTab: o.crossTab ?? true,
    callbackPath: o.callbackPath,
    wake: o.wake !== false && {
      afterMs: wake.afterMs ?? WAKE_AFTER_MS,
      holdMs: wake.holdMs ?? WAKE_HOLD_MS,
    },
  }
}
