import { clock } from '../clock'
import type { CrossTab } from '../cross-tab'
import { AuthRequiredError, ReauthError } from '../errors'
import type { ReauthEmitter } from '../events'
import type { NormalizedOptions, ReloginStrategy } from '../options'
import {
  createStrategy,
  InteractionRequiredError,
  isInteractionRequiredError,
  openPopup,
  type Strategy,
} from '../relogin'
import { type Attempt, type AttemptDeps, createAttempt } from './attempt'
import type { Circuit } from './circuit'

/** The re-login in progress in this tab (led here or by another tab). */
export interface Flight {
  generation: number
  /** The re-login URL: the strategy's own requests to it never wait at the gate. */
  url: string | null
  /** Ended by uninstall, not by a failed re-login: does not count towards the circuit. */
  disposed: boolean
  promise: Promise<void>
  attempt: Attempt
  error: AuthRequiredError
}

export interface FlightsDeps {
  options: NormalizedOptions
  emitter: ReauthEmitter
  circuit: Circuit
  attempt: AttemptDeps
  tabs: () => CrossTab
  strategy: Strategy
  now: () => number
}

/** One flight at a time per page: start (or join) it, run it across tabs, report its outcome. */
export interface Flights {
  /** The flight in progress, or null. */
  readonly current: Flight | null
  /** The generation of the last flight this page started. */
  readonly generation: number
  /** When (`clock()`) the last flight of this page succeeded; -Infinity if none. */
  readonly succeededAt: number
  /** The flight in progress, or a new one for `error`. */
  start(error: AuthRequiredError, relogin?: ReloginStrategy, popup?: Window | null): Flight
  /** Abort the flight in progress (uninstall): it does not count towards the circuit. */
  dispose(): void
}

export const createFlights = (deps: FlightsDeps): Flights => {
  const { options, emitter, circuit, now } = deps
  let flight: Flight | null = null
  let generation = 0
  let succeededAt = Number.NEGATIVE_INFINITY

  // Called from the app's click handler: a popup needs that user gesture. Without one (a call straight
  // from the event handler) it fails at once and starts nothing, so it can never loop; where the browser
  // cannot tell, the circuit bounds it.
  const interactive = (): Promise<void> => {
    const activation = (globalThis as { navigator?: { userActivation?: { isActive: boolean } } }).navigator
      ?.userActivation
    if (activation ? !activation.isActive : circuit.isOpen()) {
      return Promise.reject(new InteractionRequiredError('no-user-gesture'))
    }
    const cause = 'interaction'
    // Opened now, inside the click: after the flight's awaits (lock, drain) WebKit refuses window.open.
    const popup = flight ? null : openPopup('about:blank')
    const origin = deps.attempt.scope.origin
    return start(
      new AuthRequiredError({ reason: 'unauthorized', url: origin, method: 'GET', cause }),
      'popup',
      popup,
    ).promise
  }

  const succeed = (current: Flight, leader: boolean, startedAt: number): void => {
    succeededAt = clock()
    if (flight === current) flight = null
    circuit.succeeded(true)
    emitter.emit('reauth:success', { generation: current.generation, durationMs: now() - startedAt, leader })
  }

  const fail = (current: Flight, thrown: unknown, leader: boolean): Error => {
    // Cleared before the events, so a listener that starts a new flight (start()) gets a new one.
    if (flight === current) flight = null
    const failure = thrown instanceof Error ? thrown : new ReauthError(String(thrown))
    // An uninstall is not a failed re-login: it must not count towards the circuit.
    if (!current.disposed) circuit.failed(failure)
    emitter.emit('reauth:failure', { generation: current.generation, error: failure, leader })
    if (isInteractionRequiredError(failure)) {
      emitter.emit('reauth:interaction-required', { reason: failure.reason, start: interactive })
    }
    return failure
  }

  const fly = async (current: Flight, strategy: string, popup: Window | null): Promise<void> => {
    const startedAt = now()
    let leader = true
    try {
      emitter.emit('reauth:start', { generation: current.generation, strategy })
      const outcome = await deps
        .tabs()
        .flight((signal) => current.attempt.run(signal), current.attempt.signal)
      leader = outcome.leader
      succeed(current, leader, startedAt)
    } catch (thrown) {
      throw fail(current, thrown, leader)
    } finally {
      current.attempt.end()
      // A flight that ended before its strategy (timeout, another tab signed in) leaves no blank window.
      try {
        if (popup && !popup.closed) popup.close()
      } catch {}
      if (flight === current) flight = null
    }
  }

  const start = (
    error: AuthRequiredError,
    relogin: ReloginStrategy = options.relogin,
    popup: Window | null = null,
  ): Flight => {
    if (flight) return flight
    const strategy = relogin === options.relogin ? deps.strategy : createStrategy(relogin)
    const current: Flight = {
      generation: ++generation,
      url: null,
      disposed: false,
      error,
      promise: Promise.resolve(),
      attempt: createAttempt(deps.attempt, {
        error,
        relogin,
        strategy,
        popup,
        onUrl: (url) => {
          current.url = url
        },
      }),
    }
    current.promise = fly(current, typeof relogin === 'string' ? relogin : 'custom', popup)
    // Waiters attach their own handlers; this one keeps an unobserved failure from being reported.
    current.promise.catch(() => {})
    flight = current
    return current
  }

  return {
    get current() {
      return flight
    },
    get generation() {
      return generation
    },
    get succeededAt() {
      return succeededAt
    },
    start,
    dispose: () => {
      if (!flight) return
      flight.disposed = true
      flight.attempt.abort(new ReauthError('ajax-reauth was uninstalled during a re-login'))
      flight = null
    },
  }
}
