import * as z from 'zod/mini'
import { ReauthConfigError } from './errors'
import { type BuiltinProfileName, builtinProfiles } from './profiles'
import type { ProxyProfile } from './types'
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
   * Which authenticating proxy sits in front of the app: a built-in profile name or a custom profile.
   * @default 'oauth2-proxy'
   * @example createReauth({ proxy: 'pomerium' })
   */
  proxy?: BuiltinProfileName | ProxyProfile
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
   * Headers added to in-scope requests unless the app set them. `false` disables one. A value must be
   * one `Headers` takes as it is: Latin-1, no CR/LF or other control character, no surrounding spaces.
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
  /** A re-login that takes longer fails. An integer from 1 to 2³¹−1 (what `setTimeout` takes). @default 10000 */
  reloginTimeoutMs?: number
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
  replay: 'all' | 'idempotent' | 'none'
  maxQueue: number
  circuit: { failures: number; windowMs: number; cooldownMs: number }
  crossTab: boolean
  callbackPath: string | undefined
  wake: { afterMs: number; holdMs: number } | false
}

// Only strictObject/optional/custom from zod/mini: every other schema kind adds 0.1–0.7 KB min+gz to
// the bundle, and the messages come from the rules below anyway.

/** The largest delay `setTimeout` takes; a larger one overflows and fires after 1 ms. */
const MAX_INT = 2 ** 31 - 1

/** One option: what it expects (in the words of the error message) and the check. */
interface Rule {
  expected: string
  test: (v: unknown) => boolean
  /** For an array option: the rule of one element, reported with its index. */
  item?: Rule
  /** For an option that may be an object: the rule of each field, reported with its path. */
  fields?: Record<string, Rule>
}
type Group = 'scope' | 'headers' | 'circuit'
/**
 * One rule per option. The compiler rejects a table that misses an option of `ReauthOptions` or has
 * one it does not know: a new option cannot be added without its check and its message.
 */
type Rules = { [K in Exclude<keyof ReauthOptions, Group>]-?: Rule } & {
  [K in Group]-?: { [J in keyof NonNullable<ReauthOptions[K]>]-?: Rule }
}

const rule = (expected: string, test: (v: unknown) => boolean): Rule => ({ expected, test })
const isFn = (v: unknown): boolean => typeof v === 'function'
const isString = (v: unknown): v is string => typeof v === 'string'
const oneOf = (...values: string[]): Rule =>
  rule(values.map((v) => `'${v}'`).join(' | '), (v) => values.includes(v as string))
const int = (min: number): Rule =>
  rule(
    `an integer from ${min} to ${MAX_INT}`,
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= MAX_INT,
  )
