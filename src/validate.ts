import * as z from 'zod/mini'
import type { ReauthOptions, ReloginStrategy } from './options'
import type { ProxyProfile } from './types'

/**
 * The full check of `createReauth()` options, with a message per bad field: one zod (`zod/mini`)
 * schema, the source of every message. Development builds only: options.ts calls it behind the
 * development flag or `process.env.NODE_ENV !== 'production'`, so an app's production bundle drops this
 * module and zod with it (the package is side-effect free; `npm run size` and test/options.test.ts check
 * that none of it is left).
 */

// This module imports nothing of the SDK's at run time: a module shared with the SDK would put zod
// in a chunk the SDK itself imports, and no bundler could drop it. What it needs comes as `Context`.
const MAX_INT = 2 ** 31 - 1

/** What the checks need from the SDK, passed by options.ts. */
export interface Context {
  /** The profile names `proxy` takes here (the IIFE registers more). */
  profileNames(): string[]
  /** For a built-in profile's name: which import to use instead; else undefined. */
  importHint(value: unknown): string | undefined
}

export type Issue = { path: string; message: string }

/** The value as the app wrote it: `NaN`, `'a\r\nb'`, `[42]`, `10n`, never JSON's `null` for NaN. */
export const show = (value: unknown): string => {
  if (typeof value === 'string') return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"')}'`
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'function'
  try {
    if (value && typeof value === 'object' && !(value instanceof RegExp)) return JSON.stringify(value)
  } catch {}
  return String(value)
}

type Says = { error: (issue: { input?: unknown }) => string }
/** zod's `error` param: `expected <what>, got <the value>` (`what` computed when a check fails). */
const expected = (what: string | (() => string)): Says => ({
  error: (issue) => `expected ${typeof what === 'string' ? what : what()}, got ${show(issue.input)}`,
})

/** A schema and what it expects, in the words of its message (an array's message names its item's). */
interface Leaf<T extends z.ZodMiniType = z.ZodMiniType> {
  what: string
  schema: T
}
const leaf = <T extends z.ZodMiniType>(what: string, build: (says: Says) => T): Leaf<T> => ({
  what,
  schema: build(expected(what)),
})

const int = (min: number, max = MAX_INT) =>
  leaf(`an integer from ${min} to ${max}`, (says) => z.int(says).check(z.gte(min, says), z.lte(max, says)))
const list = <T extends z.ZodMiniType>(item: Leaf<T>) =>
  leaf(`an array of ${item.what}`, (says) => z.array(item.schema, says))
const parses = (v: string): boolean => {
  try {
    new URL(v)
    return true
  } catch {
    return false
  }
}
const isFunction = (v: unknown): boolean => typeof v === 'function'

