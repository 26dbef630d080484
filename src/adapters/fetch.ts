import type { Engine } from '../core/engine'
import { HYPERMEDIA_HEADERS } from '../core/headers'
import type { FetchLike } from '../core/probe'
import { networkErrorSnapshot, snapshotResponse } from '../core/snapshot'
import { AuthRequiredError, authRequiredReason, authRequiredResponse, isAuthRequiredError } from '../errors'
import type { RequestFacts, ResponseSnapshot } from '../types'

/** A `Request` from any realm (an iframe's fails `instanceof`), duck-typed like msw's interceptors do. */
export const isRequestLike = (input: unknown): input is Request =>
  typeof input === 'object' &&
  input !== null &&
  typeof (input as Request).url === 'string' &&
  typeof (input as Request).clone === 'function' &&
  'headers' in input

const isPlainObject = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const isStream = (body: unknown): boolean =>
  body != null && typeof ReadableStream !== 'undefined' && body instanceof ReadableStream

/** The input as a URL string, as the browser would stringify it; null when that throws. */
const urlOf = (input: unknown): string | null => {
  if (typeof input === 'string') return input
  if (isRequestLike(input)) return input.url
  try {
    return `${input as string}`
  } catch {
    return null
  }
}

/** Root-relative or absolute: resolves the same wherever the page's path goes meanwhile. */
const isStable = (url: string): boolean => url.charCodeAt(0) === 47 /* / */ || /^[a-z][a-z\d+.-]*:/i.test(url)

/**
 * May the SDK send this with `redirect: 'manual'`? Only when the app left the redirect mode to the default
 * (a `Request`'s `follow` is its default too) and did not ask for `no-cors` (its answers are opaque).
 */
const seesRedirects = (init: RequestInit | undefined, request: Request | null): boolean =>
  init?.redirect === undefined &&
  (init?.mode ?? request?.mode) !== 'no-cors' &&
  (!request || request.redirect === 'follow')

/**
 * One signal for the app's and the SDK's: the first to abort aborts it. Where `AbortSignal.any` is missing
 * (before Chrome 116, Firefox 124, Safari 17.4) only the app's: such a request is not stopped early.
 */
const both = (app: AbortSignal, sdk: AbortSignal): AbortSignal =>
  AbortSignal.any ? AbortSignal.any([app, sdk]) : app

/**
 * The SDK's own synthetic 401 (another layer's: the XHR patch under a fetch polyfill, another copy of
 * the SDK) is final: judged once, never a second flight.
 */
export const finalSnapshot = (response: Response): ResponseSnapshot | null => {
  // The SDK's 401 is a 401: every other response skips the marker lookup (this runs on each response).
  if (response.status !== 401) return null
  const reason = authRequiredReason(response)
  if (!reason) return null
  const { status, type, redirected, url } = response
  const contentType = response.headers.get('content-type')
  return { status, type, redirected, url, contentType, authRequired: reason }
}

/**
 * What detection sees of an in-scope fetch `Response` (fetch and ky): the SDK's own 401 is final, anything
 * else is snapshotted. A module-level function: no closure per request.
 */
export const inspect = (
  response: Response,
  facts: RequestFacts,
): ResponseSnapshot | Promise<ResponseSnapshot> =>
  (response.status === 401 && finalSnapshot(response)) || snapshotResponse(response, true, facts.url)

/**
 * What the app sees when re-login could not save a request: a 401, as a server would answer it.
 * Anything but an `AuthRequiredError` (an abort, a bug) is rethrown as is.
 */
export const toAuthRequiredResponse = (error: unknown): Response => {
  if (error instanceof AuthRequiredError) {
    const response = authRequiredResponse(error)
    // What a real answer to this request would say; the body and the marker say the rest.
    Object.defineProperties(response, { url: { value: error.url }, type: { value: 'basic' } })
    return response
  }
  if (isAuthRequiredError(error) && error.response) return error.response
  throw error
}

/**
 * The request's headers with the SDK's (`engine.headersFor`), or undefined when it adds none, and the
 * `Accept` it goes out with.
 */
