import { clock } from './clock'

/** What every copy of the SDK on the page shares, per key (`ajax-reauth:<origin>:<profile>`). */
interface Shared {
  /** The re-login in progress. */
  flights: Map<string, Promise<unknown>>
  /** When (`clock()`) the last one succeeded. */
  succeeded: Map<string, number>
}

// Versioned: a copy with another shape of this record uses another key, and the two simply do not share.
const KEY = Symbol.for('ajax-reauth.flights.v1')

const shared = (page: object): Shared => {
  const g = page as { [KEY]?: Shared }
  g[KEY] ??= { flights: new Map(), succeeded: new Map() }
  return g[KEY]
}

/**
 * Join the re-login in progress for `key` in any copy of the SDK on this page (an ESM and a CJS import,
 * two bundles, two `createReauth()` instances), or start one with `start`. One loss costs one flight.
 * A joiner gets the starter's value or error; aborting `signal` stops only this caller's wait.
 * `page` is the global object the copies share (tests pass one per simulated tab).
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
  const { flights, succeeded } = shared(page)
  const current = flights.get(key) as Promise<T> | undefined
  if (current) {
    if (!signal) return current.then((value) => ({ value, joined: true }))
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      current
        .then((value) => resolve({ value, joined: true }), reject)
        .finally(() => signal.removeEventListener('abort', onAbort))
    })
  }
  let promise: Promise<T>
  try {
    promise = start()
  } catch (error) {
    promise = Promise.reject(error)
  }
  flights.set(key, promise)
  // Registered before any joiner's: the flight is gone from the map when they hear its outcome.
  promise.then(
    () => {
      if (flights.get(key) === promise) flights.delete(key)
      succeeded.set(key, Math.max(succeeded.get(key) ?? Number.NEGATIVE_INFINITY, clock()))
    },
    () => {
      if (flights.get(key) === promise) flights.delete(key)
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
  shared(page).succeeded.get(key) ?? Number.NEGATIVE_INFINITY
