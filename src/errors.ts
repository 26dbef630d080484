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

const JSON_HEADERS = { 'content-type': 'application/json' }

/** The JSON body of the synthetic 401 every adapter hands the app. */
export const authRequiredBody = (reason: AuthReason): string =>
  JSON.stringify({ error: 'auth_required', reason })

/**
 * The session behind the authenticating proxy has ended and re-login could not save the request.
 * It always reads as a 401, whatever the proxy answered (a 302, a login page, a CORS failure).
 *
 * @example
 * try { await fetch('/api/items') } catch (e) {
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
    else if (typeof Response === 'function') {
      this.response = new Response(authRequiredBody(init.reason), {
        status: 401,
        statusText: 'Unauthorized',
        headers: JSON_HEADERS,
      })
    }
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

const hasName = (error: unknown, name: string): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name

/**
 * True for an `AuthRequiredError`, also one thrown in another realm (an iframe) or by another copy
 * of the SDK.
 */
export const isAuthRequiredError = (error: unknown): error is AuthRequiredError =>
  error instanceof AuthRequiredError || hasName(error, 'AuthRequiredError')

/** True for any error the SDK throws on purpose, across realms. */
export const isReauthError = (error: unknown): error is ReauthError =>
  error instanceof ReauthError ||
  (typeof error === 'object' &&
    error !== null &&
    (error as { isReauthError?: unknown }).isReauthError === true)

/** True for a `ReauthConfigError`, across realms. */
export const isReauthConfigError = (error: unknown): error is ReauthConfigError =>
  error instanceof ReauthConfigError || hasName(error, 'ReauthConfigError')
