import type { Reauth } from './client'
import type { Engine } from './core/engine'

/**
 * The engine behind an SDK instance, for the subpath adapters (`ajax-reauth/axios`, `ajax-reauth/ky`):
 * not on the public `Reauth` type. A registry symbol, not a module-local one, so an instance created by
 * the ESM build still works with an adapter the CJS build loaded (the dual-package case).
 */
const ENGINE = Symbol.for('ajax-reauth.engine')

export const attachEngine = (reauth: Reauth, engine: Engine): void => {
  Object.defineProperty(reauth, ENGINE, { value: engine })
}

/** The engine of `reauth`; a TypeError when it is not an instance of `createReauth()`. */
export const engineOf = (reauth: Reauth): Engine => {
  const engine = (reauth as { [ENGINE]?: Engine } | null)?.[ENGINE]
  if (!engine) throw new TypeError('[ajax-reauth] expected an instance returned by createReauth()')
  return engine
}
