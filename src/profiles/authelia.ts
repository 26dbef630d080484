import type { ProxyProfile } from '../types'
import { hasTitle, readAjaxProbe } from './shared'

/**
 * Authelia answers Ajax requests (`X-Requested-With: XMLHttpRequest`, or an `Accept` without text/html)
 * with 401 and a `Location` to its portal; re-login navigates there through the app's own URL.
 */
export const authelia = (): ProxyProfile => ({
  name: 'authelia',
  ownPaths: [],
  isSignInUrl: (url) =>
    url.searchParams.has('rd') && /^\/?$/.test(url.pathname) && url.hostname.startsWith('auth'),
  isSignInPage: (html) => hasTitle(html, /^login - authelia$|authelia/i),
  isForbiddenPage: (html) => hasTitle(html, /^403 forbidden$/i),
  // Its 401 to Ajax still carries the portal in `Location`.
  isOwnUnauthorized: ({ location }) => {
    try {
      return !!location && new URL(location, 'http://x').searchParams.has('rd')
    } catch {
      return false
    }
  },
  probe: { path: '/', read: readAjaxProbe },
  reloginUrl: ({ returnTo }) => returnTo,
})
