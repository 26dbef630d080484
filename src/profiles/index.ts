import { authelia } from './authelia'
import { azureEasyAuth } from './azure-easy-auth'
import { cloudflareAccess } from './cloudflare-access'
import { googleIap } from './google-iap'
import { oauth2Proxy } from './oauth2-proxy'
import { pomerium } from './pomerium'

export { authelia, azureEasyAuth, cloudflareAccess, googleIap, oauth2Proxy, pomerium }

/** Profiles selectable by name in `createReauth({ proxy })`. */
export const builtinProfiles = {
  'oauth2-proxy': oauth2Proxy(),
  pomerium: pomerium(),
  authelia: authelia(),
  'google-iap': googleIap(),
  'cloudflare-access': cloudflareAccess(),
  'azure-easy-auth': azureEasyAuth(),
}

export type BuiltinProfileName = keyof typeof builtinProfiles
