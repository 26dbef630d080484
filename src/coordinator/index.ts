import type { FetchLike, SessionProbe } from '../core/probe'
import { type CrossTab, createCrossTab } from '../cross-tab'
import type { LockManagerLike } from '../cross-tab/lock'
import { AuthRequiredError, queueFullError } from '../errors'
import type { ReauthEmitter } from '../events'
import type { NormalizedOptions } from '../options'
import { createStrategy, type Strategy } from '../relogin'
import type { GuardedRequest, ProxyProfile } from '../types'
import { type Circuit, createCircuit } from './circuit'
import { createFlights, type Flights } from './flight'
import { waitFor } from './wait'
import { createWire, type Wire } from './wire'

export { FAILURE_MEMORY_MS } from './circuit'

export type ReauthState = 'idle' | 'reauthenticating' | 'circuit-open'

/** One flight per page, gate, queue, replay, circuit breaker. */
export interface Coordinator {
  readonly state: ReauthState
  /** Is a re-login in flight (new in-scope requests must wait at the gate)? */
  readonly gated: boolean
  /** Wait at the gate until the flight ends; rejects with `AuthRequiredError` if it fails. */
  gate(url: string, method: string, signal?: AbortSignal | null): Promise<void>
  /**
   * A request lost its session: report it, join or start a flight, then send it again (`request.send`;
   * null when it cannot or must not be replayed) or reject.
   */
  recover<T>(error: AuthRequiredError, request: GuardedRequest<T>): Promise<T>
  /** Start a flight by hand (joins one in progress; allowed while the circuit is open). */
  relogin(): Promise<void>
  /**
   * Is this the running flight's own request (a custom strategy fetching the re-login URL)? It goes to
   * the network untouched: held or judged, it would wait for its own flight.
   */
  isOwnRequest(url: string): boolean
  /** Resolves once no flight is in progress (whatever its outcome). */
  settled(): Promise<void>
  /** When (`clock()`) the last re-login in any tab succeeded; -Infinity if none. */
  lastSuccessAt(): number
  /** Abort the flight and reject everything held (uninstall). */
  dispose(): void
}

export interface CoordinatorDeps {
  options: NormalizedOptions
  emitter: ReauthEmitter
  profile: ProxyProfile
  probe: SessionProbe
  baseFetch: () => FetchLike
  scope: { readonly origin: string }
  /** This page's (and other tabs') requests on the wire: a re-login waits for them to land. */
  wire?: Wire
  /** Test seams. */
  strategy?: Strategy
  crossTab?: () => CrossTab
  now?: () => number
}

const noop = (): void => {}

/** The Web Locks of the page, where cross-tab coordination is on and the browser has them. */
export const pageLocks = (options: Pick<NormalizedOptions, 'crossTab'>): LockManagerLike | undefined =>
  options.crossTab ? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks : undefined

/** The cross-tab part, made on first use; another tab's success also ends this tab's open circuit. */
const lazyCrossTab = (deps: CoordinatorDeps, circuit: Circuit) => {
  const { options, scope, profile } = deps
  let crossTab: CrossTab | null = null
  const get = (): CrossTab => {
    if (crossTab) return crossTab
    crossTab = (
      deps.crossTab ??
      (() => createCrossTab({ enabled: options.crossTab, origin: scope.origin, profileName: profile.name }))
    )()
    crossTab.onRemote((msg) => {
      if (msg.kind === 'success') circuit.succeeded(false)
    })
    return crossTab
  }
  const dispose = (): void => {
    crossTab?.dispose()
    crossTab = null
  }
  return { get, dispose }
}

/** Count a request against `maxQueue` while it waits for the flight, or reject it when the queue is full. */
const createQueue = (maxQueue: number) => {
  let waiting = 0
  return async <T>(error: AuthRequiredError, url: string, method: string, work: () => Promise<T>) => {
    if (waiting >= maxQueue) throw queueFullError(error.reason, url, method, maxQueue)
    waiting++
    try {
      return await work()
    } finally {
      waiting--
    }
  }
}

