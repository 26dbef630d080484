import * as z from 'zod/mini'
import { ReauthConfigError } from './errors'
import { type BuiltinProfileName, builtinProfiles } from './profiles'
import type { ProxyProfile } from './types'

/** A string matches a URL as a prefix of its path (`/api/`) or of the whole URL (`https://api.example.com/`). */
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
   * `origins` lists allowed origins (`'same-origin'` is the page's own); `include`/`exclude` match
   * URL prefixes (strings) or RegExps. The profile's own endpoints (`/oauth2/*`) are always out of scope.
   * @default { origins: ['same-origin'], include: [], exclude: [] }
   * @example createReauth({ scope: { origins: ['same-origin', 'https://api.example.com'], exclude: ['/public/'] } })
   */
  scope?: { origins?: string[]; include?: UrlPattern[]; exclude?: UrlPattern[] }
  /**
   * Headers added to in-scope requests unless the app set them. `false` disables one.
   * @default { accept: 'application/json', requestedWith: 'XMLHttpRequest' }
   */
  headers?: { accept?: string | false; requestedWith?: string | false }
  /**
   * How to re-login: a hidden iframe, a popup, a full-page redirect, or your own function.
   * @default 'iframe'
   * @example createReauth({ relogin: async ({ url, signal }) => { await openMyDialog(url, signal) } })
   */
  relogin?: ReloginStrategy
  /** A re-login that takes longer fails. @default 10000 */
  reloginTimeoutMs?: number
  /**
   * Which requests that failed with a lost session are sent again after a re-login.
   * `'all'`: the proxy rejected them before the upstream saw them. `'idempotent'`: GET, HEAD, OPTIONS, PUT, DELETE.
   * @default 'all'
   */
  replay?: 'all' | 'idempotent' | 'none'
  /** At most this many requests wait for one re-login; more reject with `ReauthQueueFullError`. @default 200 */
  maxQueue?: number
  /**
   * `failures` failed re-logins within `windowMs` open the circuit: no re-login for `cooldownMs`.
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
}

// Only strictObject/optional/custom from zod/mini: every other schema kind adds 0.1–0.7 KB min+gz to
// the bundle, and the messages come from `expected` below anyway.
const is = <T>(check: (v: unknown) => boolean) => z.optional(z.custom<T>(check))
const isFn = (v: unknown): boolean => typeof v === 'function'
const oneOf =
  (...values: unknown[]) =>
  (v: unknown): boolean =>
    values.includes(v)
const isInt =
  (min: number) =>
  (v: unknown): boolean =>
    Number.isInteger(v) && (v as number) >= min
const isHeader = (v: unknown): boolean => v === false || (typeof v === 'string' && v.length > 0)
const arrayOf =
  (check: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    Array.isArray(v) && v.every(check)
const isPattern = (v: unknown): boolean => typeof v === 'string' || v instanceof RegExp
const isProfile = (v: unknown): boolean => {
  const p = v as Record<string, unknown> | null
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.name === 'string' &&
    arrayOf((x) => typeof x === 'string')(p.ownPaths) &&
    ['isSignInUrl', 'isSignInPage', 'isForbiddenPage', 'reloginUrl'].every((k) => isFn(p[k])) &&
    (p.probe === null || (typeof p.probe === 'object' && isFn((p.probe as { read?: unknown }).read)))
  )
}
const names = Object.keys(builtinProfiles)

const schema = z.strictObject({
  proxy: is<BuiltinProfileName | ProxyProfile>((v) => names.includes(v as string) || isProfile(v)),
  scope: z.optional(
    z.strictObject({
      origins: is<string[]>(arrayOf((v) => typeof v === 'string')),
      include: is<UrlPattern[]>(arrayOf(isPattern)),
      exclude: is<UrlPattern[]>(arrayOf(isPattern)),
    }),
  ),
  headers: z.optional(
    z.strictObject({ accept: is<string | false>(isHeader), requestedWith: is<string | false>(isHeader) }),
  ),
  relogin: is<ReloginStrategy>((v) => isFn(v) || oneOf('iframe', 'popup', 'redirect')(v)),
  reloginTimeoutMs: is<number>(isInt(1)),
  replay: is<NormalizedOptions['replay']>(oneOf('all', 'idempotent', 'none')),
  maxQueue: is<number>(isInt(0)),
  circuit: z.optional(
    z.strictObject({
      failures: is<number>(isInt(1)),
      windowMs: is<number>(isInt(0)),
      cooldownMs: is<number>(isInt(0)),
    }),
  ),
  crossTab: is<boolean>((v) => typeof v === 'boolean'),
  callbackPath: is<string>((v) => typeof v === 'string' && /^\/(?![/\\])/.test(v)),
})

/** What each field expects, in the words of the error message. */
const expected: Record<string, string> = {
  proxy: `${names.map((n) => `'${n}'`).join(' | ')} | a profile object`,
  relogin: `'iframe' | 'popup' | 'redirect' | function`,
  replay: `'all' | 'idempotent' | 'none'`,
  reloginTimeoutMs: 'an integer ≥ 1',
  maxQueue: 'an integer ≥ 0',
  'circuit.failures': 'an integer ≥ 1',
  'circuit.windowMs': 'an integer ≥ 0',
  'circuit.cooldownMs': 'an integer ≥ 0',
  'headers.accept': 'a non-empty string | false',
  'headers.requestedWith': 'a non-empty string | false',
  'scope.origins': "an array of origins or 'same-origin'",
  'scope.include': 'an array of strings or RegExps',
  'scope.exclude': 'an array of strings or RegExps',
  crossTab: 'a boolean',
  callbackPath: "a same-origin path starting with '/'",
}

const show = (value: unknown): string => {
  if (typeof value === 'function') return 'function'
  if (typeof value === 'string') return `'${value}'`
  if (value instanceof RegExp) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const at = (root: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as any)[k] : undefined), root)

/**
 * Validate and apply defaults. Throws `ReauthConfigError` naming each bad field, what it expects and
 * what it got.
 */
export const normalizeOptions = (input: unknown = {}): NormalizedOptions => {
  const result = z.safeParse(schema, input ?? {})
  if (!result.success) {
    throw new ReauthConfigError(
      result.error.issues.map((issue) => {
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : []
        const path = issue.path.join('.') || (keys.length ? '' : 'options')
        if (keys.length) {
          return { path: [path, keys[0]].filter(Boolean).join('.'), message: 'unknown option' }
        }
        const expect = expected[path] ?? issue.message
        return { path, message: `expected ${expect}, got ${show(at(input, issue.path))}` }
      }),
    )
  }
  const o = result.data
  return {
    // zod copies objects; a custom profile keeps its identity (and its prototype, if a class).
    profile:
      typeof o.proxy === 'object'
        ? (input as { proxy: ProxyProfile }).proxy
        : builtinProfiles[o.proxy ?? 'oauth2-proxy'],
    scope: {
      origins: o.scope?.origins ?? ['same-origin'],
      include: o.scope?.include ?? [],
      exclude: o.scope?.exclude ?? [],
    },
    headers: {
      accept: o.headers?.accept ?? 'application/json',
      requestedWith: o.headers?.requestedWith ?? 'XMLHttpRequest',
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
  }
}
