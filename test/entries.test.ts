// @vitest-environment happy-dom
// @vitest-environment-options {"url": "http://app.test/app/"}
import { describe, expect, it } from 'vitest'
import * as axiosEntry from '../src/axios'
import * as callbackEntry from '../src/callback'
import * as iife from '../src/iife'
import * as index from '../src/index'
import * as kyEntry from '../src/ky'

/** The values each entry point exports (the types are in api/*.api.md). */
describe('public entry points', () => {
  it("'ajax-reauth' exports the factory, the errors and guards, the profiles, the callback helper", () => {
    expect(Object.keys(index).sort()).toEqual([
      'AUTH_REQUIRED_HEADER',
      'AuthRequiredError',
      'InteractionRequiredError',
      'ReauthConfigError',
      'ReauthError',
      'ReauthQueueFullError',
      'authRequiredReason',
      'authelia',
      'azureEasyAuth',
      'cloudflareAccess',
      'createReauth',
      'googleIap',
      'handleReauthCallback',
      'isAuthRequiredError',
      'isInteractionRequiredError',
      'isReauthConfigError',
      'isReauthError',
      'oauth2Proxy',
      'pomerium',
    ])
    expect(Object.keys(axiosEntry)).toEqual(['axiosReauth'])
    expect(Object.keys(kyEntry)).toEqual(['kyReauth'])
    // The callback page's entry: the helper alone, the same function as the main entry's.
    expect(Object.keys(callbackEntry)).toEqual(['handleReauthCallback'])
    expect(callbackEntry.handleReauthCallback).toBe(index.handleReauthCallback)
  })

  it('an instance has no engine, axios() or kyHooks', () => {
    const reauth = index.createReauth({ crossTab: false })
    for (const key of ['engine', 'axios', 'kyHooks']) expect(key in reauth).toBe(false)
    expect(Object.keys(reauth)).not.toContain('engine')
    expect(kyEntry.kyReauth(reauth)).toBe(kyEntry.kyReauth(reauth))
  })

  it('the IIFE build adds the adapters and takes every profile by name', () => {
    expect(Object.keys(iife).sort()).toEqual([...Object.keys(index), 'axiosReauth', 'kyReauth'].sort())
    for (const name of ['pomerium', 'authelia', 'google-iap', 'cloudflare-access', 'azure-easy-auth']) {
      expect(() => iife.createReauth({ proxy: name as 'oauth2-proxy', crossTab: false })).not.toThrow()
    }
  })
})
