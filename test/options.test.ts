import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createScope } from '../src/core/scope'
import { isReauthConfigError, ReauthConfigError } from '../src/errors'
import { normalizeOptions, type ReauthOptions } from '../src/options'
import { oauth2Proxy, pomerium } from '../src/profiles'
import { builtinProfiles } from '../src/profiles/names'

const MAX = 2 ** 31 - 1

const error = (input: unknown): ReauthConfigError => {
  try {
    normalizeOptions(input)
  } catch (e) {
    expect(e).toBeInstanceOf(ReauthConfigError)
    expect(isReauthConfigError(e)).toBe(true)
    return e as ReauthConfigError
  }
  throw new Error(`expected a ReauthConfigError for ${String(input)}`)
}
const message = (input: unknown): string => error(input).message

/** `{ a: { b: value } }` for the path 'a.b'. */
const at = (path: string, value: unknown): Record<string, unknown> =>
  path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>

describe('normalizeOptions', () => {
  it('applies the documented defaults', () => {
    const { profile, ...rest } = normalizeOptions()
    expect(profile.name).toBe('oauth2-proxy')
    expect(Object.keys(profile)).toEqual(Object.keys(builtinProfiles['oauth2-proxy']))
    expect(rest).toEqual({
      scope: { origins: ['same-origin'], include: [], exclude: [] },
      headers: { accept: 'application/json', requestedWith: false },
      relogin: 'iframe',
      reloginTimeoutMs: 10_000,
      interactiveTimeoutMs: 600_000,
      replay: 'all',
      maxQueue: 200,
      circuit: { failures: 3, windowMs: 60_000, cooldownMs: 30_000 },
      crossTab: true,
      callbackPath: undefined,
      wake: { afterMs: 300_000, holdMs: 1500 },
    })
  })

  it('sends X-Requested-With by default only to a proxy that reads it', () => {
    expect(normalizeOptions({ proxy: builtinProfiles.pomerium }).headers.requestedWith).toBe('XMLHttpRequest')
    expect(normalizeOptions({ proxy: 'oauth2-proxy' }).headers.requestedWith).toBe(false)
    const custom = { ...builtinProfiles.pomerium, name: 'mine', readsRequestedWith: undefined }
    expect(normalizeOptions({ proxy: custom }).headers.requestedWith).toBe('XMLHttpRequest')
    expect(normalizeOptions({ headers: { requestedWith: 'XMLHttpRequest' } }).headers.requestedWith).toBe(
      'XMLHttpRequest',
    )
  })

  it('accepts every documented value', () => {
    const relogin = async () => {}
    const o = normalizeOptions({
      proxy: pomerium(),
      scope: {
        origins: ['same-origin', 'https://api.example.com'],
        include: ['/api/', /\/v2\//],
        exclude: ['/public'],
      },
      headers: { accept: false, requestedWith: 'Fetch' },
      relogin,
      reloginTimeoutMs: 5,
      replay: 'idempotent',
      maxQueue: 0,
      circuit: { failures: 1, windowMs: 0, cooldownMs: 10 },
      crossTab: false,
      callbackPath: '/reauth.html',
    })
    expect(o.profile.name).toBe('pomerium')
    expect(o.relogin).toBe(relogin)
    expect(o.headers).toEqual({ accept: false, requestedWith: 'Fetch' })
    expect(o.circuit).toEqual({ failures: 1, windowMs: 0, cooldownMs: 10 })
    expect(o.scope.include).toEqual(['/api/', /\/v2\//])
  })

  it('accepts a custom profile object', () => {
    const profile = { ...oauth2Proxy({ prefix: '/sso' }), name: 'mine' }
    expect(normalizeOptions({ proxy: profile }).profile).toBe(profile)
  })

  it.each([
    [{ relogin: 42 }, "relogin: expected 'iframe' | 'popup' | 'redirect' | function, got 42"],
    [{ relogin: 'modal' }, "relogin: expected 'iframe' | 'popup' | 'redirect' | function, got 'modal'"],
    [{ replay: 'some' }, "replay: expected 'all' | 'idempotent' | 'none', got 'some'"],
    [{ maxQueue: -1 }, `maxQueue: expected an integer from 0 to ${MAX}, got -1`],
    [{ reloginTimeoutMs: 1.5 }, `reloginTimeoutMs: expected an integer from 1 to ${MAX}, got 1.5`],
    [{ circuit: { failures: 0 } }, `circuit.failures: expected an integer from 1 to ${MAX}, got 0`],
    [{ headers: { accept: true } }, 'headers.accept: expected false or a header value', 'got true'],
    [{ scope: { include: 42 } }, 'scope.include: expected an array of', 'got 42'],
    [
      { callbackPath: '//evil.example/cb' },
      "callbackPath: expected a same-origin path starting with '/', got '//evil.example/cb'",
    ],
    [
      { callbackPath: 'https://evil.example/cb' },
      "callbackPath: expected a same-origin path starting with '/'",
    ],
    [{ proxy: 'oauth3-proxy' }, "proxy: expected 'oauth2-proxy' | a profile object, got 'oauth3-proxy'"],
    [
      { proxy: 'pomerium' },
      "proxy: 'pomerium' is not a name here: import { pomerium } from 'ajax-reauth' and pass proxy: pomerium()",
    ],
    [
      { proxy: 'google-iap' },
      "proxy: 'google-iap' is not a name here: import { googleIap } from 'ajax-reauth' and pass proxy: googleIap()",
    ],
    [{ proxy: { name: 'half' } }, 'proxy: expected', 'got {"name":"half"}'],
    [{ relogn: 'iframe' }, "relogn: unknown option, got 'iframe'"],
    [{ circuit: { failure: 3 } }, 'circuit.failure: unknown option, got 3'],
    ['iframe', "options: expected an object, got 'iframe'"],
  ])('rejects %j with a message naming the field', (input, ...expected) => {
    const text = message(input)
    for (const part of expected) expect(text).toContain(part)
  })

  it('lists every invalid field at once', () => {
    const e = error({ relogin: 1, maxQueue: 'x' })
    expect(e.issues.map((i) => i.path).sort()).toEqual(['maxQueue', 'relogin'])
    expect(e.name).toBe('ReauthConfigError')
  })
})

describe('numbers are bounded', () => {
  const fields: [path: string, min: number, ms: boolean][] = [
    ['reloginTimeoutMs', 1, true],
    ['interactiveTimeoutMs', 1, true],
    ['maxQueue', 0, false],
    ['circuit.failures', 1, false],
    ['circuit.windowMs', 0, true],
    ['circuit.cooldownMs', 0, true],
  ]

  it.each(fields)('%s: NaN, ±Infinity, out of range and non-integers are shown as they are', (path, min) => {
    for (const [value, shown] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
      [MAX + 1, String(MAX + 1)],
      [min - 1, String(min - 1)],
      [min + 0.5, String(min + 0.5)],
      ['10', "'10'"],
      [10n, '10n'],
    ] as const) {
      const text = message(at(path, value))
      expect(text).toContain(`${path}: expected an integer from ${min} to ${MAX}`)
      expect(text).toContain(`got ${shown}`)
    }
  })

  it.each(fields)('%s: both ends of the range are accepted', (path, min) => {
    expect(() => normalizeOptions(at(path, min))).not.toThrow()
    expect(() => normalizeOptions(at(path, MAX))).not.toThrow()
  })

  it('reloginTimeoutMs ≥ 2³¹ is refused: setTimeout would fire it after 1 ms', () => {
    expect(message({ reloginTimeoutMs: 2 ** 31 })).toContain(`got ${2 ** 31}`)
    expect(normalizeOptions({ reloginTimeoutMs: MAX }).reloginTimeoutMs).toBe(MAX)
  })

  it('property: a number is accepted exactly when it is an integer in range, and shown as it is', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.integer({ min: -10, max: 10 }), fc.constantFrom(MAX, MAX + 1, -0)),
        (value) => {
          const valid = Number.isInteger(value) && value >= 1 && value <= MAX
          let text = ''
          try {
            normalizeOptions({ reloginTimeoutMs: value })
          } catch (e) {
            text = (e as Error).message
          }
          expect(text === '').toBe(valid)
          if (!valid) expect(text).toContain(`got ${Object.is(value, -0) ? '0' : String(value)}`)
        },
      ),
    )
  })
})

