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
  /** The app's own `relogin` function is running now (its requests through the patched fetch wait here). */
  custom: boolean
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

/** The loss a re-login started by hand reports (`relogin()`, the interactive `start()`). */
export const manualLoss = (url: string, cause: string): AuthRequiredError =>
  new AuthRequiredError({ reason: 'unauthorized', url, method: 'GET', cause })

/** This page's flight, and what outlives it. */
interface State {
  flight: Flight | null
  generation: number
  succeededAt: number
}

const succeed = (
  deps: FlightsDeps,
  state: State,
  current: Flight,
  leader: boolean,
  startedAt: number,
): void => {
  state.succeededAt = clock()
  if (state.flight === current) state.flight = null
  deps.circuit.succeeded(true)
  deps.emitter.emit('reauth:success', {
    generation: current.generation,
    durationMs: deps.now() - startedAt,
    leader,
  })
}

const fail = (
  deps: FlightsDeps,
  state: State,
  current: Flight,
  thrown: unknown,
  leader: boolean,
  interactive: () => Promise<void>,
): Error => {
  const { emitter } = deps
  // Cleared before the events, so a listener that starts a new flight (start()) gets a new one.
  if (state.flight === current) state.flight = null
  const failure = thrown instanceof Error ? thrown : new ReauthError(String(thrown))
  // An uninstall is not a failed re-login: it must not count towards the circuit.
  if (!current.disposed) deps.circuit.failed(failure, current.error)
  emitter.emit('reauth:failure', { generation: current.generation, error: failure, leader })
  if (isInteractionRequiredError(failure)) {
    emitter.emit('reauth:interaction-required', { reason: failure.reason, start: interactive })
  }
  return failure
}

/** Run `current` across tabs and report its outcome. */
const fly = async (
  deps: FlightsDeps,
  state: State,
  current: Flight,
  strategy: string,
  popup: Window | null,
  interactive: () => Promise<void>,
): Promise<void> => {
  const { emitter } = deps
  const startedAt = deps.now()
  let leader = true
  try {
    emitter.emit('reauth:start', { generation: current.generation, strategy })
    const outcome = await deps.tabs().flight((signal) => current.attempt.run(signal), current.attempt.signal)
    leader = outcome.leader
    succeed(deps, state, current, leader, startedAt)
  } catch (thrown) {
    throw fail(deps, state, current, thrown, leader, interactive)
  } finally {
    current.attempt.end()
    // A flight that ended before its strategy (timeout, another tab signed in) leaves no blank window.
    try {
      if (popup && !popup.closed) popup.close()
    } catch {}
    if (state.flight === current) state.flight = null
  }
}

export const createFlights = (deps: FlightsDeps): Flights => {
  const { options, circuit } = deps
  const state: State = { flight: null, generation: 0, succeededAt: -Infinity }

  // Called from the app's click handler: a popup needs that user gesture. Without one (a call straight
  // from the event handler) it fails at once and starts nothing, so it can never loop; where the browser
  // cannot tell, the circuit bounds it.
  const interactive = (): Promise<void> => {
    const activation = (globalThis as { navigator?: { userActivation?: { isActive: boolean } } }).navigator
      ?.userActivation
    if (activation ? !activation.isActive : circuit.isOpen()) {
      return Promise.reject(new InteractionRequiredError('no-user-gesture'))
    }
    // Opened now, inside the click: after the flight's awaits (lock, drain) WebKit refuses window.open.
    const popup = state.flight ? null : openPopup('about:blank')
    return start(manualLoss(deps.attempt.scope.origin, 'interaction'), 'popup', popup).promise
  }

  const start = (
    error: AuthRequiredError,
    relogin: ReloginStrategy = options.relogin,
    popup: Window | null = null,
  ): Flight => {
    if (state.flight) return state.flight
    const strategy = relogin === options.relogin ? deps.strategy : createStrategy(relogin)
    const current: Flight = {
      generation: ++state.generation,
      url: null,
      custom: false,
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
        // Only development builds warn about it (coordinator/index.ts): a production bundle drops this.
        onStrategy:
          (typeof __AJAX_REAUTH_DEV__ !== 'undefined' && __AJAX_REAUTH_DEV__) ||
          (typeof process !== 'undefined' && process.env.NODE_ENV !== 'production')
            ? (running) => {
                current.custom = running && typeof relogin === 'function'
              }
            : undefined,
      }),
    }
    const name = typeof relogin === 'string' ? relogin : 'custom'
    current.promise = fly(deps, state, current, name, popup, interactive)
    // Waiters attach their own handlers; this one keeps an unobserved failure from being reported.
    current.promise.catch(() => {})
    state.flight = current
    return current
  }

  return {
    get current() {
      return state.flight
    },
    get generation() {
      return state.generation
    },
    get succeededAt() {
      return state.succeededAt
    },
    start,
    dispose: () => {
      const flight = state.flight
      if (!flight) return
      flight.disposed = true
      flight.attempt.abort(new ReauthError('ajax-reauth was uninstalled during a re-login'))
      state.flight = null
    },
  }
}
