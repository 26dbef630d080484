import type { ProxyProfile } from '../types'
import { never, readAjaxProbe, startsWithAny } from './shared'

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
  probe: { path: '/', read: readAjaxProbe },
  reloginUrl: () => '/?gcp-iap-mode=DO_SESSION_REFRESH',
})
