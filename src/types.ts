/** Why a request was judged to have lost its session. */
export type AuthReason =
  | 'unauthorized'
  | 'login-page'
  | 'sign-in-redirect'
  | 'opaque-redirect'
  | 'network-error'
  | 'header-overflow'
  | 'circuit-open'
  /** The session probe of a wake-up check (or of `reauth.check()`) found no session before a request failed. */
  | 'session-check'
  /**
   * Signed in, but the proxy refuses this user (oauth2-proxy's email/group check): its `403`, or a re-login
   * that ended on its callback's `403`. A re-login cannot help; no new one starts until one succeeds
   * (`reauth.relogin()`, another tab) or the page reloads.
   */
  | 'not-allowed'

/**
 * A normalized view of a response (or of a failed request) that every adapter builds
 * and hands to `classify()`. It holds only what detection needs; never a body stream.
 */
export interface ResponseSnapshot {
  /** HTTP status; 0 for an opaque redirect or a network error. */
  status: number
  /** `Response.type`, or `'error'` for a network error (fetch `TypeError`, XHR status 0). */
  type: 'basic' | 'cors' | 'default' | 'error' | 'opaque' | 'opaqueredirect'
  /** Whether the browser followed at least one redirect. */
  redirected: boolean
  /** The final URL after redirects ('' when the browser hides it). */
  url: string
  /** The response's `Content-Type`, or null. */
  contentType: string | null
  /** The `Location` header, where one is visible (Authelia's 401). */
  location?: string | null
  /**
   * The start of the body (at most `PEEK_BYTES`, from the first chunk), read only for in-scope `text/html`
   * responses and 401s: the proxy's page markers and 401 fingerprints.
   */
  bodyPeek?: string
  /**
   * The reason an SDK's synthetic 401 carries (`X-Ajax-Reauth`), set by an outer layer that sees one:
   * that request was judged already, and its answer is final.
   */
  authRequired?: AuthReason | null
}

/** What `classify()` needs to know of the request. */
export interface RequestFacts {
  /** Absolute URL of the request as the app made it. */
  url: string
  /** Upper-case HTTP method. */
  method: string
  /** The `Accept` header the request went out with, or null. */
  accept: string | null
  /** Result of the scope test: out-of-scope requests are never classified. */
  inScope: boolean
}

/**
 * One in-scope request as an adapter hands it to the engine (`run`, `recover`) and the engine to the
 * coordinator. `send` sends it (again, for a replay); null when it cannot be sent again from here.
 *
 * @example
 * await engine.recover(error, { facts, sentAt, signal, send: () => fetch(url, init) })
 */
export interface GuardedRequest<T> {
  facts: RequestFacts
  /** The app's signal: aborts the wait at the gate and in the queue. */
  signal?: AbortSignal | null | undefined
  /** When (`clock()`) it went out: one sent before the last successful re-login is just replayed. */
  sentAt?: number | undefined
  /** The request is a replay: a second lost session rejects and starts nothing. */
  isReplay?: boolean | undefined
  /** Why it cannot be replayed (a stream body), or null when it can; kept as the rejection's cause. */
  notReplayable?: string | null | undefined
  send: (() => Promise<T>) | null
  /** Snapshot of a successful result (`engine.run`). */
  inspect?: (result: T, facts: RequestFacts) => ResponseSnapshot | Promise<ResponseSnapshot>
  /** Snapshot of a failure, or null when it is not a network failure (an abort, a bug): rethrown as is. */
  inspectError?: (error: unknown) => ResponseSnapshot | null
}

/** The verdict of `classify()`: this response means the session has ended. */
export interface AuthSignal {
  reason: Exclude<AuthReason, 'circuit-open' | 'session-check'>
  /** The status the app saw (0 for opaque redirects and network errors). */
  status: number
  /** The URL the request ended on. */
  url: string
  /** A one-line human description, used as the error's cause. */
  detail: string
  /**
   * True when the signal alone is ambiguous (a network error, an opaque redirect, a 401 or an HTML page the
   * proxy's fingerprints do not claim): the session probe must confirm it before anything happens.
   */
  needsProbe: boolean
  /**
   * The answer has the profile's own lost-session fingerprint (`isOwnUnauthorized`): not proof alone where
   * a probe can be asked, but enough for a request sent before a re-login that has ended since.
   */
  fingerprint?: boolean
}

/** What the session probe found. `unknown` = the probe itself failed (network down). */
export type ProbeResult = 'signed-in' | 'signed-out' | 'unknown'

/** Context passed to a re-login URL builder. */
export interface ReloginUrlContext {
  /** The page's origin, e.g. `https://app.example.com`. */
  origin: string
  /** The same-origin path (with query) to land on after sign-in. */
  returnTo: string
}

/**
 * What the SDK knows about one authenticating proxy. Built-in profiles live in `src/profiles/`;
 * apps may pass their own object of this shape as `proxy`.
 */
export interface ProxyProfile {
  /** Short identifier, used in lock and channel names. */
  name: string
  /** Paths (prefixes) that belong to the proxy itself; always out of scope. */
  ownPaths: readonly string[]
  /** Does this URL (absolute) belong to the sign-in flow? */
  isSignInUrl(url: URL): boolean
  /** Does this HTML (the first few KB) look like the proxy's sign-in page? */
  isSignInPage(html: string): boolean
  /**
   * Does this HTML look like the proxy's "403 Forbidden" page? Where the session probe then finds no
   * session, the proxy refused a signed-in user and ended the session with it (`not-allowed`); with a
   * session, it is an upstream's 403, passed through.
   */
  isForbiddenPage(html: string): boolean
  /**
   * Is this page (where a re-login stopped, same-origin) the proxy refusing the signed-in user, not a
   * sign-in that failed (a lost CSRF cookie, a provider error)? The flight then ends as `not-allowed`.
   * Absent: never.
   */
  isNotAllowedPage?(html: string): boolean
  /**
   * Is this 401 the proxy's own answer to a lost session, not the upstream's? Only an unambiguous
   * fingerprint (oauth2-proxy's JSON `{}`, Pomerium's `"Unauthenticated"` JSON, Authelia's `Location` to its
   * portal) counts at once; any other 401 is confirmed by the session probe first. Absent: every 401 is
   * confirmed.
   */
  isOwnUnauthorized?(res: { contentType: string | null; body: string; location: string | null }): boolean
  /** Session probe: a same-origin path sent with `redirect: 'manual'`. Null when the proxy has none. */
  probe: { path: string; read(res: { status: number; type: string }): ProbeResult } | null
  /** URL that starts a (silent where possible) re-login and lands on `returnTo`. */
  reloginUrl(ctx: ReloginUrlContext): string
  /**
   * A same-origin path that renews the session without any page (Azure Easy Auth's `/.auth/refresh`).
   * Tried before the re-login strategy; a 2xx answer confirmed by the probe ends the flight.
   */
  refreshPath?: string
  /**
   * Does the proxy tell Ajax from a page load by `X-Requested-With`? Only then does the SDK send it by
   * default: unlike `Accept: application/json` it is not CORS-safelisted, so on a request the upstream
   * redirects to a CORS-enabled third party it forces a preflight the third party may refuse. Absent: true.
   */
  readsRequestedWith?: boolean
}
