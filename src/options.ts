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

const isFn = (v: unknown): boolean => typeof v === 'function'
const pattern = z.union([z.string(), z.instanceof(RegExp)])
const header = z.union([z.string().check(z.minLength(1)), z.literal(false)])
const count = (min: number) => z.number().check(z.int(), z.minimum(min))
const profileShape = z.looseObject({
  name: z.string(),
  ownPaths: z.array(z.string()),
  isSignInUrl: z.custom(isFn),
  isSignInPage: z.custom(isFn),
  isForbiddenPage: z.custom(isFn),
  probe: z.nullable(z.looseObject({ path: z.string(), read: z.custom(isFn) })),
  reloginUrl: z.custom(isFn),
})

const schema = z.strictObject({
  proxy: z.optional(z.union([z.enum(Object.keys(builtinProfiles) as [BuiltinProfileName]), profileShape])),
  scope: z.optional(
    z.strictObject({
      origins: z.optional(z.array(z.string())),
      include: z.optional(z.array(pattern)),
      exclude: z.optional(z.array(pattern)),
    }),
  ),
  headers: z.optional(z.strictObject({ accept: z.optional(header), requestedWith: z.optional(header) })),
  relogin: z.optional(z.union([z.enum(['iframe', 'popup', 'redirect']), z.custom(isFn)])),
  reloginTimeoutMs: z.optional(count(1)),
  replay: z.optional(z.enum(['all', 'idempotent', 'none'])),
  maxQueue: z.optional(count(0)),
  circuit: z.optional(
    z.strictObject({
      failures: z.optional(count(1)),
      windowMs: z.optional(count(0)),
      cooldownMs: z.optional(count(0)),
    }),
  ),
  crossTab: z.optional(z.boolean()),
  callbackPath: z.optional(z.string().check(z.regex(/^\/(?![/\\])/))),
})

/** What each field expects, in the words of the error message. */
const expected: Record<string, string> = {
  proxy: `${Object.keys(builtinProfiles)
    .map((n) => `'${n}'`)
    .join(' | ')} | a profile object`,
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
        // Array elements report their index; the expectation is the array field's.
        const field = issue.path.filter((k) => typeof k === 'string').join('.')
        const expect = expected[field] ?? issue.message
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
    relogin: (o.relogin ?? 'iframe') as ReloginStrategy,
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
