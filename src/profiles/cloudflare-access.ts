import type { ProxyProfile } from '../types'
import { never, readAjaxProbe, startsWithAny } from './shared'

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
  probe: { path: '/', read: readAjaxProbe },
  reloginUrl: ({ returnTo }) => returnTo,
})
