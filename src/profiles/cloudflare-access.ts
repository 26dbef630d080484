import type { ProxyProfile } from '../types'
import { never, readIdentityProbe, startsWithAny } from './shared'

/**
 * Cloudflare Access answers `X-Requested-With: XMLHttpRequest` with 401; without it, a 302 to
 * `<team>.cloudflareaccess.com` that fails CORS. Re-login is a reload.
 */
export const cloudflareAccess = (): ProxyProfile => ({
  name: 'cloudflare-access',
  ownPaths: ['/cdn-cgi/access/'],
  isSignInUrl: (url) =>
    url.hostname.endsWith('.cloudflareaccess.com') || startsWithAny(url.pathname, ['/cdn-cgi/access/login']),
  isSignInPage: never,
  isForbiddenPage: never,
  // Access answers it itself on the application's domain: the user's identity as JSON, from the
  // `CF_Authorization` cookie (https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/application-token/,
  // `identity_nonce`; https://documentation.breadnet.co.uk/kb/cloudflare/cloudflare-cdn-cgi-endpoints/).
  probe: { path: '/cdn-cgi/access/get-identity', read: readIdentityProbe },
  reloginUrl: ({ returnTo }) => returnTo,
})
