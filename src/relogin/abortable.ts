/** How a strategy ends its flight: once, whichever comes first; later calls do nothing. */
export interface Settle {
  resolve(): void
  reject(error: unknown): void
}

/**
 * The preamble every strategy shares: reject at once if `signal` has aborted already, reject with its
 * reason when it aborts later, and settle only once. `start` sets the strategy up and returns what undoes
 * it (remove the iframe, close the popup, drop listeners), which runs on any end.
 *
 * @example
 * abortable(signal, ({ resolve }) => {
 *   window.addEventListener('message', resolve)
 *   return () => window.removeEventListener('message', resolve)
 * })
 */
export const abortable = (
  signal: AbortSignal,
  start: (settle: Settle) => (() => void) | undefined,
): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    let settled = false
    let cleanup: (() => void) | undefined
    const end = (outcome: () => void): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      cleanup?.()
      outcome()
    }
    const onAbort = (): void => end(() => reject(signal.reason))
    signal.addEventListener('abort', onAbort, { once: true })
    cleanup = start({
      resolve: () => end(resolve),
      reject: (error) => end(() => reject(error)),
    })
    // Settled within start(): what it set up is undone now.
    if (settled) cleanup?.()
  })
