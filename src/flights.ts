import { clock } from './clock'

/** What every copy of the SDK on a page shares per key (`ajax-reauth:<origin>:<profile>`). */
interface Shared {
  /** The re-login in progress. */
  flight?: Promise<unknown> | undefined
  /** When (`clock()`) the last one succeeded. */
  ok?: number
}

// Versioned: a copy with another shape of this record uses another key, and the two simply do not share.
const KEY = Symbol.for('ajax-reauth.flights.v1')

/**
 * The record every copy of the SDK on `page` shares under `registry` (a `Symbol.for` key) for `key`.
 *
 * @example
 * const entry = pageShared<{ ok?: number }>(Symbol.for('ajax-reauth.flights.v1'), channel, globalThis)
 */
export const pageShared = <T extends object>(registry: symbol, key: string, page: object): T => {
  const g = page as Record<symbol, Record<string, T>>
  g[registry] ??= {}
  g[registry][key] ??= {} as T
  return g[registry][key]
}

const shared = (key: string, page: object): Shared => pageShared<Shared>(KEY, key, page)

/**
 * Join the re-login in progress for `key` in any copy of the SDK on this page (an ESM and a CJS import,
 * two bundles, two `createReauth()` instances), or start one with `start`. One loss costs one flight.
 * A joiner gets the starter's value or error; aborting `signal` ends only this caller's wait. `page` is
 * the global object the copies share (tests pass one per simulated tab).
 *
 * @example
 * const { value, joined } = await joinOrStart(channel, () => runFlight(signal), signal)
 */
export const joinOrStart = <T>(
  key: string,
  start: () => Promise<T>,
  signal?: AbortSignal,
  page: object = globalThis,
): Promise<{ value: T; joined: boolean }> => {
  const entry = shared(key, page)
  const current = entry.flight as Promise<T> | undefined
  if (current) {
    const aborted = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(signal.reason)
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
    return Promise.race([current, aborted]).then((value) => ({ value, joined: true }))
  }
  const promise = new Promise<T>((resolve) => resolve(start()))
  entry.flight = promise
  // Registered before any joiner's: the flight is over for them when they hear its outcome.
  promise.then(
    () => {
      if (entry.flight === promise) entry.flight = undefined
      entry.ok = clock()
    },
    () => {
      if (entry.flight === promise) entry.flight = undefined
    },
  )
  return promise.then((value) => ({ value, joined: false }))
}

/**
 * When (`clock()`) a re-login for `key` last succeeded in any copy of the SDK on this page;
 * `-Infinity` if none.
 *
 * @example
 * if (sentAt < lastSharedSuccess(channel)) replay()
 */
export const lastSharedSuccess = (key: string, page: object = globalThis): number =>
  shared(key, page).ok ?? -Infinity

/**
 * Requests an inner patch already judged (the XHR patch) → the error it completed them with, or null,
 * shared by every copy of the SDK on the page: another copy's axios adapter over this copy's patched
 * XMLHttpRequest then sees the verdict and does not judge (and re-login for) the same loss again.
 *
 * @example
 * const guarded = sharedGuarded() // engine.guarded
 */
export const sharedGuarded = <V>(page: object = globalThis): WeakMap<object, V> => {
  const key = Symbol.for('ajax-reauth.guarded.v1')
  const g = page as Record<symbol, WeakMap<object, V>>
  g[key] ??= new WeakMap()
  return g[key]
}
