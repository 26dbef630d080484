import type { FetchLike, SessionProbe } from '../core/probe'
import { type CrossTab, createCrossTab } from '../cross-tab'
import type { LockManagerLike } from '../cross-tab/lock'
import { AuthRequiredError, isNotAllowed, queueFullError } from '../errors'
import type { ReauthEmitter } from '../events'
import type { NormalizedOptions } from '../options'
import { createStrategy, type Strategy } from '../relogin'
import type { GuardedRequest, ProxyProfile } from '../types'
import { type Circuit, createCircuit } from './circuit'
import { createFlights, type Flight, type Flights, manualLoss } from './flight'
import { createSignInWait, type SignInWait } from './sign-in'
import { waitFor } from './wait'
import { createWire, type Wire } from './wire'

export { FAILURE_MEMORY_MS } from './circuit'

export type ReauthState = 'idle' | 'reauthenticating' | 'circuit-open'

/** One flight per page, gate, queue, replay, circuit breaker. */
export interface Coordinator {
  readonly state: ReauthState
  /** Must new in-scope requests wait at the gate (a re-login in flight, or a `hold`)? */
  readonly gated: boolean
  /**
   * Wait at the gate until the flight (and any hold) ends; rejects with `AuthRequiredError` if the
   * flight fails.
   */
  gate(url: string, method: string, signal?: AbortSignal | null): Promise<void>
  /**
   * Hold new in-scope requests at the gate until `until` settles (the wake-up check, src/wake.ts). A
   * flight started before it settles keeps them. The caller bounds `until`; the app's signal still aborts.
   */
  hold(until: Promise<unknown>): void
  /**
   * A request lost its session: report it, join or start a flight, then send it again (`request.send`)
   * or reject. With `send: null` it is a loss without a request to send again (the wake-up check's
   * probe, a stream body): it starts the flight and rejects at once.
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
  /**
   * A session probe sent at `sentAt` (`clock()`) found the session alive (the wake-up check): ends a
   * wait for the user's sign-in that began before it.
   */
  sessionAlive(sentAt: number): void
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

/**
 * The cross-tab part, made on first use; another tab's success also ends this tab's open circuit and its
 * wait for a sign-in (`onSuccess`).
 */
const lazyCrossTab = (deps: CoordinatorDeps, onSuccess: (generation: number) => void) => {
  const { options, scope, profile } = deps
  let crossTab: CrossTab | null = null
  const get = (): CrossTab => {
    if (crossTab) return crossTab
    crossTab = (
      deps.crossTab ??
      (() => createCrossTab({ enabled: options.crossTab, origin: scope.origin, profileName: profile.name }))
    )()
    crossTab.onRemote((msg) => {
      if (msg.kind === 'success') onSuccess(msg.generation)
    })
    return crossTab
  }
  const dispose = (): void => {
    crossTab?.dispose()
    crossTab = null
  }
  return { get, dispose }
}

/** The requests waiting at the gate or for a replay, at most `maxQueue`. */
const createQueue = (maxQueue: number) => {
  let waiting = 0
  const count = async <T>(work: () => Promise<T>): Promise<T> => {
    waiting++
    try {
      return await work()
    } finally {
      waiting--
    }
  }
  return {
    full: (): boolean => waiting >= maxQueue,
    count,
    /** Count a request while it waits for the flight, or reject it when the queue is full. */
    hold: <T>(error: AuthRequiredError, url: string, method: string, work: () => Promise<T>): Promise<T> =>
      waiting >= maxQueue ? Promise.reject(queueFullError(error.reason, url, method, maxQueue)) : count(work),
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
  const denied = isNotAllowed(error) ? error : circuit.denied()
  if (denied) {
    // The proxy refuses this user: a re-login would end at its callback's 403 again.
    const outcome =
      denied === error ? error : new AuthRequiredError({ reason: 'not-allowed', url, method, cause: denied })
    circuit.report(outcome)
    circuit.deny(denied)
    return outcome
  }
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

/** The hold of a session check (the wake-up check): new requests wait at the gate until it ends. */
const createHold = () => {
  let current: Promise<void> | null = null
  return {
    get current() {
      return current
    },
    hold(until: Promise<unknown>): void {
      const mine: Promise<void> = Promise.all([current, Promise.resolve(until).catch(noop)]).then(noop)
      current = mine
      // Registered first: the gate's waiters see the hold gone when they wake.
      mine.then(() => {
        if (current === mine) current = null
      })
    },
  }
}

const warned = new WeakSet<object>()

/**
 * Development builds: a request held while the app's own `relogin` function runs may be that function's
 * own (through the patched global `fetch`): it would wait for itself until the timeout. Said once per
 * flight, at once, naming the way out.
 */
const warnSelfWait = (flight: object, method: string, url: string, timeoutMs: number): void => {
  if (warned.has(flight)) return
  warned.add(flight)
  console.warn(
    `[ajax-reauth] ${method} ${url} waits for the re-login in progress, which runs your relogin function. ` +
      `If that function sent it (through the global fetch, XMLHttpRequest, axios or ky), it waits for itself ` +
      `until reloginTimeoutMs (${timeoutMs} ms) ends the re-login: send the re-login's own requests with the ` +
      '`fetch` of its context, `relogin: async ({ url, signal, fetch }) => { await fetch(…) }`, which goes ' +
      'straight to the network.',
  )
}
/** The loss a request of a failed flight rejects with: `not-allowed` when the flight ended so. */
const afterFailure = (error: AuthRequiredError, cause: unknown): AuthRequiredError =>
  isNotAllowed(cause) && !isNotAllowed(error)
    ? new AuthRequiredError({ reason: 'not-allowed', url: error.url, method: error.method, cause })
    : error

/** Wait for a flight's `promise`: an abort rejects with its reason, a failed flight with `failed(cause)`. */
const waitForFlight = (
  promise: Promise<void>,
  signal: AbortSignal | null | undefined,
  failed: (cause: unknown) => unknown,
): Promise<void> =>
  waitFor(promise, signal).catch((cause) => {
    throw signal?.aborted ? cause : failed(cause)
  })

/** A new request while `current` flies: it waits in the queue for the outcome. */
const waitAtGate = (
  current: Flight,
  queue: ReturnType<typeof createQueue>,
  options: Pick<NormalizedOptions, 'reloginTimeoutMs'>,
  url: string,
  method: string,
  signal: AbortSignal | null | undefined,
): Promise<void> => {
  // Inline, so a production bundle drops the check and its message (the same test as options.ts).
  if (
    ((typeof __AJAX_REAUTH_DEV__ !== 'undefined' && __AJAX_REAUTH_DEV__) ||
      (typeof process !== 'undefined' && process.env.NODE_ENV !== 'production')) &&
    current.custom
  ) {
    warnSelfWait(current, method, url, options.reloginTimeoutMs)
  }
  return queue.hold(current.error, url, method, () =>
    waitForFlight(current.promise, signal, (cause) =>
      afterFailure(new AuthRequiredError({ reason: current.error.reason, url, method, cause }), cause),
    ),
  )
}

/** `Coordinator.recover`: replay at once, fail fast, or wait for the flight in the queue and replay. */
const recoverLoss = async <T>(
  ctx: {
    circuit: Circuit
    flights: Flights
    queue: ReturnType<typeof createQueue>
    emitter: ReauthEmitter
    lastSuccessAt: () => number
    signIn: SignInWait
  },
  error: AuthRequiredError,
  request: GuardedRequest<T>,
): Promise<T> => {
  const { flights, queue } = ctx
  if (request.isReplay) throw error
  // (Ends a wait for the user's sign-in that another tab's re-login has answered.)
  if (!flights.current) ctx.signIn.current()
  const { send, signal, sentAt } = request
  const replayed = (again: () => Promise<T>, generation: number): Promise<T> => {
    ctx.emitter.emit('request:replayed', { url: error.url, method: error.method, generation })
    return again()
  }
  // It went out with the old cookie before a re-login (in any tab) succeeded: the session is back,
  // a new flight would only mint another CSRF cookie.
  if (send && !flights.current && sentAt !== undefined && sentAt < ctx.lastSuccessAt()) {
    return replayed(send, flights.generation)
  }
  const refused = refuse(ctx.circuit, flights, error, request)
  if (refused) throw refused
  const current = flights.current!
  await queue.hold(error, error.url, error.method, () =>
    waitForFlight(current.promise, signal, (cause) => afterFailure(error, cause)),
  )
  return replayed(send!, current.generation)
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
  // Its callbacks read the flights and the tabs, made below, only when called.
  const signIn: SignInWait = createSignInWait({
    circuit,
    emitter,
    probe: deps.probe,
    flying: () => flights.current !== null,
    lastSuccessAt: () => lastSuccessAt(),
    generation: () => flights.generation,
    intervalMs: options.circuit.cooldownMs,
    now,
  })
  const crossTab = lazyCrossTab(deps, (generation) => {
    if (!signIn.alive(Number.POSITIVE_INFINITY, generation)) circuit.succeeded(false)
  })
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
  const queue = createQueue(options.maxQueue)
  const held = createHold()

  const coordinator: Coordinator = {
    get state(): ReauthState {
      return flights.current ? 'reauthenticating' : circuit.isOpen() ? 'circuit-open' : 'idle'
    },
    get gated() {
      return flights.current !== null || held.current !== null || circuit.signInRequired() !== null
    },
    gate(url, method, signal) {
      const h = held.current
      // A check's hold (beyond maxQueue, no loss is known yet: the request just goes out).
      if (!flights.current && h) {
        if (queue.full()) return Promise.resolve()
        return queue.count(() => waitFor(h, signal)).then(() => coordinator.gate(url, method, signal))
      }
      const current = flights.current
      if (!current) {
        // The user must sign in: the request could only fail, so it is not sent.
        const wait = signIn.current()
        if (!wait) return Promise.resolve()
        return Promise.reject(signal?.aborted ? signal.reason : signIn.refuse(wait, url, method))
      }
      if (url === current.url) return Promise.resolve()
      return waitAtGate(current, queue, options, url, method, signal)
    },
    recover: (error, request) =>
      recoverLoss({ circuit, flights, queue, emitter, lastSuccessAt, signIn }, error, request),
    hold: held.hold,
    isOwnRequest: (url) => flights.current !== null && flights.current.url === url,
    // Without a flight here, another tab's may be restoring the session this request found dead.
    settled: () =>
      flights.current
        ? flights.current.promise.then(noop, noop)
        : tabs().remoteSettled(options.reloginTimeoutMs),
    lastSuccessAt,
    sessionAlive: (sentAt) => {
      signIn.alive(sentAt)
    },
    relogin: () => flights.start(manualLoss(scope.origin, 'manual')).promise,
    dispose() {
      flights.dispose()
      crossTab.dispose()
    },
  }
  return coordinator
}
