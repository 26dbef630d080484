import type { FetchLike } from '../core/probe'
import type { ProbeResult } from '../types'

/** What the coordinator hands a re-login strategy for one flight. */
export interface StrategyContext {
  /** Aborted on timeout or uninstall: the strategy removes its iframe / popup / listeners at once. */
  signal: AbortSignal
  /** The error that started the flight. */
  error: Error
  /** Absolute re-login URL (`profile.reloginUrl({ origin, returnTo })`). */
  url: string
  /** The same-origin path the flow lands on (`callbackPath`, or the current path + query). */
  returnTo: string
  /** Is this same-origin URL a successful landing? */
  isLanding(url: URL): boolean
  /**
   * Is this same-origin page where the flow stopped the proxy refusing the signed-in user (the profile's
   * `isNotAllowedPage`)? The strategy then rejects with `notAllowedAt()`: a re-login cannot help.
   */
  isNotAllowedPage?(html: string): boolean
  /**
   * Optional session probe. The iframe strategy asks it when the frame ends on a page it cannot read:
   * the app's own landing page may refuse framing (`X-Frame-Options: DENY` on every response) after the
   * session cookie was already renewed.
   */
  probe?: () => Promise<ProbeResult>
  /** The fetch under the SDK: a strategy's own requests go straight to the network, never to the gate. */
  fetch?: FetchLike
  /** A blank popup `start()` opened synchronously in the user's click: the popup strategy navigates it. */
  popup?: Window | null
}

/** A re-login strategy: resolves once the session is renewed, rejects otherwise. */
export type Strategy = (ctx: StrategyContext) => Promise<void>
