import { describe, expect, it } from 'vitest'
import { isReauthConfigError, ReauthConfigError } from '../src/errors'
import { normalizeOptions } from '../src/options'
import { builtinProfiles, oauth2Proxy } from '../src/profiles'

const message = (input: unknown): string => {
  try {
    normalizeOptions(input)
  } catch (error) {
    expect(error).toBeInstanceOf(ReauthConfigError)
    expect(isReauthConfigError(error)).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected a ReauthConfigError')
}

describe('normalizeOptions', () => {
  it('applies the documented defaults', () => {
    expect(normalizeOptions()).toEqual({
      profile: builtinProfiles['oauth2-proxy'],
      scope: { origins: ['same-origin'], include: [], exclude: [] },
      headers: { accept: 'application/json', requestedWith: 'XMLHttpRequest' },
      relogin: 'iframe',
      reloginTimeoutMs: 10_000,
      replay: 'all',
      maxQueue: 200,
      circuit: { failures: 3, windowMs: 60_000, cooldownMs: 30_000 },
      crossTab: true,
      callbackPath: undefined,
    })
  })

  it('accepts every documented value', () => {
    const relogin = async () => {}
    const o = normalizeOptions({
      proxy: 'pomerium',
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
  })

  it('accepts a custom profile object', () => {
    const profile = { ...oauth2Proxy({ prefix: '/sso' }), name: 'mine' }
    expect(normalizeOptions({ proxy: profile }).profile).toBe(profile)
  })

  it.each([
    [{ relogin: 42 }, "relogin: expected 'iframe' | 'popup' | 'redirect' | function, got 42"],
    [{ relogin: 'modal' }, "relogin: expected 'iframe' | 'popup' | 'redirect' | function, got 'modal'"],
    [{ replay: 'some' }, "replay: expected 'all' | 'idempotent' | 'none', got 'some'"],
    [{ maxQueue: -1 }, 'maxQueue: expected an integer ≥ 0, got -1'],
    [{ reloginTimeoutMs: 1.5 }, 'reloginTimeoutMs: expected an integer ≥ 1, got 1.5'],
    [{ circuit: { failures: 0 } }, 'circuit.failures: expected an integer ≥ 1, got 0'],
    [{ headers: { accept: true } }, 'headers.accept: expected a non-empty string | false, got true'],
    [{ scope: { include: [42] } }, 'scope.include: expected an array of strings or RegExps, got [42]'],
    [
      { callbackPath: '//evil.example/cb' },
      "callbackPath: expected a same-origin path starting with '/', got '//evil.example/cb'",
    ],
    [
      { callbackPath: 'https://evil.example/cb' },
      "callbackPath: expected a same-origin path starting with '/'",
    ],
    [
      { proxy: 'oauth3-proxy' },
      "proxy: expected 'oauth2-proxy' | 'pomerium' | 'authelia' | 'google-iap' | 'cloudflare-access' | 'azure-easy-auth' | a profile object, got 'oauth3-proxy'",
    ],
    [{ proxy: { name: 'half' } }, 'proxy: expected'],
    [{ relogn: 'iframe' }, 'relogn: unknown option'],
    [{ circuit: { failure: 3 } }, 'circuit.failure: unknown option'],
    ['iframe', 'options: expected'],
  ])('rejects %j with a message naming the field', (input, expected) => {
    expect(message(input)).toContain(expected)
  })

  it('lists every invalid field at once, with the zod issues kept', () => {
    try {
      normalizeOptions({ relogin: 1, maxQueue: 'x' })
      expect.unreachable()
    } catch (error) {
      const e = error as ReauthConfigError
      expect(e.issues.map((i) => i.path).sort()).toEqual(['maxQueue', 'relogin'])
      expect(e.name).toBe('ReauthConfigError')
    }
  })
})