const withHeaders = (
  engine: Engine,
  init: RequestInit | undefined,
  request: Request | null,
  bare: Record<string, string> | null,
  url: string,
): { headers: HeadersInit | undefined; accept: string | null } => {
  const own = init?.headers
  // The most common call of all, no headers: a copy of what the SDK adds to nothing.
  if (!request && own === undefined)
    return { headers: bare ? { ...bare } : undefined, accept: bare?.accept ?? null }
  let headers: HeadersInit | undefined
  let accept: string | null
  if (!request && isPlainObject(own)) {
    // The common call (`fetch(url, { headers: {…} })`): no Headers object to build.
    const plain = own as Record<string, string> | undefined
    let requestedWith: string | null = null
    // a hypermedia library's marker (`HX-Request`…): the policy leaves its Accept alone
    let marker: string | null = null
    accept = null
    for (const key in plain) {
      const name = key.toLowerCase()
      if (name === 'accept') accept = plain[key]!
      else if (name === 'x-requested-with') requestedWith = plain[key]!
      else if (HYPERMEDIA_HEADERS.includes(name)) marker = plain[key]!
    }
    // the policy asks for `accept`, `x-requested-with` and the hypermedia markers only
    const additions = engine.headersFor(
      (name) => (name === 'accept' ? accept : name === 'x-requested-with' ? requestedWith : marker),
      url,
    )
    if (additions.length) {
      // Copied key by key, not `{ ...plain }` then more keys and `delete`: in V8 (Node 20) adding keys to
      // a spread copy takes a slow path (~1 µs), and `delete` turns the object into a dictionary.
      const set: Record<string, string> = {}
      // At most two: `accept` and `x-requested-with`.
      const first = additions[0]![0]
      const second = additions[1]?.[0]
      for (const key in plain) {
        const name = key.toLowerCase()
        // The app's own spelling (`Accept`) goes: its value is part of the new one.
        if (name !== first && name !== second) set[key] = plain[key]!
      }
      for (const [name, value] of additions) {
        set[name] = value
        if (name === 'accept') accept = value
      }
      headers = set
    }
  } else {
    // Another realm's Headers is read as the sequence of pairs it is (Node's Headers drops it otherwise).
    const from =
      own ?? (request && !(request instanceof Request) ? [...(request as Request).headers] : request?.headers)
    const merged = new Headers(from)
    const additions = engine.headersFor((name) => merged.get(name), url)
    for (const [name, value] of additions) merged.set(name, value)
    if (additions.length) headers = merged
    accept = merged.get('accept')
  }
  return { headers, accept }
}

/**
 * A fetch with the SDK in front: headers on in-scope requests, one detection pipeline, the
 * coordinator's gate, queue and replay. A lost session that re-login cannot save resolves with a
 * synthetic `401` JSON `Response` (`X-Ajax-Reauth: <reason>`; see `authRequiredReason()`), as a
 * server's 401 would: every client's own 401 handling runs and none retries it as a network failure.
 * Out-of-scope calls, and arguments the SDK cannot read, go to the underlying fetch untouched.
 * `base` is looked up per call, so wrappers other libraries install later still compose.
 */
export const createFetchAdapter = (
  engine: Engine,
  base: () => FetchLike = engine.baseFetch,
): typeof fetch => {
  const { scope } = engine
  // What the SDK adds to a request without headers: the same every time, so worked out once.
  const none = engine.headersFor(() => null)
  const bare = none.length ? Object.fromEntries(none) : null
  // Exactly what the app passed: the native errors of odd arguments stay native (and asynchronous).
  const untouched = (args: number, input?: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      return args === 0 ? (base() as () => Promise<Response>)() : base()(input!, init)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    // biome-ignore lint/complexity/noArguments: `fetch()` and `fetch(undefined)` differ natively; rest parameters would change `fetch.length`
    if (arguments.length === 0 || input == null) return untouched(arguments.length, input, init)
    const raw = urlOf(input)
    if (raw === null) return untouched(1, input, init)
    const url = scope.resolve(raw)
    if (!scope.test(url)) return untouched(1, input, init)

    const request = isRequestLike(input) ? input : null
    // Sent as is, this gets the native TypeError: it never went out, so it is no lost session.
    if (request?.bodyUsed && init?.body == null) return untouched(1, input, init)
    try {
      return guard(input, init, url, request)
    } catch {
      // Headers or init that the SDK cannot read: the native call reports them its own way.
      return untouched(1, input, init)
    }
  }

  function guard(
    input: RequestInfo | URL,
    init: RequestInit | undefined,
    url: string,
    request: Request | null,
  ): Promise<Response> {
    const verb = init?.method ?? request?.method
    const method = verb ? verb.toUpperCase() : 'GET'
    const { headers, accept } = withHeaders(engine, init, request, bare, url)
    // `{ headers, ...init }` where init has none: a spread copy that then gains a key is slow in V8.
    const nextInit = !headers ? init : init && 'headers' in init ? { ...init, headers } : { headers, ...init }

    // A Request's body can be read once: a spare copy, taken before the first send, serves the replay.
    const spare = request && request.body !== null && !request.bodyUsed ? request.clone() : null
    // A path-relative URL is resolved once, now: a client-side route change must not move the replay.
    const first: RequestInfo | URL = request || (typeof input === 'string' && isStable(input)) ? input : url
    let sent = false
    const facts = { url, method, accept, inScope: true }
    const signal = init?.signal ?? request?.signal
    const send =
      (what: RequestInit | undefined) =>
      (stop?: AbortSignal): Promise<Response> => {
        const target = !sent ? first : request ? (spare ?? request) : url
        sent = true
        return base()(target, stop ? { ...what, signal: signal ? both(signal, stop) : stop } : what)
      }
    const follow = send(nextInit)

    return engine.run<Response>({
      facts,
      signal,
      notReplayable: isStream(init?.body)
        ? 'the request body is a ReadableStream, which cannot be sent twice'
        : null,
      stoppable: true,
      ...(seesRedirects(init, request) && engine.seesRedirects(facts)
        ? { send: send({ ...nextInit, redirect: 'manual' }), followed: follow }
        : { send: follow }),
      inspect,
      inspectError: (error) => (error instanceof TypeError ? networkErrorSnapshot(url) : null),
      rejected: toAuthRequiredResponse,
    })
  }
}
