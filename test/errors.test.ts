import { describe, expect, it } from 'vitest'
import {
  AUTH_REQUIRED_HEADER,
  AuthRequiredError,
  authRequiredReason,
  authRequiredResponse,
  isAuthRequiredError,
  isReauthConfigError,
  isReauthError,
  ReauthConfigError,
  ReauthError,
} from '../src/errors'

describe('errors', () => {
  it('AuthRequiredError carries the contract fields and a 401 JSON response', async () => {
    const cause = new TypeError('Failed to fetch')
    const e = new AuthRequiredError({
      reason: 'network-error',
      url: 'https://a.test/api',
      method: 'POST',
      cause,
    })
    expect(e).toBeInstanceOf(Error)
    expect(e).toBeInstanceOf(ReauthError)
    expect(e.name).toBe('AuthRequiredError')
    expect(e.status).toBe(401)
    expect(e.reason).toBe('network-error')
    expect(e.url).toBe('https://a.test/api')
    expect(e.method).toBe('POST')
    expect(e.cause).toBe(cause)
    expect(e.message).toBe('Authentication required (network-error): POST https://a.test/api')
    expect(e.response?.status).toBe(401)
    expect(e.response?.statusText).toBe('Unauthorized')
    expect(e.response?.headers.get('content-type')).toBe('application/json')
    expect(e.response?.headers.get('x-ajax-reauth')).toBe('network-error')
    expect(await e.response?.json()).toEqual({ error: 'auth_required', reason: 'network-error' })
  })

  it('guards work across realms: a plain object with the right name passes', () => {
    const foreign = Object.assign(new Error('x'), { name: 'AuthRequiredError', reason: 'unauthorized' })
    expect(isAuthRequiredError(foreign)).toBe(true)
    expect(isAuthRequiredError(new Error('x'))).toBe(false)
    expect(isAuthRequiredError(null)).toBe(false)
    expect(isAuthRequiredError('AuthRequiredError')).toBe(false)
    expect(isReauthError({ isReauthError: true })).toBe(true)
    expect(isReauthConfigError(Object.assign(new Error(), { name: 'ReauthConfigError' }))).toBe(true)
  })

  it('a config error is not an AuthRequiredError', () => {
    const e = new ReauthConfigError([{ path: 'relogin', message: 'expected x, got 1' }])
    expect(isAuthRequiredError(e)).toBe(false)
    expect(isReauthError(e)).toBe(true)
    expect(e.message).toBe('Invalid ajax-reauth options: relogin: expected x, got 1')
  })
})

describe('authRequiredReason', () => {
  const error = new AuthRequiredError({ reason: 'login-page', url: 'https://a.test/api', method: 'GET' })
  const marked = () =>
    new Response('{"error":"auth_required","reason":"login-page"}', {
      status: 401,
      headers: { 'content-type': 'application/json', 'X-Ajax-Reauth': 'login-page' },
    })

  it('reads the error, its response (brand and header), and a clone of it (header only)', () => {
    expect(authRequiredReason(error)).toBe('login-page')
    expect(authRequiredResponse(error).headers.get(AUTH_REQUIRED_HEADER)).toBe('login-page')
    expect(authRequiredReason(authRequiredResponse(error))).toBe('login-page')
    expect(authRequiredReason(authRequiredResponse(error).clone())).toBe('login-page')
    expect(authRequiredReason(marked())).toBe('login-page')
  })

  it('reads what each client hands over', () => {
    const xhr = {
      status: 401,
      getResponseHeader: (n: string) => (n === 'x-ajax-reauth' ? 'login-page' : null),
    }
    const axiosHeaders = { get: (n: string) => (n === 'x-ajax-reauth' ? 'login-page' : undefined) }
    const shapes: [string, unknown][] = [
      ['XMLHttpRequest / jqXHR', xhr],
      ['ky HTTPError / ofetch FetchError / wretch WretchError', { name: 'HTTPError', response: marked() }],
      [
        'axios error (AxiosHeaders)',
        { isAxiosError: true, response: { status: 401, headers: axiosHeaders } },
      ],
      [
        'axios error (plain headers)',
        { response: { status: 401, headers: { 'X-Ajax-Reauth': 'login-page' } } },
      ],
      [
        'superagent error',
        { status: 401, response: { status: 401, header: { 'x-ajax-reauth': 'login-page' } } },
      ],
      ['graphql-request ClientError', { response: { status: 401, headers: marked().headers } }],
      ['an error with the AuthRequiredError as cause', new Error('wrapped', { cause: error })],
      ['a foreign-realm AuthRequiredError', { name: 'AuthRequiredError', reason: 'login-page' }],
    ]
    for (const [name, shape] of shapes)
      expect([name, authRequiredReason(shape)]).toEqual([name, 'login-page'])
  })

  it('is null for a genuine 401, an unknown marker value, a marker on another status, and non-objects', () => {
    const genuine = new Response('{"error":"auth_required","reason":"unauthorized"}', { status: 401 })
    const unknown = new Response(null, { status: 401, headers: { 'x-ajax-reauth': 'anything' } })
    const ok = new Response(null, { status: 200, headers: { 'x-ajax-reauth': 'unauthorized' } })
    for (const x of [genuine, unknown, ok, null, undefined, 'unauthorized', 401, new Error('x')])
      expect(authRequiredReason(x)).toBeNull()
  })

  it('does not show the brand when the Response is enumerated', () => {
    const res = authRequiredResponse(error)
    expect(Object.keys(res)).toEqual([])
    const brand = Object.getOwnPropertyDescriptor(res, Symbol.for('ajax-reauth.auth-required'))
    expect(brand).toMatchObject({ value: error, enumerable: false })
  })
})
