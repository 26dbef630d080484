import { type Coordinator, pageLocks } from '../coordinator'
import { createWire, type Wire } from '../coordinator/wire'
import type { AuthRequiredError } from '../errors'
import type { ReauthEmitter } from '../events'
import { sharedGuarded } from '../flights'
import type { NormalizedOptions } from '../options'
import { unwrap } from '../patch'
import type { GuardedRequest, ProxyProfile, RequestFacts, ResponseSnapshot } from '../types'
import { classify, needsPeek } from './detect'
import { createHeaderPolicy } from './headers'
import { createJudge } from './judge'
import { memo } from './memo'
import { createSessionProbe, type FetchLike, type SessionProbe } from './probe'
import { createRun } from './run'
import { createScope, type Scope } from './scope'

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
   * `*\/*, application/json`) unless, on a cross-origin `url`, that would cost its CORS-safelisted
   * status; `X-Requested-With` is set when missing. Nothing the app set is dropped.
   */
  headersFor(get: (lowerCaseName: string) => string | null, url?: string): [string, string][]
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
  /**
   * Count an in-scope request as on the wire until its response headers arrive (`wire.track`); the layer
   * that sends it names it by `facts`, and takes over an outer layer's count for the same request.
   */
  track(facts?: Pick<RequestFacts, 'url' | 'method'>, stop?: AbortController): () => void
  /**
   * May this in-scope request go out with `redirect: 'manual'`, so a redirect to the sign-in shows at once
   * as an opaque redirect? A same-origin GET or HEAD whose URL is not known to redirect as the app's own,
   * on a page no service worker controls (its `respondWith` of a redirected response would fail a manual
   * request). The adapter adds what only it knows: the app chose no `redirect` mode, no `no-cors`.
   */
  seesRedirects(facts: Pick<RequestFacts, 'url' | 'method'>): boolean
  /**
   * An outer layer's count of a request it hands to other layers (axios's interceptors over the patched
   * XHR or fetch): taken over by the layer that sends it, so the request is counted once (`wire.hold`).
   */
  hold(facts: Pick<RequestFacts, 'url' | 'method'>): () => void
}

/** The key under which layers recognise one request on the wire. */
const wireKey = (facts: Pick<RequestFacts, 'url' | 'method'>): string => `${facts.method} ${facts.url}`

/** A request the engine sends itself (`run`): `send` and both snapshots are required. */
export type RunRequest<T> = Omit<GuardedRequest<T>, 'send'> & {
  inspect: NonNullable<GuardedRequest<T>['inspect']>
  inspectError: NonNullable<GuardedRequest<T>['inspectError']>
  /**
   * `send` goes out with `redirect: 'manual'` (`seesRedirects`); this sends it as the app asked. An opaque
   * redirect that is not a lost session (the probe finds the session alive) is the app's own: it is sent
   * again with this, once per URL (remembered), and the app gets that answer. Replays use it too.
   */
  followed?: (() => Promise<T>) | undefined
  /**
   * `send(stop)` honours the signal it is given: a request safe to send again (idempotent, no stream
   * body, replayable) is then aborted at the first proven loss while unanswered, and replayed.
   */
  stoppable?: boolean | undefined
  send: (stop?: AbortSignal) => Promise<T>
  /**
   * What a rejection of the first round becomes (the fetch adapter's synthetic 401), instead of a
   * `.catch()` of the adapter's own: one promise and one tick less per request. Never applied to a replay.
   */
  rejected?: ((error: unknown) => T) | undefined
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

/** `Engine.seesRedirects`: same-origin GET/HEAD, not known to redirect, no service worker in between. */
const seesRedirectsOf =
  (scope: Scope, redirects: { has(url: string): boolean }) =>
  (facts: Pick<RequestFacts, 'url' | 'method'>): boolean =>
    (facts.method === 'GET' || facts.method === 'HEAD') &&
    facts.url.startsWith(scope.origin) &&
    facts.url.charCodeAt(scope.origin.length) === 47 /* / */ &&
    !redirects.has(facts.url) &&
    !(globalThis as { navigator?: { serviceWorker?: { controller?: unknown } } }).navigator?.serviceWorker
      ?.controller

export const createEngine = (deps: {
  options: NormalizedOptions
  emitter: ReauthEmitter
  coordinator: (engine: Omit<Engine, 'coordinator' | 'run' | 'recover' | 'guarded'>) => Coordinator
  /** The fetch under the SDK; by default `globalThis.fetch` at call time, seen through SDK wrappers. */
  baseFetch?: () => FetchLike
}): Engine => {
  const { options, emitter } = deps
  // URLs whose opaque redirect the probe found to be the app's own: sent as the app asked from then on.
  const redirects = memo<true>(() => true)
  const profile = options.profile
  const scope = createScope(options, profile)
  const baseFetch = deps.baseFetch ?? ((): FetchLike => unwrap(globalThis.fetch).bind(globalThis))
  const probe = createSessionProbe(profile, baseFetch, () => scope.origin)
  let coordinator!: Coordinator
  const policy = createHeaderPolicy(options)
  const headersFor = (get: (lowerCaseName: string) => string | null, url?: string): [string, string][] =>
    policy(get, url !== undefined && url !== scope.origin && !url.startsWith(`${scope.origin}/`))

  // judge() reads the coordinator lazily: it exists once createEngine returns.
  const judge = createJudge({ profile, probe, coordinator: () => coordinator })

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
    // The key is built only while some outer layer holds a count: the hot path builds no string.
    track: (facts?: Pick<RequestFacts, 'url' | 'method'>, stop?: AbortController) =>
      wire.track(facts && wire.holding ? wireKey(facts) : undefined, stop),
    seesRedirects: seesRedirectsOf(scope, redirects),
    hold: (facts: Pick<RequestFacts, 'url' | 'method'>) => wire.hold(wireKey(facts)),
  }
  coordinator = deps.coordinator(base)

  const replayable = (req: Pick<GuardedRequest<unknown>, 'notReplayable' | 'facts'>): boolean => {
    const policy = options.replay
    return (
      !req.notReplayable &&
      (policy === 'all' || (policy === 'idempotent' && IDEMPOTENT.has(req.facts.method)))
    )
  }
  const recover = <T>(error: AuthRequiredError, req: GuardedRequest<T>): Promise<T> => {
    const outcome = coordinator.recover(error, { ...req, send: replayable(req) ? req.send : null })
    // The loss is proven and its flight runs: what is still queued in the browser would only reach the
    // proxy with the dead cookie (and, behind a redirecting front, the provider): stop it, replay it.
    if (coordinator.state === 'reauthenticating') wire.stop(error)
    return outcome
  }

  const run = createRun({
    coordinator,
    judge,
    track: base.track,
    recover,
    // Only what is idempotent and what the replay policy would send again is aborted and sent again.
    resendable: (req) => IDEMPOTENT.has(req.facts.method) && replayable(req),
    redirects: (url) => redirects.set(url, true),
  })

  return { ...base, coordinator, recover, guarded: sharedGuarded<AuthRequiredError | null>(), run }
}
