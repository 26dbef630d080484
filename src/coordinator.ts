import { clock } from './clock'
import { type CrossTab, createCrossTab } from './cross-tab'
import { AuthRequiredError, ReauthError, ReauthQueueFullError } from './errors'
import type { InteractionRequiredEvent, ReauthEmitter } from './events'
import type { NormalizedOptions, ReloginStrategy } from './options'
import type { FetchLike, SessionProbe } from './probe'
import {
  createStrategy,
  InteractionRequiredError,
  isInteractionRequiredError,
  openPopup,
  prepareRelogin,
  type Strategy,
} from './relogin'
import type { ProxyProfile } from './types'

export type ReauthState = 'idle' | 'reauthenticating' | 'circuit-open'

export interface RecoverOptions<T> {
  /** Sends the request again after a successful re-login; null when it cannot or must not be replayed. */
  replay: (() => Promise<T>) | null
  /** The app's signal: aborts the wait in the queue. */
  signal?: AbortSignal | null | undefined
  /** This request already is a replay: a second lost session rejects and starts nothing. */
  isReplay?: boolean
  /** Why the request cannot be replayed (a stream body); kept as the rejection's cause. */
  notReplayable?: string | null | undefined
  /** When (`clock()`) the request went out: one sent before the last successful re-login is just replayed. */
  sentAt?: number | undefined
}

/** One flight per page, gate, queue, replay, circuit breaker. */
export interface Coordinator {
  readonly state: ReauthState
  /** Is a re-login in flight (new in-scope requests must wait at the gate)? */
  readonly gated: boolean
  /** Wait at the gate until the flight ends; rejects with `AuthRequiredError` if it fails. */
  gate(url: string, method: string, signal?: AbortSignal | null): Promise<void>
  /** A request lost its session: report it, join or start a flight, replay or reject. */
  recover<T>(error: AuthRequiredError, options: RecoverOptions<T>): Promise<T>
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
  /** Resolves once no in-scope request of this page is on the wire. */
  drained?: () => Promise<void>
  /** Tells when this page's requests go on the wire and when the last one lands. */
  onWireChange?: (listener: (busy: boolean) => void) => void
  /** Test seams. */
  strategy?: Strategy
  crossTab?: () => CrossTab
  now?: () => number
}

interface Flight {
  generation: number
  /** The re-login URL: the strategy's own requests to it never wait at the gate. */
  url: string | null
  /** The blank popup `start()` opened in the click, for the popup strategy to navigate. */
  popup: Window | null
  /** Ended by uninstall, not by a failed re-login: does not count towards the circuit. */
  disposed: boolean
  promise: Promise<void>
  controller: AbortController
  error: AuthRequiredError
}

const noop = (): void => {}

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError')