describe('nested objects', () => {
  it.each([
    ['circuit', 42, 'circuit: expected an object { failures?, windowMs?, cooldownMs? }, got 42'],
    ['scope', 'same-origin', "scope: expected an object { origins?, include?, exclude? }, got 'same-origin'"],
    ['headers', false, 'headers: expected an object { accept?, requestedWith? }, got false'],
    ['circuit', null, 'circuit: expected an object'],
  ])('%s: %j is reported in words, never as "Invalid input"', (path, value, expected) => {
    const text = message({ [path]: value })
    expect(text).toContain(expected)
    expect(text).not.toContain('Invalid input')
  })
})

describe('header values', () => {
  it.each([
    ['a CR/LF (header injection)', 'application/json\r\nX-Evil: 1', "'application/json\\r\\nX-Evil: 1'"],
    ['a lone LF', 'a\nb', "'a\\nb'"],
    ['a NUL', 'a\u0000b', "'a\\u0000b'"],
    ['a character outside Latin-1', 'application/json ✓', "'application/json ✓'"],
    ['an emoji', '🙂', "'🙂'"],
    ['the empty string', '', "''"],
    ['only spaces', '   ', "'   '"],
    ['a leading space', ' application/json', "' application/json'"],
    ['a trailing tab', 'XMLHttpRequest\t', "'XMLHttpRequest\\t'"],
  ])('rejects %s, showing the value escaped', (_label, value, shown) => {
    for (const field of ['accept', 'requestedWith'] as const) {
      const text = message({ headers: { [field]: value } })
      expect(text).toContain(`headers.${field}: expected false or a header value`)
      expect(text).toContain(`got ${shown}`)
      expect(text).not.toMatch(/[\r\n]/)
    }
  })

  it('accepts what Headers accepts: Latin-1, inner spaces and tabs', () => {
    const value = 'application/json; q=0.9,\ttext/plain; charset=iso-8859-1; x=café'
    expect(normalizeOptions({ headers: { accept: value } }).headers.accept).toBe(value)
    expect(() => new Headers({ accept: value })).not.toThrow()
  })

  it('every value it accepts is one Headers takes unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 8 }), (value) => {
        let ok = true
        try {
          normalizeOptions({ headers: { requestedWith: value } })
        } catch {
          ok = false
        }
        if (ok) expect(new Headers({ 'x-requested-with': value }).get('x-requested-with')).toBe(value)
      }),
    )
  })
})