/** Fail fast, or start (join) a flight: null when this loss may wait for it. */
const refuse = (
  circuit: Circuit,
  flights: Flights,
  error: AuthRequiredError,
  request: Pick<GuardedRequest<unknown>, 'notReplayable'> & { send: unknown },
): AuthRequiredError | null => {
  const { url, method } = error
  // Read first: an expired memory ends its episode, so this loss opens a new one (and is reported).
  const recent = flights.current ? null : circuit.recentFailure()
  circuit.report(error)
  if (error.reason === 'header-overflow') {
    // Every re-login would mint one more CSRF cookie: stop instead of looping.
    circuit.trip()
    return error
  }
  if (circuit.isOpen()) return new AuthRequiredError({ reason: 'circuit-open', url, method, cause: error })
  // One app call costs at most one flight, however often its HTTP client retries.
  if (recent) return new AuthRequiredError({ reason: error.reason, url, method, cause: recent })
  flights.start(error)
  if (request.send) return null
  if (!request.notReplayable) return error
  return new AuthRequiredError({ reason: error.reason, url, method, cause: request.notReplayable })
}

/**
 * @example
 * const coordinator = createCoordinator({ options, emitter, profile, probe, baseFetch, scope, wire })
 * const again = await coordinator.recover(error, { facts, send: () => fetch(url) })
 */
export const createCoordinator = (deps: CoordinatorDeps): Coordinator => {
  const { options, emitter, profile, scope } = deps
  const now = deps.now ?? Date.now
  const circuit = createCircuit({ options, emitter, now })
  const wire =
    deps.wire ??
    createWire({ locks: pageLocks(options), name: `ajax-reauth:${scope.origin}:${profile.name}:wire` })
  const crossTab = lazyCrossTab(deps, circuit)
  const tabs = crossTab.get
  const flights = createFlights({
    options,
    emitter,
    circuit,
    tabs,
    now,
    strategy: deps.strategy ?? createStrategy(options.relogin),
    attempt: { ...deps, quiet: wire.quiet },
  })
  const lastSuccessAt = (): number => Math.max(flights.succeededAt, tabs().lastSuccessAt())
  const hold = createQueue(options.maxQueue)

  const replayed = <T>(error: AuthRequiredError, send: () => Promise<T>, generation: number): Promise<T> => {
    emitter.emit('request:replayed', { url: error.url, method: error.method, generation })
    return send()
  }

  return {
    get state(): ReauthState {
      return flights.current ? 'reauthenticating' : circuit.isOpen() ? 'circuit-open' : 'idle'
    },
    get gated() {
      return flights.current !== null
    },
    gate(url, method, signal) {
      const current = flights.current
      if (!current || url === current.url) return Promise.resolve()
      return hold(current.error, url, method, () =>
        waitFor(current.promise, signal).catch((cause) => {
          if (signal?.aborted) throw cause
          throw new AuthRequiredError({ reason: current.error.reason, url, method, cause })
        }),
      )
    },
    async recover(error, request) {
      if (request.isReplay) throw error
      const { send, signal, sentAt } = request
      // It went out with the old cookie before a re-login (in any tab) succeeded: the session is back,
      // a new flight would only mint another CSRF cookie.
      if (send && !flights.current && sentAt !== undefined && sentAt < lastSuccessAt()) {
        return replayed(error, send, flights.generation)
      }
      const refused = refuse(circuit, flights, error, request)
      if (refused) throw refused
      const current = flights.current!
      await hold(error, error.url, error.method, () =>
        waitFor(current.promise, signal).catch((cause) => {
          if (signal?.aborted) throw cause
          throw error
        }),
      )
      return replayed(error, send!, current.generation)
    },
    isOwnRequest: (url) => flights.current !== null && flights.current.url === url,
    // Without a flight here, another tab's may be restoring the session this request found dead.
    settled: () =>
      flights.current
        ? flights.current.promise.then(noop, noop)
        : tabs().remoteSettled(options.reloginTimeoutMs),
    lastSuccessAt,
    relogin: () =>
      flights.start(
        new AuthRequiredError({ reason: 'unauthorized', url: scope.origin, method: 'GET', cause: 'manual' }),
      ).promise,
    dispose() {
      flights.dispose()
      crossTab.dispose()
    },
  }
}
