import { clock } from '../clock'
import type { Engine } from '../core/engine'
import type { FetchLike } from '../core/probe'
import { networkErrorSnapshot } from '../core/snapshot'
import { type AuthRequiredError, isAuthRequiredError } from '../errors'
import { unwrap } from '../patch'
import type { RequestFacts } from '../types'
import { inspect, toAuthRequiredResponse } from './fetch'

/** ky 2 passes hooks one state object; ky 1 passes positional arguments. Both are accepted. */
interface KyState {
  request: Request
  options: { fetch?: FetchLike } & Record<string, unknown>
  response?: Response
  error?: Error
}

/**
 * The hooks object for `ky.create({ hooks })` / `ky.extend({ hooks })`. Typed loosely on purpose:
 * ky 1 and ky 2 declare different hook signatures, and this one object fits both.
 *
 * @example
 * const hooks: KyReauthHooks = kyReauth(reauth)
 * const api = ky.extend({ hooks })
 */
export interface KyReauthHooks {
  beforeRequest: ((...args: any[]) => any)[]
  afterResponse: ((...args: any[]) => any)[]
  beforeRetry: ((...args: any[]) => any)[]
  beforeError: ((...args: any[]) => any)[]
  /** ky 2 only (ky 1 ignores it): puts ky's fetch behind the SDK's network-failure guard. */
  init: ((...args: any[]) => any)[]
}

const isRequest = (value: unknown): value is Request =>
  typeof Request !== 'undefined' && value instanceof Request

const factsOf = (engine: Engine, request: Request): RequestFacts | null => {
  const url = engine.scope.resolve(request.url)
  if (!engine.scope.test(url)) return null
  return { url, method: request.method.toUpperCase(), accept: request.headers.get('accept'), inScope: true }
}

/**
 * An unread copy of `request` for the replay, or null; ky 2 without retries hands the hook the request it
 * already sent, whose body is spent: it is rebuilt from the options' body (unless that is a stream).
 */
const spareOf = (request: Request, options: KyState['options']): Request | null => {
  const body = options.body as BodyInit | null | undefined
  if (!request.bodyUsed) return request.clone()
  return body != null && !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream)
    ? new Request(request, { body })
    : null
}

/**
 * Hand a lost session to the engine: the replay goes through `send` (ky's fetch, or the base fetch) with
 * an unread copy of the request; what re-login cannot save becomes the synthetic 401 `Response`.
 */
const recover = (
  engine: Engine,
  error: AuthRequiredError,
  facts: RequestFacts,
  request: Request,
  options: KyState['options'],
  sentAt: number | undefined,
  send: (request: Request) => Promise<Response>,
): Promise<Response> => {
  const spare = spareOf(request, options)
  return engine
    .recover<Response>(error, {
      facts,
      sentAt,
      signal: request.signal,
      notReplayable: spare ? null : 'the request body was a stream that has already been sent',
      send: () =>
        engine.run<Response>({
          facts,
          isReplay: true,
          signal: request.signal,
          send: () => send((spare ?? request).clone()),
          inspect,
          inspectError: (e) => (e instanceof TypeError ? networkErrorSnapshot(facts.url) : null),
        }),
    })
    .catch(toAuthRequiredResponse)
}

/** Wait at the gate; a re-login that fails there becomes the synthetic 401, which ky turns into its HTTPError. */
const pass = async (
  engine: Engine,
  facts: RequestFacts,
  signal: AbortSignal,
): Promise<Response | undefined> => {
  const held = engine.gate(facts, signal)
  if (!held) return undefined
  try {
    await held
    return undefined
  } catch (error) {
    return toAuthRequiredResponse(error)
  }
}

/**
 * ky's fetch, behind what catches the network failure of an in-scope request (ky 2 wraps it in its own
 * `NetworkError` and retries it before any hook sees it): a lost session is recovered here, where the
 * replayed `Response` can still be handed back; anything else is rethrown for ky to retry as usual.
 * Responses are left to `afterResponse`. Each attempt (ky's retries too) waits at the gate first.
 */