describe('scope.origins', () => {
  it.each([
    'api.example.com',
    'https://api.example.com//',
    'https://api.example.com/api',
    'https://api.example.com?x',
    'https://api.example.com#x',
    'https://user@api.example.com',
    'https://api.example.com:99999',
    'https://',
    'ftp://files.example.com',
    'https://api example.com',
    '*',
    '',
  ])('rejects %j, naming the element', (origin) => {
    const e = error({ scope: { origins: ['same-origin', origin] } })
    expect(e.issues).toHaveLength(1)
    expect(e.message).toContain(`scope.origins[1]: expected 'same-origin' or an origin http(s)://host[:port]`)
    expect(e.message).toContain(`got '${origin}'`)
  })

  it('rejects a non-string element and a non-array', () => {
    expect(message({ scope: { origins: [42] } })).toContain('scope.origins[0]: expected')
    expect(message({ scope: { origins: 'same-origin' } })).toContain(
      "scope.origins: expected an array of 'same-origin' or an origin",
    )
  })

  it('accepts scheme://host[:port] (a lone trailing / too) and stores the canonical origin', () => {
    const o = normalizeOptions({
      scope: {
        origins: ['same-origin', 'HTTPS://API.Example.com', 'http://localhost:8080/', 'https://[::1]:3000'],
      },
    })
    expect(o.scope.origins).toEqual([
      'same-origin',
      'https://api.example.com',
      'http://localhost:8080',
      'https://[::1]:3000',
    ])
  })
})

