import { clock } from '../clock'
import { type AuthRequiredError, isNotAllowed } from '../errors'
import type { ReauthEmitter } from '../events'
import type { NormalizedOptions } from '../options'
import { isInteractionRequiredError } from '../relogin/interaction-error'
import type { AuthReason } from '../types'

/**
 * How long a failed silent re-login is remembered (at most the circuit's cooldown): losses within it fail
 * fast with no new flight, so an HTTP client's own retries (ofetch once, ky 1 twice, TanStack Query three
 * times within ~7 s) cost no extra re-login.
 */
export const FAILURE_MEMORY_MS = 10_000

/** The user must sign in (a re-login failed with `InteractionRequiredError`): until a session is seen again. */
export interface SignInRequired {
  /** The failure that said so (the last one, if the user's own attempts failed too). */
  error: Error
  /** The reason of the loss that began it: what the requests refused meanwhile report. */
  reason: AuthReason
  /** `clock()` when it began: a success or a "signed in" probe sent after it ends it. */
  since: number
  /** `now()` when it began. */
  at: number
}

/**
 * The circuit breaker and the memory of one episode (from the first loss until a success): too many
 * failed re-logins within `windowMs` open it for `cooldownMs`; the last failure is remembered for a while.
 */
export interface Circuit {
  /** Failing fast: no flight starts until the cooldown ends or a re-login succeeds. */
  isOpen(): boolean
  /** Open it now (a `431`: every re-login would mint one more CSRF cookie). */
  trip(): void
  /**
   * A re-login for `loss` failed: counts towards the circuit and fails the losses right after it fast. One
   * that needs the user (`InteractionRequiredError`) begins `signInRequired()`.
   */
  failed(error: Error, loss?: AuthRequiredError): void
  /** The user must sign in: no silent re-login can work until a session is seen again (`succeeded`). */
  signInRequired(): SignInRequired | null
  /**
   * The proxy refuses the signed-in user (`not-allowed`): remembered until a re-login succeeds, so no
   * loss starts another re-login (each would end at the callback's 403 again).
   */
  deny(error: AuthRequiredError): void
  /** The `not-allowed` outcome in force, or null. */
  denied(): AuthRequiredError | null
  /**
   * A re-login succeeded, or a session probe found the session alive: ends the episode; in this tab it
   * closes the circuit, another tab's (or a probe) closes it when open.
   */
  succeeded(here: boolean): void
  /** The failed re-login a loss comes right after, or null; an expired memory ends its episode. */
  recentFailure(): Error | null
  /** Emit `reauth:required`, once per episode: for the loss that opens it. */
  report(error: AuthRequiredError): void
}

/** The wait for a sign-in once `error` ended a re-login for `loss` at `at` (`now()`). */
const nextRequired = (
  current: SignInRequired | null,
  error: Error,
  loss: AuthRequiredError | undefined,
  at: number,
): SignInRequired | null => {
  // Signed in, but refused by the proxy: its outcome (`not-allowed`) replaces the wait for a sign-in.
  if (isNotAllowed(error)) return null
  if (!isInteractionRequiredError(error)) return current
  if (!current) return { error, reason: loss?.reason ?? 'unauthorized', since: clock(), at }
  current.error = error
  return current
}

export const createCircuit = (deps: {
  options: Pick<NormalizedOptions, 'circuit'>
  emitter: ReauthEmitter
  now: () => number
}): Circuit => {
  const { circuit } = deps.options
  const { emitter, now } = deps
  let failures: number[] = []
  let openUntil = 0
  let episode = false
  let failure: { at: number; error: Error } | null = null
  let denial: AuthRequiredError | null = null
  let required: SignInRequired | null = null
  const memoryMs = Math.min(FAILURE_MEMORY_MS, circuit.cooldownMs)

  const endEpisode = (): void => {
    episode = false
    failure = null
    denial = null
    required = null
  }
  const open = (): void => {
    openUntil = now() + circuit.cooldownMs
    emitter.emit('circuit:open', { failures: failures.length, until: openUntil })
  }
  const close = (): void => {
    const wasOpen = openUntil > 0
    failures = []
    openUntil = 0
    if (wasOpen) emitter.emit('circuit:close', { reason: 'success' })
  }
  const isOpen = (): boolean => openUntil > 0 && now() < openUntil

  return {
    isOpen,
    trip: () => {
      if (!isOpen()) open()
    },
    failed: (error, loss) => {
      const t = now()
      failures = [...failures.filter((f) => t - f < circuit.windowMs), t]
      failure = { at: t, error }
      if (isNotAllowed(error)) denial = error as AuthRequiredError
      required = nextRequired(required, error, loss, t)
      if (openUntil > 0 || failures.length >= circuit.failures) open()
    },
    deny: (error) => {
      denial = error
    },
    denied: () => denial,
    signInRequired: () => required,
    succeeded: (here) => {
      endEpisode()
      if (here || openUntil > 0) close()
    },
    recentFailure: () => {
      // Neither ends with time: another failed re-login would end the same way.
      if (!denial && !required && failure && now() - failure.at >= memoryMs) endEpisode()
      return failure?.error ?? null
    },
    report: (error) => {
      if (episode) return
      episode = true
      emitter.emit('reauth:required', {
        error,
        reason: error.reason,
        url: error.url,
        method: error.method,
      })
    },
  }
}
