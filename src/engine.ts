import { clock } from './clock'
import { type Coordinator, pageLocks } from './coordinator'
import { createWire, type Wire } from './coordinator/wire'
import { createHeaderPolicy } from './core/headers'
import { classify, needsPeek, PEEK_BYTES } from './detect'
import { AuthRequiredError } from './errors'
import type { ReauthEmitter } from './events'
import { sharedGuarded } from './flights'
import type { NormalizedOptions } from './options'
import { unwrap } from './patch'
import { createSessionProbe, type FetchLike, type SessionProbe } from './probe'
import { createScope, type Scope } from './scope'
import type { AuthSignal, GuardedRequest, ProxyProfile, RequestFacts, ResponseSnapshot } from './types'

/**
 * The shared core every adapter talks to: scope, headers, detection (+ probe) and the coordinator.
 * Adapters translate their library's idiom to and from these calls; they decide nothing.
 */
export interface Engine {
  readonly options: NormalizedOptions
  readonly profile: ProxyProfile
  readonly emitter: ReauthEmitter
  readonly scope: Scope
  readonly probe: SessionProbe
  readonly coordinator: Coordinator
  /** The fetch underneath any ajax-reauth wrapper, looked up at call time so later wrappers compose. */
  baseFetch(): FetchLike
  /**
   * The one header policy of every adapter: given a getter for the values an in-scope request has
   * (lower-case names, null when missing), the headers to set, each with its whole new value. `Accept`
   * is set when missing and extended when it admits JSON without naming it (`*\/*` →
   * `*\/*, application/json`); `X-Requested-With` is set when missing. Nothing the app set is dropped.
   */
  headersFor(get: (lowerCaseName: string) => string | null): [string, string][]
  /**
   * The gate: null when the request may go now, else a promise that resolves once the re-login in flight
   * has succeeded, and rejects (`AuthRequiredError`, or the abort of `signal`) otherwise.
   */
  gate(facts: Pick<RequestFacts, 'url' | 'method'>, signal?: AbortSignal | null): Promise<void> | null
  /**
   * Classify a response (or a network failure) and confirm ambiguous signals with the probe. Returns the
   * error to report, or null when the proxy did not answer it (the session is fine, or nothing is proven).
   * `sentAt` (`clock()` when the request went out) lets a network failure that lands after a re-login
   * restored the session count as the lost session it was.
   */
  judge(
    snapshot: ResponseSnapshot,
    facts: RequestFacts,
    cause?: unknown,
    sentAt?: number,
  ): AuthRequiredError | null | Promise<AuthRequiredError | null>
  /**
   * Can this response be cleared from its status line and headers alone? True when `classify()` finds
   * nothing and no body peek is needed: adapters that must hold events back (XHR) release them early.
   */
  clearsEarly(snapshot: ResponseSnapshot, facts: RequestFacts): boolean
  /** Hand a lost session to the coordinator, applying the `replay` policy to `request.send`. */
  recover<T>(error: AuthRequiredError, request: GuardedRequest<T>): Promise<T>
  /**
   * Requests an inner patch (the XHR patch) already guarded → the error it completed them with, or
   * null when it found the session fine. Outer adapters (axios) look here so one loss is reported once.
   */
  readonly guarded: WeakMap<object, AuthRequiredError | null>
  /** The full lifecycle of a promise-based request (fetch, ky): gate, send, judge, recover. */
  run<T>(request: RunRequest<T>): Promise<T>
  /** This page's requests on the wire (and, with Web Locks, other tabs'): a re-login waits for them. */
  readonly wire: Wire
  /** `wire.track()`: count an in-scope request as on the wire until its response headers arrive. */
  track(): () => void
}

/** A request the engine sends itself (`run`): `send` and both snapshots are required. */
export type RunRequest<T> = GuardedRequest<T> & {
  send: () => Promise<T>
  inspect: NonNullable<GuardedRequest<T>['inspect']>
  inspectError: NonNullable<GuardedRequest<T>['inspectError']>
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

export const isAbortError = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError'

/** How long a body peek may wait for the first chunk: a slow or endless stream is judged without it. */
export const PEEK_WAIT_MS = 150

/**
 * Read the start of a cloned body without touching the app's copy: what arrived by the first chunk (up to
 * `PEEK_BYTES`), within `PEEK_WAIT_MS`. The response is never held back longer, so a streamed page reaches
 * the app as fast as natively; the app's branch of the tee keeps every byte.
 */
const peekBody = async (response: Response): Promise<string> => {
  const reader = response.clone().body!.getReader()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), PEEK_WAIT_MS)
  })
  try {
    const first = await Promise.race([reader.read(), late])
    if (!first || first.done || !first.value) return ''
    return new TextDecoder().decode(first.value.subarray(0, PEEK_BYTES * 4)).slice(0, PEEK_BYTES)
  } catch {
    // A body that errors is judged on its status line and headers.
    return ''
  } finally {
    clearTimeout(timer)
    reader.cancel().catch(() => {})
  }
}

/**
 * What detection needs of a fetch `Response`. Synchronous unless an in-scope HTML body (or a 401's) must be
 * peeked (the hot path of a JSON response costs no extra promise tick).
 */
export const snapshotResponse = (
  response: Response,
  inScope: boolean,
): ResponseSnapshot | Promise<ResponseSnapshot> => {
  const { status, headers } = response
  const contentType = headers.get('content-type')
  const snapshot: ResponseSnapshot = {
    status,
    type: response.type,
    redirected: response.redirected,
    url: response.url,
    contentType,
    location: (status >= 300 && status < 400) || status === 401 ? headers.get('location') : null,
  }
  if (!inScope || !response.body || !needsPeek(status, contentType)) return snapshot
  return peekBody(response).then((bodyPeek) => ({ ...snapshot, bodyPeek }))
}