// What `Headers` takes unchanged: Latin-1, no control character but an inner tab, no surrounding space.
const HEADER_VALUE = /^[!-~\x80-\xff](?:[\t -~\x80-\xff]*[!-~\x80-\xff])?$/
const header = leaf(
  'false or a header value (Latin-1, no control characters, no surrounding spaces)',
  (says) => z.union([z.literal(false, says), z.string(says).check(z.regex(HEADER_VALUE, says))], says),
)
const origin = leaf("'same-origin' or an origin http(s)://host[:port]", (says) =>
  z.union(
    [
      z.literal('same-origin', says),
      z.string(says).check(z.refine((v) => /^https?:\/\/[^\s/\\?#@]+\/?$/i.test(v) && parses(v), says)),
    ],
    says,
  ),
)
const isPattern = (v: string): boolean =>
  /^\/(?![/\\])/.test(v) || (/^https?:\/\/[^\s/\\?#]/i.test(v) && parses(v))
const pattern = leaf("a path starting with '/', an http(s) URL or a RegExp", (says) =>
  z.union([z.instanceof(RegExp, says), z.string(says).check(z.refine(isPattern, says))], says),
)

/** A profile object: the name, own paths, the checks and the probe the SDK calls. */
const profile = z.looseObject({
  name: z.string(),
  ownPaths: z.array(z.string()),
  isSignInUrl: z.custom(isFunction),
  isSignInPage: z.custom(isFunction),
  isForbiddenPage: z.custom(isFunction),
  reloginUrl: z.custom(isFunction),
  probe: z.union([z.null(), z.looseObject({ read: z.custom(isFunction) })]),
})
const proxyOf = (ctx: Context) => {
  const { profileNames, importHint } = ctx
  const names = (): string =>
    `${profileNames()
      .map((n) => `'${n}'`)
      .join(' | ')} | a profile object`
  const says: Says = {
    error: (issue) => {
      const hint = importHint(issue.input)
      return hint ? `'${issue.input as string}' is not a name here: ${hint}` : expected(names).error(issue)
    },
  }
  // The profile is checked whole: its message is the option's, not one per field.
  const isProfile = (v: unknown): boolean => z.safeParse(profile, v).success
  return z.union(
    [
      z.string(says).check(z.refine((v) => profileNames().includes(v), says)),
      z.custom<ProxyProfile>(isProfile, says),
    ],
    says,
  )
}
const relogin = leaf("'iframe' | 'popup' | 'redirect' | function", (says) =>
  z.union(
    [
      z.enum(['iframe', 'popup', 'redirect'], says),
      z.custom<Exclude<ReloginStrategy, string>>(isFunction, says),
    ],
    says,
  ),
)
const replay = leaf("'all' | 'idempotent' | 'none'", (says) => z.enum(['all', 'idempotent', 'none'], says))
const boolean = leaf('a boolean', (says) => z.boolean(says))
const callbackPath = leaf("a same-origin path starting with '/'", (says) =>
  z.string(says).check(z.regex(/^\/(?![/\\])/, says)),
)
const wakeFields = { afterMs: z.optional(int(0).schema), holdMs: z.optional(int(0, 30_000).schema) }
const wake = z.union(
  [z.boolean(), z.strictObject(wakeFields)],
  expected('a boolean or an object { afterMs?, holdMs? }'),
)

const optional = <T extends z.ZodMiniType>(l: Leaf<T>) => z.optional(l.schema)
const group = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.optional(z.strictObject(shape, expected(`an object { ${Object.keys(shape).join('?, ')}? }`)))

const SCOPE = {
  origins: optional(list(origin)),
  include: optional(list(pattern)),
  exclude: optional(list(pattern)),
}
const HEADERS = { accept: optional(header), requestedWith: optional(header) }
const CIRCUIT = { failures: optional(int(1)), windowMs: optional(int(0)), cooldownMs: optional(int(0)) }
const shapeOf = (ctx: Context) => ({
  proxy: z.optional(proxyOf(ctx)),
  scope: group(SCOPE),
  headers: group(HEADERS),
  relogin: optional(relogin),
  reloginTimeoutMs: optional(int(1)),
  interactiveTimeoutMs: optional(int(1)),
  replay: optional(replay),
  maxQueue: optional(int(0)),
  circuit: group(CIRCUIT),
  crossTab: optional(boolean),
  callbackPath: optional(callbackPath),
  wake: z.optional(wake),
})
const schemaOf = (ctx: Context) => z.strictObject(shapeOf(ctx), expected('an object'))

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Assert<T extends true> = T
type Group<K extends 'scope' | 'headers' | 'circuit'> = keyof NonNullable<ReauthOptions[K]>
/**
 * The compiler rejects a schema that misses an option of `ReauthOptions` (or a field of a group), has
 * one that `ReauthOptions` does not, or refuses a value of its type.
 */
export type SchemaMatchesOptions = [
  Assert<Same<keyof ReauthOptions, keyof ReturnType<typeof shapeOf>>>,
  Assert<Same<Group<'scope'>, keyof typeof SCOPE>>,
  Assert<Same<Group<'headers'>, keyof typeof HEADERS>>,
  Assert<Same<Group<'circuit'>, keyof typeof CIRCUIT>>,
  Assert<ReauthOptions extends z.input<ReturnType<typeof schemaOf>> ? true : false>,
]

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  )
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * One zod issue in the SDK's words: an unknown key is `<path>: unknown option, got <value>`; a union
 * given an object (`wake: { afterMs: -1 }`) reports the object's own fields, not the union.
 */
const issuesOf = (issue: z.core.$ZodIssue, base: readonly PropertyKey[] = []): Issue[] => {
  const path = [...base, ...issue.path]
  if (issue.code === 'unrecognized_keys') {
    const input = isRecord(issue.input) ? issue.input : {}
    return issue.keys.map((key) => ({
      path: pathOf([...path, key]),
      message: `unknown option, got ${show(input[key])}`,
    }))
  }
  if (issue.code === 'invalid_union' && isRecord(issue.input)) {
    const inside = issue.errors.find(
      (branch) =>
        branch.length > 0 && branch.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'),
    )
    if (inside) return inside.flatMap((i) => issuesOf(i, path))
  }
  return [{ path: pathOf(path) || 'options', message: issue.message }]
}

/**
 * Every problem of the options, each naming the field (down to the array element), what it expects and
 * what it got; empty when they are fine.
 *
 * @example
 * validateOptions({ reloginTimeoutMs: Number.NaN }, { profileNames, importHint })
 * // [{ path: 'reloginTimeoutMs', message: 'expected an integer from 1 to 2147483647, got NaN' }]
 */
export const validateOptions = (input: unknown, ctx: Context): Issue[] => {
  const result = z.safeParse(schemaOf(ctx), input, { reportInput: true })
  return result.success ? [] : result.error.issues.flatMap((issue) => issuesOf(issue))
}
