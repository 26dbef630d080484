import { createKyHooks, type KyReauthHooks } from './adapters/ky'
import type { Reauth } from './client'
import type { Engine } from './core/engine'
import { engineOf } from './internal'

export type { KyReauthHooks }

const hooks = new WeakMap<Engine, KyReauthHooks>()

/**
 * The ky hooks of an SDK instance (ky 1 and ky 2), the same object on every call: headers in
 * `beforeRequest`, detection and replay in `afterResponse`; a lost session re-login cannot save rejects
 * with ky's own `HTTPError` for a 401 (not retried; `authRequiredReason(error)` reads the reason).
 *
 * ky 1 never hands a network failure to a hook, and a redirect to the identity provider that fails
 * CORS is one. With ky 1, also give ky the SDK's fetch (`fetch: reauth.fetch`), or `install()`; with ky 2
 * the hooks' `init` puts ky's fetch behind the SDK, which recovers it.
 *
 * @example
 * import ky from 'ky'
 * import { createReauth } from 'ajax-reauth'
 * import { kyReauth } from 'ajax-reauth/ky'
 *
 * const reauth = createReauth()
 * const api = ky.create({ prefixUrl: '/api', hooks: kyReauth(reauth) })
 * // ky 1: const api = ky.create({ prefixUrl: '/api', hooks: kyReauth(reauth), fetch: reauth.fetch })
 */
export const kyReauth = (reauth: Reauth): KyReauthHooks => {
  const engine = engineOf(reauth)
  const known = hooks.get(engine)
  if (known) return known
  const created = createKyHooks(engine, reauth.fetch)
  hooks.set(engine, created)
  return created
}