export const networkErrorSnapshot = (url: string): ResponseSnapshot => ({
  status: 0,
  type: 'error',
  redirected: false,
  url,
  contentType: null,
})

export const createEngine = (deps: {
  options: NormalizedOptions
  emitter: ReauthEmitter
  coordinator: (engine: Omit<Engine, 'coordinator' | 'run' | 'recover' | 'guarded'>) => Coordinator
  /** The fetch under the SDK; by default `globalThis.fetch` at call time, seen through SDK wrappers. */
  baseFetch?: () => FetchLike
}): Engine => {
  const { options, emitter } = deps
  const profile = options.profile
  const scope = createScope(options, profile)
  const baseFetch = deps.baseFetch ?? ((): FetchLike => unwrap(globalThis.fetch).bind(globalThis))
  const probe = createSessionProbe(profile, baseFetch, () => scope.origin)
  let coordinator!: Coordinator
  const headersFor = createHeaderPolicy(options)

  /** Did the proxy (not the upstream, not the network) answer this ambiguous signal? */
  const confirm = async (signal: AuthSignal, sentAt: number | undefined): Promise<boolean> => {
    const { reason } = signal
    if (reason === 'network-error' && sentAt !== undefined && coordinator.gated) {
      // The session is known lost and its re-login is under way: no probe per straggler of the burst.
      await coordinator.settled()
      if (sentAt < coordinator.lastSuccessAt()) return true
    }
    let result = await probe()
    // Behind a burst, the probe can sit in the browser's queue of six connections per host until it times
    // out; by then the queue has moved. Ask once more before calling the failure unproven.
    if (result === 'unknown' && reason === 'network-error') result = await probe()
    if (result !== 'signed-in') return result === 'signed-out'
    if ((reason !== 'network-error' && !signal.fingerprint) || sentAt === undefined) return false
    // A redirect to the identity provider fails CORS only once the provider has answered: with a slow
    // provider, a request sent with the dead cookie fails after another request's re-login restored the
    // session. Sent before a re-login that ended since, it carried the dead cookie. (No upstream answered
    // it readably, so replaying it is what the app would have got.) The same for the proxy's own 401
    // (its fingerprint), answered after the re-login: the probe now says signed in, but it was sent dead.
    if (sentAt < coordinator.lastSuccessAt()) return true
    if (reason !== 'network-error') return false
    await coordinator.settled()
    return sentAt < coordinator.lastSuccessAt()
  }

  const judge = (
    snapshot: ResponseSnapshot,
    facts: RequestFacts,
    cause?: unknown,
    sentAt?: number,
  ): AuthRequiredError | null | Promise<AuthRequiredError | null> => {
    const signal = classify(snapshot, facts, profile)
    if (!signal) return null
    const lost = (): AuthRequiredError =>
      new AuthRequiredError({
        reason: signal.reason,
        url: facts.url,
        method: facts.method,
        cause: cause ?? signal.detail,
      })
    if (!signal.needsProbe) return lost()
    return confirm(signal, sentAt).then((yes) => (yes ? lost() : null))
  }

  const wire = createWire({
    locks: pageLocks(options),
    name: `ajax-reauth:${scope.origin}:${profile.name}:wire`,
  })

  const clearsEarly = (snapshot: ResponseSnapshot, facts: RequestFacts): boolean =>
    !needsPeek(snapshot.status, snapshot.contentType) && classify(snapshot, facts, profile) === null

  const gate = (facts: Pick<RequestFacts, 'url' | 'method'>, signal?: AbortSignal | null) =>
    coordinator.gated ? coordinator.gate(facts.url, facts.method, signal) : null

  const base = {
    options,
    profile,
    emitter,
    scope,
    probe,
    baseFetch,
    headersFor,
    gate,
    judge,
    clearsEarly,
    wire,
    track: wire.track,
  }
  // judge() reads the coordinator lazily: it exists once createEngine returns.
  coordinator = deps.coordinator(base)

  const recover = <T>(error: AuthRequiredError, req: GuardedRequest<T>): Promise<T> => {
    const policy = options.replay
    const replayable =
      !req.notReplayable &&
      (policy === 'all' || (policy === 'idempotent' && IDEMPOTENT.has(req.facts.method)))
    return coordinator.recover(error, { ...req, send: replayable ? req.send : null })
  }

  const run = async <T>(req: RunRequest<T>): Promise<T> => {
    const { facts, signal } = req
    if (coordinator.gated && !req.isReplay) {
      if (coordinator.isOwnRequest(facts.url)) return req.send()
      await coordinator.gate(facts.url, facts.method, signal)
    }
    const untrack = wire.track()
    const sentAt = clock()
    let result: T
    try {
      result = await req.send()
    } catch (thrown) {
      untrack()
      const snapshot = isAbortError(thrown) ? null : req.inspectError(thrown)
      const lost = snapshot && (await judge(snapshot, facts, thrown, sentAt))
      if (!lost) throw thrown
      return recoverRun(req, lost, sentAt)
    }
    untrack()
    // Awaited only when a body peek or a probe is needed: a healthy response costs no extra tick.
    const inspected = req.inspect(result)
    const verdict = judge(
      inspected instanceof Promise ? await inspected : inspected,
      facts,
      undefined,
      sentAt,
    )
    const error = verdict instanceof Promise ? await verdict : verdict
    return error ? recoverRun(req, error, sentAt) : result
  }

  const recoverRun = <T>(req: RunRequest<T>, error: AuthRequiredError, sentAt: number): Promise<T> =>
    recover(error, { ...req, sentAt, send: () => run({ ...req, isReplay: true }) })

  return { ...base, coordinator, recover, guarded: sharedGuarded<AuthRequiredError | null>(), run }
}