const guardNetwork =
  (engine: Engine, underlying: FetchLike, options: KyState['options']) =>
  async (request: Request, init?: RequestInit): Promise<Response> => {
    const facts = factsOf(engine, request)
    if (!facts) return underlying(request, init)
    const held = await pass(engine, facts, request.signal)
    if (held) return held
    // The replay needs an unread body: the copy is taken before this one is sent.
    const spare = request.body !== null && !request.bodyUsed ? request.clone() : null
    const sentAt = clock()
    try {
      return await underlying(request, init)
    } catch (error) {
      if (!(error instanceof TypeError)) throw error
      const lost = await engine.judge(networkErrorSnapshot(facts.url), facts, error, sentAt)
      if (!lost) throw error
      return recover(engine, lost, facts, spare ?? request, options, sentAt, (r) => underlying(r))
    }
  }

/**
 * Build ky hooks that put the SDK in front of every in-scope ky request: headers in `beforeRequest`,
 * detection and replay in `afterResponse`. A lost session that re-login cannot save becomes the
 * synthetic 401 `Response`, so ky throws its own `HTTPError` (status 401, `authRequiredReason()` reads
 * it) and does not retry it. ky 2 wraps a network failure in its `NetworkError` and retries it before any
 * hook sees it: its `init` hook puts ky's fetch behind `guardNetwork`, where a lost session is recovered
 * (ky 1 has no `init` hook and never shows a network failure to hooks: it needs `fetch: reauth.fetch`).
 *
 * @example
 * const api = ky.create({ hooks: createKyHooks(engineOf(reauth)) })
 */
export const createKyHooks = (engine: Engine, sdkFetch?: unknown): KyReauthHooks => {
  const sent = new WeakMap<Request, number>()

  const beforeRequest = async (a: Request | KyState): Promise<Response | undefined> => {
    const request = isRequest(a) ? a : a.request
    const facts = factsOf(engine, request)
    if (!facts) return undefined
    for (const [name, value] of engine.headersFor((n) => request.headers.get(n), facts.url))
      request.headers.set(name, value)
    // Held while a re-login runs: sending it now would only mint another CSRF cookie. A failed re-login
    // answers it with the SDK's 401, which ky (1 and 2) turns into its own HTTPError and does not retry.
    const failed = await pass(engine, facts, request.signal)
    sent.set(request, clock())
    return failed
  }

  const afterResponse = async (
    a: Request | KyState,
    b?: KyState['options'],
    c?: Response,
  ): Promise<Response | undefined> => {
    const { request, options, response } = isRequest(a) ? { request: a, options: b ?? {}, response: c } : a
    if (!response) return undefined
    const facts = factsOf(engine, request)
    if (!facts) return undefined
    // The patched fetch (or `fetch: reauth.fetch`) already judged this request: its 401 is final.
    const error = await engine.judge(await inspect(response, facts), facts, undefined, sent.get(request))
    if (!error) return undefined
    // Looked up when the replay goes out: `install()`/`uninstall()` may have changed the base fetch since.
    const send = (r: Request) => (typeof options.fetch === 'function' ? options.fetch : engine.baseFetch())(r)
    return recover(engine, error, facts, request, options, sent.get(request), send)
  }

  // ky 1 retries any error a hook throws for GET; an AuthRequiredError must end the request instead.
  const beforeRetry = (state: { error?: unknown }): void => {
    if (isAuthRequiredError(state.error)) throw state.error
  }

  // ky 2 (ky 1 has no init hooks): its fetch goes behind the network guard, the app's own `fetch` included.
  // An SDK fetch (`fetch: reauth.fetch`) judges network failures itself.
  const init = (options: KyState['options']): void => {
    const own = options.fetch
    if (typeof own === 'function' && (own === sdkFetch || unwrap(own) !== own)) return
    const underlying: FetchLike =
      typeof own === 'function' ? own : (input, init) => engine.baseFetch()(input, init)
    options.fetch = guardNetwork(engine, underlying, options) as FetchLike
  }

  return {
    beforeRequest: [beforeRequest],
    afterResponse: [afterResponse],
    beforeRetry: [beforeRetry],
    beforeError: [],
    init: [init],
  }
}