interface LockManagerLike {
  request(
    name: string,
    options: { mode?: 'shared' | 'exclusive'; signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>
}

/**
 * How long a failed silent re-login is remembered (at most the circuit's cooldown): losses within it fail
 * fast with no new flight, so an HTTP client's own retries (ofetch once, ky 1 twice, TanStack Query three
 * times within ~7 s) cost no extra re-login.
 */
export const FAILURE_MEMORY_MS = 10_000

/** A request that hangs must not hold a re-login back for long. */
const DRAIN_MAX_MS = 1500
/** How long a tab keeps its shared "wire" lock after its last request landed. */
const WIRE_LINGER_MS = 250

/** `promise`, or nothing after `ms`; the timer goes as soon as either settles. */
const within = (promise: Promise<void>, ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

/** Wait for `promise`, or reject as soon as `signal` aborts. */
const waitFor = <T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> => {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

export const createCoordinator = (deps: CoordinatorDeps): Coordinator => {
  const { options, emitter, profile, probe, scope } = deps
  const now = deps.now ?? Date.now
  const strategy = deps.strategy ?? createStrategy(options.relogin)
  let crossTab: CrossTab | null = null
  const tabs = (): CrossTab => {
    if (crossTab) return crossTab
    crossTab = (
      deps.crossTab ??
      (() => createCrossTab({ enabled: options.crossTab, origin: scope.origin, profileName: profile.name }))
    )()
    // Another tab's success also ends this tab's open circuit.
    crossTab.onRemote((msg) => {
      if (msg.kind !== 'success') return
      endEpisode()
      if (openUntil > 0) closeCircuit()
    })
    return crossTab
  }

  // Other tabs' requests on the wire carry the old cookie too. Where Web Locks exist, every tab holds a
  // shared "wire" lock while it has requests out; the leader takes it exclusively (briefly) before it
  // signs in, i.e. once every tab's requests have landed.
  const locks = options.crossTab
    ? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
    : undefined
  const wireLock = `ajax-reauth:${scope.origin}:${profile.name}:wire`
  let releaseWire: (() => void) | null = null
  let linger: ReturnType<typeof setTimeout> | undefined
  const dropWire = (): void => {
    clearTimeout(linger)
    linger = undefined
    releaseWire?.()
    releaseWire = null
  }
  deps.onWireChange?.((busy) => {
    if (!locks) return
    if (busy) {
      clearTimeout(linger)
      linger = undefined
      if (releaseWire) return
      const held = new Promise<void>((resolve) => {
        releaseWire = resolve
      })
      locks.request(wireLock, { mode: 'shared' }, () => held).catch(() => {})
    } else if (releaseWire && linger === undefined) {
      // Kept a little after the last request lands: a lock request is a round trip to the browser
      // process, and back-to-back requests should not pay it each time.
      linger = setTimeout(dropWire, WIRE_LINGER_MS)
    }
  })
  /** This page's requests and (with Web Locks) every tab's have landed, or DRAIN_MAX_MS passed. */
  const quiet = (): Promise<void> => {
    const give = new AbortController()
    const landed = (deps.drained?.() ?? Promise.resolve()).then(() => {
      dropWire()
      return locks?.request(wireLock, { mode: 'exclusive', signal: give.signal }, async () => {})
    })
    return within(
      landed.then(
        () => {},
        () => {},
      ),
      DRAIN_MAX_MS,
    ).finally(() => give.abort())
  }

  let flight: Flight | null = null
  let localSuccessAt = Number.NEGATIVE_INFINITY
  const lastSuccessAt = (): number => Math.max(localSuccessAt, tabs().lastSuccessAt())
  let generation = 0
  let waiting = 0
  let failures: number[] = []
  let openUntil = 0
  /** An episode runs from the first loss until a success: `reauth:required` fires once per episode. */
  let episode = false
  /** The last failed silent re-login, remembered: losses right after it fail fast, with no new flight. */
  let failed: { at: number; error: Error } | null = null
  const endEpisode = (): void => {
    episode = false
    failed = null
  }

  const circuitOpen = (): boolean => openUntil > 0 && now() < openUntil

  const openCircuit = (): void => {
    openUntil = now() + options.circuit.cooldownMs
    emitter.emit('circuit:open', { failures: failures.length, until: openUntil })
  }
  const closeCircuit = (): void => {
    const wasOpen = openUntil > 0
    failures = []
    openUntil = 0
    if (wasOpen) emitter.emit('circuit:close', { reason: 'success' })
  }

  /** Once per episode: for the loss that opens it (a flight, or joining another tab's). */
  const report = (error: AuthRequiredError): void => {
    if (episode) return
    episode = true
    emitter.emit('reauth:required', { error, reason: error.reason, url: error.url, method: error.method })
  }

  /** The loss comes right after a failed re-login: fail fast with its reason, start nothing. */
  const recentFailure = (): Error | null => {
    if (failed && now() - failed.at >= Math.min(FAILURE_MEMORY_MS, options.circuit.cooldownMs)) endEpisode()
    return failed?.error ?? null
  }

  /** The proxy's page-less refresh (Easy Auth's /.auth/refresh), then the strategy; the probe confirms. */
  const reloginOnce = async (
    signal: AbortSignal,
    current: Flight,
    run: Strategy,
    relogin: ReloginStrategy,
  ): Promise<void> => {
    const { error } = current
    const origin = scope.origin
    if (profile.refreshPath && origin) {
      const refreshed = await deps
        .baseFetch()(origin + profile.refreshPath, { credentials: 'same-origin', redirect: 'manual', signal })
        .then((r) => r.ok)
        .catch(() => false)
      if (refreshed && (await probe()) === 'signed-in') return
    }
    const target = prepareRelogin({ relogin, profile, callbackPath: options.callbackPath }, origin)
    current.url = target.url
    // A late answer to a request sent with the old cookie clears the new one (oauth2-proxy clears a bad
    // session cookie on every answer): let this page's requests on the wire land first, and run the
    // strategy a second time if another tab's late answer still wiped the fresh session.
    await waitFor(quiet(), signal)
    for (let attempt = 1; ; attempt++) {
      await run({ signal, error, probe, fetch: deps.baseFetch(), popup: current.popup, ...target })
      signal.throwIfAborted()
      // A profile without a probe trusts its strategy; otherwise only "signed in" proves a re-login.
      const result = profile.probe ? await probe() : 'signed-in'
      if (result === 'signed-in') return
      if (result === 'unknown')
        throw new ReauthError('re-login finished but the session probe gave no answer (error or timeout)')
      if (attempt === 2)
        throw new ReauthError('re-login finished but the session probe still reports no session')
    }
  }

  // Called from the app's click handler: a popup needs that user gesture. Without one (a call straight from
  // the event handler) it fails at once and starts nothing, so it can never loop; where the browser cannot
  // tell, the circuit bounds it.
  const interactive = (): Promise<void> => {
    const activation = (globalThis as { navigator?: { userActivation?: { isActive: boolean } } }).navigator
      ?.userActivation
    if (activation ? !activation.isActive : circuitOpen()) {
      return Promise.reject(new InteractionRequiredError('no-user-gesture'))
    }
    const cause = 'interaction'
    // Opened now, inside the click: after the flight's awaits (lock, drain) WebKit refuses window.open.
    const popup = flight ? null : openPopup('about:blank')
    return startFlight(
      new AuthRequiredError({ reason: 'unauthorized', url: scope.origin, method: 'GET', cause }),
      'popup',
      popup,
    ).promise
  }

  const startFlight = (
    error: AuthRequiredError,
    relogin: ReloginStrategy = options.relogin,
    popup: Window | null = null,
  ): Flight => {
    if (flight) return flight
    const run = relogin === options.relogin ? strategy : createStrategy(relogin)
    const controller = new AbortController()
    const startedAt = now()
    const timer = setTimeout(
      () => controller.abort(new ReauthError(`re-login timed out after ${options.reloginTimeoutMs} ms`)),
      options.reloginTimeoutMs,
    )
    const current: Flight = {
      generation: ++generation,
      url: null,
      popup,
      disposed: false,
      controller,
      error,
      promise: Promise.resolve(),
    }
    const strategyName = typeof relogin === 'string' ? relogin : 'custom'
    current.promise = (async () => {
      let leader = true
      try {
        emitter.emit('reauth:start', { generation: current.generation, strategy: strategyName })
        const outcome = await tabs().flight(
          (signal) => reloginOnce(signal, current, run, relogin),
          controller.signal,
        )
        leader = outcome.leader
        localSuccessAt = clock()
        if (flight === current) flight = null
        endEpisode()
        closeCircuit()
        emitter.emit('reauth:success', {
          generation: current.generation,
          durationMs: now() - startedAt,
          leader,
        })
      } catch (thrown) {
        // Cleared before the events, so a listener that starts a new flight (start()) gets a new one.
        if (flight === current) flight = null
        const failure = thrown instanceof Error ? thrown : new ReauthError(String(thrown))
        // An uninstall is not a failed re-login: it must not count towards the circuit.
        if (!current.disposed) {
          const t = now()
          failures = [...failures.filter((f) => t - f < options.circuit.windowMs), t]
          failed = { at: t, error: failure }
          if (openUntil > 0 || failures.length >= options.circuit.failures) openCircuit()
        }
        emitter.emit('reauth:failure', { generation: current.generation, error: failure, leader })
        if (isInteractionRequiredError(failure)) {
          const event: InteractionRequiredEvent = { reason: failure.reason, start: interactive }
          emitter.emit('reauth:interaction-required', event)
        }
        throw failure
      } finally {
        clearTimeout(timer)
        // A flight that ended before its strategy (timeout, another tab signed in) leaves no blank window.
        try {
          if (popup && !popup.closed) popup.close()
        } catch {}
        if (flight === current) flight = null
      }
    })()
    // Waiters attach their own handlers; this one keeps an unobserved failure from being reported.
    current.promise.catch(() => {})
    flight = current
    return current
  }

  /** Count a request against maxQueue while it waits for `flight`. */
  const hold = async <T>(work: () => Promise<T>): Promise<T> => {
    waiting++
    try {
      return await work()
    } finally {
      waiting--
    }
  }

  const coordinator: Coordinator = {
    get state(): ReauthState {
      return flight ? 'reauthenticating' : circuitOpen() ? 'circuit-open' : 'idle'
    },
    get gated() {
      return flight !== null
    },

    gate(url, method, signal) {
      const current = flight
      if (!current || url === current.url) return Promise.resolve()
      if (waiting >= options.maxQueue) {
        return Promise.reject(
          new AuthRequiredError({
            reason: current.error.reason,
            url,
            method,
            cause: new ReauthQueueFullError(
              `more than ${options.maxQueue} requests are waiting for a re-login`,
            ),
          }),
        )
      }
      return hold(() =>
        waitFor(current.promise, signal).catch((cause) => {
          if (signal?.aborted) throw cause
          throw new AuthRequiredError({ reason: current.error.reason, url, method, cause })
        }),
      )
    },

    async recover(error, { replay, signal, isReplay, notReplayable, sentAt }) {
      if (isReplay) throw error
      // It went out with the old cookie before a re-login (in any tab) succeeded: the session is back,
      // a new flight would only mint another CSRF cookie.
      if (replay && !flight && sentAt !== undefined && sentAt < lastSuccessAt()) {
        emitter.emit('request:replayed', { url: error.url, method: error.method, generation })
        return replay()
      }
      // Read first: an expired memory ends its episode, so this loss opens a new one (and is reported).
      const recent = flight ? null : recentFailure()
      report(error)
      if (error.reason === 'header-overflow') {
        // Every re-login would mint one more CSRF cookie: stop instead of looping.
        if (!circuitOpen()) openCircuit()
        throw error
      }
      if (circuitOpen()) {
        throw new AuthRequiredError({
          reason: 'circuit-open',
          url: error.url,
          method: error.method,
          cause: error,
        })
      }
      // One app call costs at most one flight, however often its HTTP client retries.
      if (recent) {
        throw new AuthRequiredError({
          reason: error.reason,
          url: error.url,
          method: error.method,
          cause: recent,
        })
      }
      const current = startFlight(error)
      if (!replay) {
        if (!notReplayable) throw error
        throw new AuthRequiredError({
          reason: error.reason,
          url: error.url,
          method: error.method,
          cause: notReplayable,
        })
      }
      if (waiting >= options.maxQueue) {
        throw new AuthRequiredError({
          reason: error.reason,
          url: error.url,
          method: error.method,
          cause: new ReauthQueueFullError(
            `more than ${options.maxQueue} requests are waiting for a re-login`,
          ),
        })
      }
      await hold(() =>
        waitFor(current.promise, signal).catch((cause) => {
          if (signal?.aborted) throw cause
          throw error
        }),
      )
      emitter.emit('request:replayed', {
        url: error.url,
        method: error.method,
        generation: current.generation,
      })
      return replay()
    },

    isOwnRequest(url) {
      return flight !== null && flight.url === url
    },

    settled() {
      // Without a flight here, another tab's may be restoring the session this request found dead.
      return flight ? flight.promise.then(noop, noop) : tabs().remoteSettled(options.reloginTimeoutMs)
    },

    lastSuccessAt,

    relogin() {
      const error = new AuthRequiredError({
        reason: 'unauthorized',
        url: scope.origin,
        method: 'GET',
        cause: 'manual',
      })
      return startFlight(error).promise
    },

    dispose() {
      if (flight) {
        flight.disposed = true
        flight.controller.abort(new ReauthError('ajax-reauth was uninstalled during a re-login'))
        flight = null
      }
      crossTab?.dispose()
      crossTab = null
    },
  }

  return coordinator
}
