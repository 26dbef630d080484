import { MAX_DELAY } from './clock'
import type { ReauthOptions } from './options'
import { importHint, profileNames } from './profiles/by-name'

/**
 * The full check of `createReauth()` options, with a message per bad field. Development builds only:
 * options.ts calls it behind `process.env.NODE_ENV !== 'production'`, so an app's production bundle
 * drops this module (a hand-written rule table: the messages are the rules' own, zod/mini added ~4.5 KB
 * min+gz around them for the walk below).
 */

const MAX_INT = MAX_DELAY

/** One option: what it expects (in the words of the error message) and the check. */
interface Rule {
  expected: string
  test: (v: unknown) => boolean
  /** For an array option: the rule of one element, reported with its index. */
  item?: Rule
  /** A message of its own for this value, instead of `expected …, got …`. */
  explain?: (v: unknown) => string | undefined
  /** For an option that may be an object (`wake`): the rule of each field, reported with its path. */
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
/** Built on first use: a bundle that keeps this module (a dev build) pays for the table only when it runs. */
let table: Rules | undefined
const rules = (): Rules => {
  table ??= makeRules()
  return table
}

const makeRules = (): Rules => {
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
  const strategies = oneOf('iframe', 'popup', 'redirect')
  const wakeFields: Record<string, Rule> = {
    afterMs: int(0),
    holdMs: rule(
      'an integer from 0 to 30000',
      (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 30_000,
    ),
  }
  const wake: Rule = {
    expected: 'a boolean or an object { afterMs?, holdMs? }',
    test: (v) => typeof v === 'boolean' || (isRecord(v) && check(v, wakeFields, '').length === 0),
    fields: wakeFields,
  }

  return {
    proxy: {
      get expected() {
        return `${profileNames()
          .map((n) => `'${n}'`)
          .join(' | ')} | a profile object`
      },
      test: (v) => (isString(v) ? profileNames().includes(v) : isProfile(v)),
      explain: (v) => {
        const hint = importHint(v)
        return hint && `'${v as string}' is not a name here: ${hint}`
      },
    },
    scope: { origins: list(origin), include: list(pattern), exclude: list(pattern) },
    headers: { accept: header, requestedWith: header },
    relogin: rule(`${strategies.expected} | function`, (v) => isFn(v) || strategies.test(v)),
    reloginTimeoutMs: int(1),
    interactiveTimeoutMs: int(1),
    replay: oneOf('all', 'idempotent', 'none'),
    maxQueue: int(0),
    circuit: { failures: int(1), windowMs: int(0), cooldownMs: int(0) },
    crossTab: rule('a boolean', (v) => typeof v === 'boolean'),
    callbackPath: rule("a same-origin path starting with '/'", (v) => isString(v) && /^\/(?![/\\])/.test(v)),
    wake,
  }
}

/** The value as the app wrote it: `NaN`, `'a\r\nb'`, `[42]`, `10n`, never JSON's `null` for NaN. */
export const show = (value: unknown): string => {
  if (isString(value)) return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"')}'`
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (typeof value === 'bigint') return `${value}n`
  if (isFn(value)) return 'function'
  try {
    if (value && typeof value === 'object' && !(value instanceof RegExp)) return JSON.stringify(value)
  } catch {}
  return String(value)
}

export type Issue = { path: string; message: string }
const got = (path: string, expected: string, value: unknown): Issue => ({
  path,
  message: `expected ${expected}, got ${show(value)}`,
})

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** The issues of one object against its rules: unknown keys, then each set option that fails. */
const check = (value: Record<string, unknown>, group: Record<string, unknown>, prefix: string): Issue[] => {
  const issues: Issue[] = []
  for (const [key, r] of Object.entries(group)) {
    const v = value[key]
    const path = prefix + key
    if (v === undefined) continue
    if (typeof (r as Rule).test !== 'function') {
      const sub = r as Record<string, Rule>
      if (isRecord(v)) issues.push(...check(v, sub, `${path}.`))
      else issues.push(got(path, `an object { ${Object.keys(sub).join('?, ')}? }`, v))
      continue
    }
    const { test, item, expected, explain, fields } = r as Rule
    if (test(v)) continue
    const own = explain?.(v)
    if (fields && isRecord(v)) {
      issues.push(...check(v, fields, `${path}.`))
    } else if (own) {
      issues.push({ path, message: own })
    } else if (item && Array.isArray(v)) {
      for (const [i, x] of v.entries()) if (!item.test(x)) issues.push(got(`${path}[${i}]`, item.expected, x))
    } else {
      issues.push(got(path, expected, v))
    }
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(group, key))
      issues.push({ path: prefix + key, message: `unknown option, got ${show(value[key])}` })
  }
  return issues
}

/**
 * Every problem of the options, each naming the field (down to the array element), what it expects and
 * what it got; empty when they are fine.
 *
 * @example
 * validateOptions({ reloginTimeoutMs: Number.NaN })
 * // [{ path: 'reloginTimeoutMs', message: 'expected an integer from 1 to 2147483647, got NaN' }]
 */
export const validateOptions = (input: unknown): Issue[] =>
  isRecord(input)
    ? check(input, rules() as unknown as Record<string, unknown>, '')
    : [got('options', 'an object', input)]
