import type { ProbeResult, ProxyProfile } from '../types'
import { hasTitle, isJson, startsWithAny, withQuery } from './shared'

const forbidden = (html: string): boolean => hasTitle(html, /^403 forbidden$/i)

export interface OAuth2ProxyProfileOptions {
  /** `--proxy-prefix` of the proxy. @default '/oauth2' */
  prefix?: string
}

/**
 * OAuth2-Proxy 7.x. Its session probe is `/oauth2/auth` (202 signed in, 401 not); `/oauth2/sign_in`
 * clears the session cookie and is never requested.
 */
export const oauth2Proxy = ({ prefix = '/oauth2' }: OAuth2ProxyProfileOptions = {}): ProxyProfile => {
  const signIn = [`${prefix}/sign_in`, `${prefix}/start`]
  const startAction = `action="${prefix}/start"`
  return {
    name: 'oauth2-proxy',
    // `isAjax` reads `Accept` only (oauthproxy.go); `X-Requested-With` would only cost preflights.
    readsRequestedWith: false,
    ownPaths: [`${prefix}/`],
    isSignInUrl: (url) => startsWithAny(url.pathname, signIn),
    isSignInPage: (html) =>
      hasTitle(html, /^sign in$/i) ||
      html.includes(startAction) ||
      /secured with[\s\S]{0,200}oauth2[\s_-]?proxy/i.test(html),
    isForbiddenPage: forbidden,
    // The callback's 403 for a user the email/group check refuses says "You do not have permission…"
    // (`pagewriter/error_page.go`); a failed sign-in (CSRF cookie, provider error) says "Login Failed".
    isNotAllowedPage: (html) => forbidden(html) && !/login failed/i.test(html),
    // `{}` since 7.2 (#1375), an empty body before; an upstream's 401 says something.
    isOwnUnauthorized: ({ contentType, body }) =>
      (isJson(contentType) && /^\s*\{\s*\}\s*$/.test(body)) || (!contentType && body.trim() === ''),
    probe: {
      path: `${prefix}/auth`,
      read: ({ status, type }): ProbeResult => {
        if (type === 'opaqueredirect' || status === 401 || (status >= 300 && status < 400))
          return 'signed-out'
        // 403: a session exists but the user is not allowed; that is not a lost session.
        if ((status >= 200 && status < 300) || status === 403) return 'signed-in'
        return 'unknown'
      },
    },
    reloginUrl: ({ returnTo }) => withQuery(`${prefix}/start`, 'rd', returnTo),
  }
}
