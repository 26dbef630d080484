import type { ProxyProfile } from '../types'
import { hasTitle, isJson, readIdentityProbe, startsWithAny } from './shared'

/**
 * Pomerium answers Ajax requests (`Accept` that does not pick text/html, or `X-Requested-With`) with
 * 401 JSON `{"error":"Unauthenticated"}`; re-login is a top-level navigation through the proxy.
 */
export const pomerium = (): ProxyProfile => ({
  name: 'pomerium',
  ownPaths: ['/.pomerium/'],
  isSignInUrl: (url) => startsWithAny(url.pathname, ['/.pomerium/sign_in', '/.pomerium/callback']),
  isSignInPage: (html) => hasTitle(html, /pomerium/i) && /sign[\s-]?in/i.test(html),
  isForbiddenPage: (html) => /\b403\b/.test(html) && hasTitle(html, /forbidden|403/i),
  isOwnUnauthorized: ({ contentType, body }) =>
    isJson(contentType) && /"error"\s*:\s*"Unauthenticated"/.test(body),
  // Its own route, never the upstream's: the user's claims as JSON when signed in
  // (https://www.pomerium.com/docs/internals/special-routes, `/.pomerium/user`).
  probe: { path: '/.pomerium/user', read: readIdentityProbe },
  // Navigating to any page of the app starts Pomerium's sign-in and lands back on it.
  reloginUrl: ({ returnTo }) => returnTo,
})
