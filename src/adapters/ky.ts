import { clock } from '../clock'
import type { Engine } from '../core/engine'
import type { FetchLike } from '../core/probe'
import { networkErrorSnapshot } from '../core/snapshot'
import { type AuthRequiredError, isAuthRequiredError } from '../errors'
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
 * Hand a lost session to the engine: the replay goes through ky's `fetch` (the base fetch without one)
 * with an unread copy of the request; what re-login cannot save becomes the synthetic 401 `Response`.
 */
const recover = (
  engine: Engine,
  error: AuthRequiredError,
  facts: RequestFacts,
  request: Request,
  options: KyState['options'],
  sentAt: number | undefined,
): Promise<Response> => {
  const spare = spareOf(request, options)
  // Looked up when the replay goes out: `install()`/`uninstall()` may have changed the base fetch since.
  const fetch = (r: Request) => (typeof options.fetch === 'function' ? options.fetch : engine.baseFetch())(r)
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
          send: () => fetch((spare ?? request).clone()),
          inspect,
          inspectError: (e) => (e instanceof TypeError ? networkErrorSnapshot(facts.url) : null),
        }),
    })
    .catch(toAuthRequiredResponse)
}

/**
 * Build ky hooks that put the SDK in front of every in-scope ky request: headers in `beforeRequest`,
 * detection and replay in `afterResponse`. A lost session that re-login cannot save becomes the
 * synthetic 401 `Response`, so ky throws its own `HTTPError` (status 401, `authRequiredReason()` reads
 * it) and does not retry it. ky 2 hands network failures to `beforeError` only: a lost session found
 * there rejects with `AuthRequiredError`.
 *
 * @example
 * const api = ky.create({ hooks: createKyHooks(engineOf(reauth)) })
 */
export const createKyHooks = (engine: Engine): KyReauthHooks => {
  const sent = new WeakMap<Request, number>()

  const beforeRequest = async (a: Request | KyState): Promise<void> => {
    const request = isRequest(a) ? a : a.request
    const facts = factsOf(engine, request)
    if (!facts) return
    for (const [name, value] of engine.headersFor((n) => request.headers.get(n), facts.url))
      request.headers.set(name, value)
    // Held while a re-login runs: sending it now would only mint another CSRF cookie.
    const held = engine.gate(facts, request.signal)
    if (held) await held
    sent.set(request, clock())
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
    return error ? recover(engine, error, facts, request, options, sent.get(request)) : undefined
  }

  // ky 1 retries any error a hook throws for GET; an AuthRequiredError must end the request instead.
  const beforeRetry = (state: { error?: unknown }): void => {
    if (isAuthRequiredError(state.error)) throw state.error
  }

  // ky 2 reports network failures here (ky 1 does not call beforeError for them).
  const beforeError = async (a: Error | KyState): Promise<Error> => {
    if (a instanceof Error) return a
    const { error, request } = a
    if (!error || isAuthRequiredError(error) || !(error instanceof TypeError) || !request)
      return error as Error
    const facts = factsOf(engine, request)
    if (!facts) return error
    const lost = await engine.judge(networkErrorSnapshot(facts.url), facts, error, sent.get(request))
    if (!lost) return error
    return engine.recover<never>(lost, { facts, send: null }).catch((final: unknown) => final as Error)
  }

  return {
    beforeRequest: [beforeRequest],
    afterResponse: [afterResponse],
    beforeRetry: [beforeRetry],
    beforeError: [beforeError],
  }
}