describe('scope.include / scope.exclude', () => {
  it.each(['api/', '//cdn.example.com/', 'api.example.com/v1', 'ftp://x.example/', 'https://', ''])(
    'rejects the string %j',
    (pattern) => {
      for (const field of ['include', 'exclude'] as const) {
        const text = message({ scope: { [field]: ['/ok/', pattern] } })
        expect(text).toContain(
          `scope.${field}[1]: expected a path starting with '/', an http(s) URL or a RegExp`,
        )
        expect(text).toContain(`got '${pattern}'`)
      }
    },
  )

  it('rejects other types, showing each', () => {
    const e = error({ scope: { include: [42, /ok/, null] } })
    expect(e.issues.map((i) => i.path)).toEqual(['scope.include[0]', 'scope.include[2]'])
    expect(e.message).toContain('got 42')
    expect(e.message).toContain('got null')
  })

  it('accepts paths, absolute URLs (canonical form) and RegExps', () => {
    const o = normalizeOptions({
      scope: { include: ['/api/', 'https://API.example.com/v1/', 'http://localhost:3000'], exclude: [/x/i] },
    })
    expect(o.scope.include).toEqual(['/api/', 'https://api.example.com/v1/', 'http://localhost:3000/'])
    expect(o.scope.exclude).toEqual([/x/i])
  })

  it('neutralises the g and y flags: a stateful test() would flip its answer on every call', () => {
    const global = /\/api\//g
    const sticky = /https:\/\/app\.example\.com\/private/y
    const o = normalizeOptions({ scope: { include: [global], exclude: [sticky] } })
    const [include] = o.scope.include as RegExp[]
    const [exclude] = o.scope.exclude as RegExp[]
    expect(include!.flags).toBe('')
    expect(exclude!.flags).toBe('')
    expect(include!.source).toBe(global.source)
    // The app's own RegExp objects are left alone.
    expect(global.flags).toBe('g')

    const page = 'https://app.example.com/app/'
    const g = globalThis as { location?: unknown }
    const before = g.location
    g.location = new URL(page)
    try {
      const scope = createScope(o, o.profile)
      const answers = [1, 2, 3, 4].map(() => scope.test('https://app.example.com/api/items'))
      expect(answers).toEqual([true, true, true, true])
      const excluded = [1, 2, 3].map(() => scope.test('https://app.example.com/private/api/x'))
      expect(excluded).toEqual([false, false, false])
    } finally {
      g.location = before
    }
  })
})

describe('every message names the field path and shows the value', () => {
  const odd = Symbol('odd')
  const cases: [path: string, value: unknown, shown: string][] = [
    ['proxy', 42, '42'],
    ['scope.origins', [odd], 'Symbol(odd)'],
    ['scope.include', [undefined], 'undefined'],
    ['headers.accept', 0, '0'],
    ['headers.requestedWith', ['x'], "['x']"],
    ['relogin', null, 'null'],
    ['reloginTimeoutMs', Number.NaN, 'NaN'],
    ['interactiveTimeoutMs', 0, '0'],
    ['replay', 'ALL', "'ALL'"],
    ['maxQueue', Number.POSITIVE_INFINITY, 'Infinity'],
    ['circuit.windowMs', -5, '-5'],
    ['crossTab', 'yes', "'yes'"],
    ['callbackPath', 'cb.html', "'cb.html'"],
    ['wake', 'yes', "'yes'"],
    ['wake.holdMs', 30_001, '30001'],
    ['wake.afterMs', Number.NaN, 'NaN'],
  ]
  it.each(cases)('%s', (path, value, shown) => {
    const e = error(at(path, value))
    expect(e.issues).toHaveLength(1)
    expect(e.issues[0]!.path.startsWith(path)).toBe(true)
    expect(e.message).toContain(`got ${shown}`)
  })

  it('every option of ReauthOptions has a rule (the table is checked by the compiler too)', () => {
    const all: Required<ReauthOptions> = {
      proxy: 'oauth2-proxy',
      scope: {},
      headers: {},
      relogin: 'iframe',
      reloginTimeoutMs: 1,
      interactiveTimeoutMs: 1,
      replay: 'all',
      maxQueue: 1,
      circuit: {},
      crossTab: true,
      callbackPath: '/cb',
      wake: {},
    }
    expect(() => normalizeOptions(all)).not.toThrow()
    for (const key of Object.keys(all)) expect(message({ [key]: Symbol('bad') })).toContain(`${key}`)
  })
})