const list = (item: Rule): Rule => ({
  expected: `an array of ${item.expected}`,
  test: (v) => Array.isArray(v) && v.every(item.test),
  item,
})
const parses = (v: string): boolean => {
  try {
    new URL(v)
    return true
  } catch {
    return false
  }
}
// What `Headers` takes unchanged: Latin-1, no control character but an inner tab, no surrounding space.
const header = rule(
  'false or a header value (Latin-1, no control characters, no surrounding spaces)',
  (v) => v === false || (isString(v) && /^[!-~\x80-\xff](?:[\t -~\x80-\xff]*[!-~\x80-\xff])?$/.test(v)),
)
const origin = rule(
  "'same-origin' or an origin http(s)://host[:port]",
  (v) => v === 'same-origin' || (isString(v) && /^https?:\/\/[^\s/\\?#@]+\/?$/i.test(v) && parses(v)),
)
const pattern = rule(
  "a path starting with '/', an http(s) URL or a RegExp",
  (v) =>
    v instanceof RegExp ||
    (isString(v) && (/^\/(?![/\\])/.test(v) || (/^https?:\/\/[^\s/\\?#]/i.test(v) && parses(v)))),
)
const isProfile = (v: unknown): boolean => {
  const p = v as Record<string, unknown> | null
  return (
    typeof p === 'object' &&
    p !== null &&
    isString(p.name) &&
    Array.isArray(p.ownPaths) &&
    p.ownPaths.every(isString) &&
    ['isSignInUrl', 'isSignInPage', 'isForbiddenPage', 'reloginUrl'].every((k) => isFn(p[k])) &&
    (p.probe === null || (typeof p.probe === 'object' && isFn((p.probe as { read?: unknown }).read)))
  )
}
const wakeFields = {
  afterMs: int(0),
  holdMs: rule(
    'an integer from 0 to 30000',
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 30_000,
  ),
}
const wake: Rule = {
  expected: 'a boolean or an object { afterMs?, holdMs? }',
  test: (v) => {
    if (typeof v === 'boolean') return true
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
    const o = v as Record<string, unknown>
    return Object.keys(o).every(
      (k) =>
        Object.hasOwn(wakeFields, k) &&
        (o[k] === undefined || wakeFields[k as keyof typeof wakeFields].test(o[k])),
    )
  },
  fields: wakeFields,
}
const names = Object.keys(builtinProfiles)
const strategies = oneOf('iframe', 'popup', 'redirect')

const rules: Rules = {
  proxy: rule(
    `${names.map((n) => `'${n}'`).join(' | ')} | a profile object`,
    (v) => names.includes(v as string) || isProfile(v),
  ),
  scope: { origins: list(origin), include: list(pattern), exclude: list(pattern) },
  headers: { accept: header, requestedWith: header },
  relogin: rule(`${strategies.expected} | function`, (v) => isFn(v) || strategies.test(v)),
  reloginTimeoutMs: int(1),
  replay: oneOf('all', 'idempotent', 'none'),
  maxQueue: int(0),
  circuit: { failures: int(1), windowMs: int(0), cooldownMs: int(0) },
  crossTab: rule('a boolean', (v) => typeof v === 'boolean'),
  callbackPath: rule("a same-origin path starting with '/'", (v) => isString(v) && /^\/(?![/\\])/.test(v)),
  wake,
}

const isRule = (r: Rule | Record<string, Rule>): r is Rule => typeof r.test === 'function'
const shape = (group: Record<string, Rule | Record<string, Rule>>): z.ZodMiniType =>
  z.strictObject(
    Object.fromEntries(
      Object.entries(group).map(([key, r]) => [
        key,
        z.optional(isRule(r) ? z.custom(r.test) : shape(r as Record<string, Rule>)),
      ]),
    ),
  )
const schema = shape(rules as unknown as Record<string, Rule | Record<string, Rule>>)

/** The value as the app wrote it: `NaN`, `'a\r\nb'`, `[42]`, `10n`, never JSON's `null` for NaN. */
const show = (value: unknown): string => {
  if (isString(value)) return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"')}'`
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (typeof value === 'bigint') return `${value}n`
  if (isFn(value)) return 'function'
  try {
    if (value && typeof value === 'object' && !(value instanceof RegExp)) return JSON.stringify(value)
  } catch {}
  return String(value)
}

type Issue = { path: string; message: string }
const got = (path: string, expected: string, value: unknown): Issue => ({
  path,
  message: `expected ${expected}, got ${show(value)}`,
})

const issuesOf = (issue: z.core.$ZodIssue, input: unknown): Issue[] => {
  // zod reports a nested issue only under objects it has checked, along keys the rules know.
  let value = input as any
  let r = rules as any
  for (const key of issue.path) {
    value = value[key]
    r = r[key]
  }
  const path = issue.path.join('.')
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: path ? `${path}.${key}` : key,
      message: `unknown option, got ${show(value[key])}`,
    }))
  }
  if (!path) return [got('options', 'an object', value)]
  if (!isRule(r)) return [got(path, `an object { ${Object.keys(r).join('?, ')}? }`, value)]
  const { item, fields } = r as Rule
  if (fields && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
      const field = Object.hasOwn(fields, k) ? fields[k] : undefined
      if (!field) return [{ path: `${path}.${k}`, message: `unknown option, got ${show(v)}` }]
      return v === undefined || field.test(v) ? [] : [got(`${path}.${k}`, field.expected, v)]
    })
  }
  if (item && Array.isArray(value)) {
    return value.flatMap((v, i) => (item.test(v) ? [] : [got(`${path}[${i}]`, item.expected, v)]))
  }
  return [got(path, r.expected, value)]
}

/** The form scope.ts compares with: `new URL()`'s, and a RegExp whose `test()` keeps no state. */
const canonical = (p: UrlPattern): UrlPattern =>
  p instanceof RegExp
    ? new RegExp(p.source, p.flags.replace(/[gy]/g, ''))
    : p[0] === '/'
      ? p
      : new URL(p).href

/**
 * Validate and apply defaults. Throws `ReauthConfigError` naming each bad field (down to the array
 * element), what it expects and what it got.
 *
 * @example
 * normalizeOptions({ reloginTimeoutMs: Number.NaN })
 * // ReauthConfigError: reloginTimeoutMs: expected an integer from 1 to 2147483647 (ms), got NaN
 */
export const normalizeOptions = (input: unknown = {}): NormalizedOptions => {
  const result = z.safeParse(schema, input ?? {})
  if (!result.success) {
    throw new ReauthConfigError(result.error.issues.flatMap((issue) => issuesOf(issue, input)))
  }
  const o = result.data as ReauthOptions
  // zod copies objects; a custom profile keeps its identity (and its prototype, if a class).
  const profile =
    typeof o.proxy === 'object'
      ? (input as { proxy: ProxyProfile }).proxy
      : builtinProfiles[o.proxy ?? 'oauth2-proxy']
  return {
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
    replay: o.replay ?? 'all',
    maxQueue: o.maxQueue ?? 200,
    circuit: {
      failures: o.circuit?.failures ?? 3,
      windowMs: o.circuit?.windowMs ?? 60_000,
      cooldownMs: o.circuit?.cooldownMs ?? 30_000,
    },
    crossTab: o.crossTab ?? true,
    callbackPath: o.callbackPath,
    wake:
      o.wake === false
        ? false
        : {
            afterMs: (typeof o.wake === 'object' ? o.wake.afterMs : undefined) ?? WAKE_AFTER_MS,
            holdMs: (typeof o.wake === 'object' ? o.wake.holdMs : undefined) ?? WAKE_HOLD_MS,
          },
  }
}
