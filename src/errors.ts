import type { AuthReason } from './types'

/** Base class of every error the SDK throws on purpose. */
export class ReauthError extends Error {
  override name: string = 'ReauthError'
  /** Brand that survives realms (iframes) and bundling twice. */
  get isReauthError(): true {
    return true
  }
}

export interface AuthRequiredErrorInit {
  reason: AuthReason
  url: string
  method: string
  cause?: unknown
  response?: Response
}

/**
 * The response header that marks the SDK's own synthetic 401 (`X-Ajax-Reauth: <reason>`). It survives
 * every layer (fetch, XHR, a fetch polyfill over XHR, axios, ky): a response that carries it is final
 * and is never judged a second time.
 */
export const AUTH_REQUIRED_HEADER = 'x-ajax-reauth'

/** The headers of the synthetic 401, in the order XHR's `getAllResponseHeaders()` lists them. */
export const authRequiredHeaders = (reason: AuthReason): [string, string][] => [
  ['content-type', 'application/json'],
  [AUTH_REQUIRED_HEADER, reason],
]

/** The JSON body of the synthetic 401 every adapter hands the app. */
export const authRequiredBody = (reason: AuthReason): string =>
  JSON.stringify({ error: 'auth_required', reason })

// Shared by every bundled copy of the SDK on the page.
const BRAND = Symbol.for('ajax-reauth.auth-required')

/**
 * A fresh synthetic 401 `Response` for `error` (a body can be read once: one per caller), with the
 * marker header and a non-enumerable brand that leads back to the error.
 */
export const authRequiredResponse = (error: AuthRequiredError): Response => {
  const response = new Response(authRequiredBody(error.reason), {
    status: 401,
    statusText: 'Unauthorized',
    headers: authRequiredHeaders(error.reason),
  })
  Object.defineProperty(response, BRAND, { value: error })
  return response
}

/**
 * The session behind the authenticating proxy has ended and re-login could not save the request.
 * It always reads as a 401, whatever the proxy answered (a 302, a login page, a CORS failure).
 * The patched `fetch` resolves with its `response` (a 401) instead; axios rejects with it (shaped like
 * an `AxiosError`). Read the reason from whatever the app's client hands over with
 * `authRequiredReason()`.
 *
 * @example
 * try { await axios.get('/api/items') } catch (e) {
 *   if (isAuthRequiredError(e)) console.log(e.reason, e.url)
 * }
 */
export class AuthRequiredError extends ReauthError {
  override name = 'AuthRequiredError' as const
  readonly status = 401 as const
  readonly reason: AuthReason
  readonly url: string
  readonly method: string
  /** A 401 `Response` with `{ "error": "auth_required", "reason": … }`, where the adapter has one. */
  response?: Response

  constructor(init: AuthRequiredErrorInit) {
    super(`Authentication required (${init.reason}): ${init.method} ${init.url}`, { cause: init.cause })
    this.reason = init.reason
    this.url = init.url
    this.method = init.method
    if (init.response) this.response = init.response
    else if (typeof Response === 'function') this.response = authRequiredResponse(this)
  }
}

/** The options passed to `createReauth()` are invalid. A caller's mistake, not a lost session. */
export class ReauthConfigError extends ReauthError {
  override name = 'ReauthConfigError' as const
  /** The validation issues, one per invalid field. */
  readonly issues: readonly { path: string; message: string }[]

