import type { ProbeResult, ProxyProfile } from '../types'
import { hasTitle } from './shared'

/** Options of `authelia()`. */
export interface AutheliaProfileOptions {
  /**
   * A same-origin path behind Authelia that the app answers without a redirect (an API health route):
   * the session probe. Authelia's own endpoints (`/api/state`, `/api/verify`) live on the portal's origin,
   * which sends no CORS headers, so the probe goes through the forward-auth of the app's origin.
   * @default '/' (a redirect there is then read as no answer: it may be the app's own `/` → `/app/`)
   * @example authelia({ probePath: '/api/health' })
   */
  probePath?: string
}

/**
 * A probe through Authelia's forward-auth, sent with `X-Requested-With`: Authelia answers no session with
 * a 401 (nginx's documented `error_page 401 =302` turns it into a redirect to the portal); any other
 * answer came from the app, which Authelia let through. `redirects`: what a redirect means here.
 */
const readForwardAuth =
  (redirects: ProbeResult) =>
  ({ status, type }: { status: number; type: string }): ProbeResult => {
    if (type === 'opaqueredirect' || (status >= 300 && status < 400)) return redirects
    if (status === 401) return 'signed-out'
    if (status >= 200 && status < 500) return 'signed-in'
    return 'unknown'
  }

/**
 * Authelia answers Ajax requests (`X-Requested-With: XMLHttpRequest`, or an `Accept` without text/html)
 * with 401 and a `Location` to its portal; re-login navigates there through the app's own URL.
 */
export const authelia = ({ probePath }: AutheliaProfileOptions = {}): ProxyProfile => ({
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
  // On a path the app never redirects, a redirect is Authelia's (behind nginx); on `/` it may be the app's.
  probe: probePath
    ? { path: probePath, read: readForwardAuth('signed-out') }
    : { path: '/', read: readForwardAuth('unknown') },
  reloginUrl: ({ returnTo }) => returnTo,
})
