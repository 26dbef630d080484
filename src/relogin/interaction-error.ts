import { hasName, ReauthError } from '../errors'
import type { InteractionRequiredEvent } from '../events'

/** Why a silent re-login could not finish without the user. */
export type InteractionReason = InteractionRequiredEvent['reason']

// What follows "Re-login needs user interaction (<reason>): ".
const describe: Record<InteractionReason, string> = {
  'frame-blocked': 'the hidden iframe ended on a page it cannot read (framing refused, or a provider page)',
  'provider-session-unseen': 'the hidden iframe stopped at the provider, which saw no session there',
  'sign-in-page': 'it stopped on a sign-in page',
  'popup-blocked': 'the browser blocked the popup',
  'popup-closed': 'the popup was closed before sign-in finished',
  'no-user-gesture': 'call start() from a click handler',
  timeout: 'it did not finish in time',
  'too-many-redirects':
    'sent to sign in too often within a minute, or sessionStorage cannot count it; a click must start it',
}

/**
 * A silent re-login is impossible: the user has to act (click to open a popup, sign in).
 * The coordinator turns it into a `reauth:interaction-required` event.
 *
 * @example
 * try { await strategy(ctx) } catch (e) {
 *   if (isInteractionRequiredError(e) && e.reason === 'frame-blocked') showSignInButton()
 * }
 */
export class InteractionRequiredError extends ReauthError {
  override name = 'InteractionRequiredError' as const
  readonly reason: InteractionReason

  constructor(reason: InteractionReason, options?: { cause?: unknown }) {
    super(`Re-login needs user interaction (${reason}): ${describe[reason]}`, options)
    this.reason = reason
  }
}

/**
 * True for an `InteractionRequiredError`, also one from another realm or another copy of the SDK.
 *
 * @example
 * if (isInteractionRequiredError(err)) console.log(err.reason)
 */
export const isInteractionRequiredError = (error: unknown): error is InteractionRequiredError =>
  error instanceof InteractionRequiredError || hasName(error, 'InteractionRequiredError')
