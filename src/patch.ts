import { ReauthError } from './errors'

interface PatchRecord {
  owner: object
  descriptor: PropertyDescriptor | undefined
  original: unknown
}

interface Registry {
  /** target → property → who patched it and what was there before. */
  patches: WeakMap<object, Map<PropertyKey, PatchRecord>>
  /** Every wrapper the SDK installed → the value it wraps, so lazy lookups can see through it. */
  wrapped: WeakMap<object, unknown>
}

// Shared by every bundled copy of the SDK on the page, so two copies never stack two patches.
const REGISTRY = Symbol.for('ajax-reauth.patch-registry')

const registry = (): Registry => {
  const g = globalThis as { [REGISTRY]?: Registry }
  g[REGISTRY] ??= { patches: new WeakMap(), wrapped: new WeakMap() }
  return g[REGISTRY]
}

/** The value under a possible ajax-reauth wrapper: what a patch replaced. */
export const unwrap = <T>(value: T): T => {
  const { wrapped } = registry()
  let v: unknown = value
  while ((typeof v === 'function' || (typeof v === 'object' && v !== null)) && wrapped.has(v as object)) {
    v = wrapped.get(v as object)
  }
  return v as T
}

/**
 * Replace `target[key]` with `make(original)`. Refuses a second patch of the same property by any
 * SDK instance. Returns a restore function that unwraps only this layer: it puts back the exact
 * original property descriptor while `target[key]` is still the replacement, and leaves a wrapper
 * installed on top of it since (Sentry's, msw's) in place. That wrapper still calls the replacement,
 * so the caller must make the replacement a pass-through once restored. Calling it twice is safe.
 */
export const applyPatch = <T>(
  target: object,
  key: PropertyKey,
  owner: object,
  make: (original: T) => T,
): (() => void) => {
  const reg = registry()
  const byKey = reg.patches.get(target) ?? new Map<PropertyKey, PatchRecord>()
  reg.patches.set(target, byKey)
  const existing = byKey.get(key)
  if (existing) {
    if (existing.owner === owner) throw new ReauthError(`${String(key)} is already patched by this instance`)
    throw new ReauthError(
      `${String(key)} is already patched by another ajax-reauth instance; call uninstall() on it first`,
    )
  }
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  const original = (target as Record<PropertyKey, unknown>)[key] as T
  const replacement = make(original)
  reg.wrapped.set(replacement as object, original)
  Object.defineProperty(target, key, {
    configurable: true,
    enumerable: descriptor?.enumerable ?? true,
    writable: true,
    value: replacement,
  })
  const record: PatchRecord = { owner, descriptor, original }
  byKey.set(key, record)

  return () => {
    if (byKey.get(key) !== record) return
    byKey.delete(key)
    if (Object.getOwnPropertyDescriptor(target, key)?.value !== replacement) return
    if (descriptor) Object.defineProperty(target, key, descriptor)
    else delete (target as Record<PropertyKey, unknown>)[key]
  }
}
