import type { ProxyProfile } from '../types'
import { never, readIdentityProbe, startsWithAny } from './shared'

/**
 * Google Cloud IAP answers `X-Requested-With: XMLHttpRequest` (and every POST) with 401. Its session
 * refresh is a popup to `/?gcp-iap-mode=DO_SESSION_REFRESH`, polled with the Ajax header until it stops
 * answering 401.
 */
export const googleIap = (): ProxyProfile => ({
  name: 'google-iap',
  ownPaths: ['/_gcp_iap/'],
  isSignInUrl: (url) =>
    url.hostname === 'accounts.google.com' ||
    startsWithAny(url.pathname, ['/_gcp_iap/']) ||
    url.searchParams.has('gcp-iap-mode'),
  isSignInPage: never,
  isForbiddenPage: never,
  isOwnUnauthorized: ({ body }) => /^\s*Invalid IAP credentials/i.test(body),
  // IAP answers `?gcp-iap-mode=IDENTITY` itself, on any path: the user's identity as JSON
  // (https://cloud.google.com/iap/docs/special-urls-howto); without a session, a 401 to the Ajax header.
  probe: { path: '/?gcp-iap-mode=IDENTITY', read: readIdentityProbe },
  reloginUrl: () => '/?gcp-iap-mode=DO_SESSION_REFRESH',
})
