import type { ProxyProfile } from '../types'
import { authelia } from './authelia'
import { azureEasyAuth } from './azure-easy-auth'
import { cloudflareAccess } from './cloudflare-access'
import { googleIap } from './google-iap'
import { oauth2Proxy } from './oauth2-proxy'
import { pomerium } from './pomerium'

/**
 * The built-in profiles by name, for the IIFE build (`proxy: 'pomerium'` there) and the tests. The ESM
 * and CJS builds never import this table, so an app ships only the profile it imports.
 */
export const profileFactories = {
  'oauth2-proxy': oauth2Proxy,
  pomerium,
  authelia,
  'google-iap': googleIap,
  'cloudflare-access': cloudflareAccess,
  'azure-easy-auth': azureEasyAuth,
} satisfies Record<string, () => ProxyProfile>

export type BuiltinProfileName = keyof typeof profileFactories

/** One instance of each built-in profile, by name. */
export const builtinProfiles = /* @__PURE__ */ Object.fromEntries(
  Object.entries(profileFactories).map(([name, create]) => [name, create()]),
) as { [K in BuiltinProfileName]: ProxyProfile }
