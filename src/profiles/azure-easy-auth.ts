import type { ProbeResult, ProxyProfile } from '../types'
import { never, startsWithAny, withQuery } from './shared'

export interface AzureEasyAuthProfileOptions {
  /** The identity provider segment of `/.auth/login/<provider>`. @default 'aad' */
  provider?: string
}

/**
 * Azure App Service authentication ("Easy Auth"): a 302 to `/.auth/login/<provider>` or a 401
 * (Return401). Probe `/.auth/me`; `/.auth/refresh` renews the tokens within the grace period.
 */
export const azureEasyAuth = ({ provider = 'aad' }: AzureEasyAuthProfileOptions = {}): ProxyProfile => ({
  name: 'azure-easy-auth',
  ownPaths: ['/.auth/'],
  isSignInUrl: (url) =>
    startsWithAny(url.pathname, ['/.auth/login/']) || url.hostname === 'login.microsoftonline.com',
  isSignInPage: never,
  isForbiddenPage: never,
  probe: {
    path: '/.auth/me',
    read: ({ status, type }): ProbeResult => {
      if (type === 'opaqueredirect' || status === 401 || status === 403 || (status >= 300 && status < 400))
        return 'signed-out'
      if (status >= 200 && status < 300) return 'signed-in'
      return 'unknown'
    },
  },
  reloginUrl: ({ returnTo }) => withQuery(`/.auth/login/${provider}`, 'post_login_redirect_uri', returnTo),
  refreshPath: '/.auth/refresh',
})
