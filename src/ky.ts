import type { KyReauthHooks } from './adapters/ky'
import type { Reauth } from './client'

export type { KyReauthHooks }

/**
 * The ky hooks of an SDK instance (ky 1 and ky 2): headers in `beforeRequest`, detection and replay in
 * `afterResponse`; a lost session re-login cannot save rejects with `AuthRequiredError`.
 * Same object as `reauth.kyHooks`.
 *
 * @example
 * import ky from 'ky'
 * import { createReauth } from 'ajax-reauth'
 * import { kyReauth } from 'ajax-reauth/ky'
 *
 * const reauth = createReauth({ proxy: 'oauth2-proxy' })
 * const api = ky.create({ prefixUrl: '/api', hooks: kyReauth(reauth) })
 */
export const kyReauth = (reauth: Reauth): KyReauthHooks => reauth.kyHooks
