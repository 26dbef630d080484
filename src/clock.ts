/**
 * Milliseconds since the epoch, sub-millisecond where the platform allows. Comparable across tabs
 * (unlike `performance.now()` alone) and finer than `Date.now()`, so "sent before that success" holds
 * even within one millisecond.
 */
export const clock: () => number = (() => {
  if (typeof performance === 'undefined' || typeof performance.timeOrigin !== 'number') return Date.now
  // Read once: it is fixed for the realm, and its getter costs more than `now()` (the hot path reads the clock).
  const origin = performance.timeOrigin
  return () => origin + performance.now()
})()

/** The largest delay `setTimeout` takes; a larger one overflows and fires after 1 ms. */
export const MAX_DELAY = 2 ** 31 - 1