describe('profile names', () => {
  it("'oauth2-proxy' names the default", () => {
    expect(normalizeOptions({ proxy: 'oauth2-proxy' }).profile.name).toBe('oauth2-proxy')
  })

  it('the IIFE build registers every built-in name', async () => {
    const { profileByName, useProfileNames } = await import('../src/profiles/by-name')
    const { profileFactories } = await import('../src/profiles/names')
    useProfileNames(profileFactories)
    try {
      for (const name of Object.keys(profileFactories)) {
        expect(normalizeOptions({ proxy: name }).profile.name).toBe(name)
      }
      expect(message({ proxy: 'oauth3-proxy' })).toContain(
        "proxy: expected 'oauth2-proxy' | 'pomerium' | 'authelia' | 'google-iap' | 'cloudflare-access' | 'azure-easy-auth' | a profile object, got 'oauth3-proxy'",
      )
    } finally {
      useProfileNames({})
    }
    expect(profileByName('pomerium')).toBeUndefined()
  })
})

describe('in production (NODE_ENV=production)', () => {
  const saved = process.env.NODE_ENV
  beforeEach(() => {
    process.env.NODE_ENV = 'production'
  })
  afterEach(() => {
    process.env.NODE_ENV = saved
  })

  it('keeps the number checks, with their messages', () => {
    expect(message({ reloginTimeoutMs: Number.NaN })).toBe(
      `Invalid ajax-reauth options: reloginTimeoutMs: expected an integer from 1 to ${MAX}, got NaN`,
    )
    expect(error({ maxQueue: -1, circuit: { cooldownMs: MAX + 1 } }).issues.map((i) => i.path)).toEqual([
      'maxQueue',
      'circuit.cooldownMs',
    ])
    expect(message({ circuit: { failures: '3' } })).toContain('circuit.failures: expected an integer from 1')
    expect(message({ wake: { holdMs: 99_999 } })).toContain(
      'wake.holdMs: expected an integer from 0 to 30000',
    )
  })

  it('keeps the profile check: a string names which import to use', () => {
    expect(message({ proxy: 'pomerium' })).toContain(
      "proxy: 'pomerium' is not a name here: import { pomerium } from 'ajax-reauth' and pass proxy: pomerium()",
    )
    expect(message({ proxy: 'oauth3-proxy' })).toContain('proxy: expected a profile object')
    expect(message('iframe')).toContain('options: expected an object')
  })

  it('skips the rest (the bundler drops the rule table)', () => {
    expect(() => normalizeOptions({ relogn: 'iframe', replay: 'some' })).not.toThrow()
    expect(normalizeOptions({ proxy: 'oauth2-proxy' }).profile.name).toBe('oauth2-proxy')
  })

  it('an app bundle built for production has no rule table', async () => {
    const { build } = await import('esbuild')
    const bundle = async (env: string): Promise<string> => {
      const out = await build({
        stdin: {
          contents: "import { createReauth } from './src/index'\ncreateReauth().install()",
          resolveDir: `${import.meta.dirname}/..`,
          loader: 'ts',
        },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        // as tsup builds the default entry (the `development` build sets it to true)
        define: { 'process.env.NODE_ENV': JSON.stringify(env), __AJAX_REAUTH_DEV__: 'false' },
        write: false,
        logLevel: 'silent',
      })
      return out.outputFiles[0]!.text
    }
    const [production, development] = await Promise.all([bundle('production'), bundle('development')])
    expect(development.includes('unknown option')).toBe(true)
    expect(production.includes('unknown option')).toBe(false)
    expect(production.includes('a same-origin path')).toBe(false)
    expect(production.includes('expected an integer from')).toBe(true)
    // zod (an issue code of its own) is in the development bundle only
    expect(development.includes('invalid_union')).toBe(true)
    expect(production.includes('invalid_union')).toBe(false)
    // nor the other development-only message (coordinator/index.ts)
    expect(development.includes('which runs your relogin function')).toBe(true)
    expect(production.includes('which runs your relogin function')).toBe(false)
  })
})