  constructor(issues: readonly { path: string; message: string }[]) {
    super(`Invalid ajax-reauth options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
    this.issues = issues
  }
}

/** The queue of requests waiting for a re-login is full (`maxQueue`). */
export class ReauthQueueFullError extends ReauthError {
  override name = 'ReauthQueueFullError' as const
}

/**
 * The rejection of a request that found the queue full (`maxQueue` requests wait for a re-login already).
 *
 * @example
 * throw queueFullError('unauthorized', url, 'GET', options.maxQueue)
 */
export const queueFullError = (reason: AuthReason, url: string, method: string, max: number) =>
  new AuthRequiredError({
    reason,
    url,
    method,
    cause: new ReauthQueueFullError(`more than ${max} requests are waiting for a re-login`),
  })

/** Is this a `not-allowed` outcome (the proxy refuses the signed-in user)? */
export const isNotAllowed = (error: unknown): boolean =>
  isAuthRequiredError(error) && error.reason === 'not-allowed'

/** An object whose `name` is `name`: an SDK error class, also from another realm or copy of the SDK. */
export const hasName = (error: unknown, name: string): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name

/**
 * True for an `AuthRequiredError`, also one thrown in another realm (an iframe) or by another copy
 * of the SDK.
 */
export const isAuthRequiredError = (error: unknown): error is AuthRequiredError =>
  error instanceof AuthRequiredError || hasName(error, 'AuthRequiredError')

/** True for any error the SDK throws on purpose, across realms. */
export const isReauthError = (error: unknown): error is ReauthError =>
  // (a primitive has no `isReauthError`; the class's getter is on its prototype, not on the class)
  error instanceof ReauthError || (error as { isReauthError?: unknown } | null)?.isReauthError === true

/** True for a `ReauthConfigError`, across realms. */
export const isReauthConfigError = (error: unknown): error is ReauthConfigError =>
  error instanceof ReauthConfigError || hasName(error, 'ReauthConfigError')

const REASONS: ReadonlySet<string> = new Set<AuthReason>([
  'unauthorized',
  'login-page',
  'sign-in-redirect',
  'opaque-redirect',
  'network-error',
  'header-overflow',
  'circuit-open',
  'session-check',
  'not-allowed',
])

const asReason = (value: unknown): AuthReason | null =>
  typeof value === 'string' && REASONS.has(value.trim()) ? (value.trim() as AuthReason) : null

/** The marker header of a response-like object: fetch `Headers`, `AxiosHeaders`, a plain object. */
const headerOf = (headers: unknown): unknown => {
  if (!headers || typeof headers !== 'object') return null
  const h = headers as { get?: unknown } & Record<string, unknown>
  if (typeof h.get === 'function') return (h.get as (name: string) => unknown).call(h, AUTH_REQUIRED_HEADER)
  for (const key of Object.keys(h)) if (key.toLowerCase() === AUTH_REQUIRED_HEADER) return h[key]
  return null
}

const reasonOf = (x: unknown, depth: number): AuthReason | null => {
  if (typeof x !== 'object' || x === null || depth > 3) return null
  const o = x as Record<PropertyKey, unknown>
  if (isAuthRequiredError(x)) return asReason(o.reason)
  const branded = o[BRAND]
  if (isAuthRequiredError(branded)) return asReason(branded.reason)
  if (o.status === 401) {
    // XMLHttpRequest, jQuery's jqXHR
    if (typeof o.getResponseHeader === 'function') {
      const value = asReason((o.getResponseHeader as (n: string) => unknown).call(x, AUTH_REQUIRED_HEADER))
      if (value) return value
    }
    // Response, axios/graphql-request responses (`headers`), superagent's (`header`)
    const value = asReason(headerOf(o.headers)) ?? asReason(headerOf(o.header))
    if (value) return value
  }
  // A client's error that holds the response (axios, ky, ofetch, wretch, superagent, graphql-request)
  return reasonOf(o.response, depth + 1) ?? reasonOf(o.cause, depth + 1)
}

/**
 * The reason of the SDK's synthetic 401, read from whatever the app's HTTP client hands over: a
 * `Response` (the patched `fetch`, `reauth.fetch`), an `XMLHttpRequest` or jQuery's `jqXHR`, an
 * `AuthRequiredError`, or a client's error that holds the response (axios, ky's `HTTPError`, ofetch's
 * `FetchError`, wretch's `WretchError`, superagent, graphql-request's `ClientError`). Null for anything
 * else, such as a genuine 401 from the server. Works across realms and bundled copies of the SDK.
 *
 * @example
 * const res = await fetch('/api/items')
 * if (authRequiredReason(res)) showSignedOut()
 *
 * @example
 * ky.get('/api/items').catch((e) => authRequiredReason(e)) // 'unauthorized' for an HTTPError 401
 */
export const authRequiredReason = (x: unknown): AuthReason | null => reasonOf(x, 0)
