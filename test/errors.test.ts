import { describe, expect, it } from 'vitest'
import {
  AuthRequiredError,
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
