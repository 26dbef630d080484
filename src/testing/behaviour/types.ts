/**
 * Transport-neutral request/response shapes shared by every proxy behaviour.
 * Pure TypeScript: no Node APIs, no msw. A Node `http` server, an msw handler or a
 * Service Worker can all feed a `BehaviourRequest` in and write a `BehaviourResult` out.
 */

/** What a behaviour needs to know of an incoming request. `url` is absolute. */
export interface BehaviourRequest {
  method: string
  url: string
  headers: Headers
}

/** A complete answer written by the proxy itself. */
export interface BehaviourResponse {
  status: number
  /** Ordered header list; `Set-Cookie` may appear several times. */
  headers: [string, string][]
  body: string
}

/** The signed-in user a request is forwarded for. */
export interface SessionUser {
  user: string
  email: string
  preferredUsername?: string
  groups?: string[]
}

/** The request is allowed: forward it to the upstream. */
export interface PassThrough {
  pass: true
  /** Null for routes that skip authentication and carry no session. */
  user: SessionUser | null
  /** Headers to add to the request sent upstream (X-Forwarded-User, ...). */
  upstreamHeaders: [string, string][]
  /** Headers to add to the upstream's response (a refreshed session's Set-Cookie, GAP-Auth). */
  responseHeaders: [string, string][]
}

export type BehaviourResult = BehaviourResponse | PassThrough

export function isPass(result: BehaviourResult): result is PassThrough {
  return 'pass' in result && result.pass === true
}

/** Everything a proxy behaviour exposes to the transport that hosts it. */
export interface Behaviour {
  readonly name: string
  handle(req: BehaviourRequest): Promise<BehaviourResult>
}

/** Tokens returned by the identity provider. */
export interface Tokens {
  accessToken: string
  refreshToken?: string
  idToken?: string
  /** When the ID token's `exp` passes (ms since the epoch), when the provider sent one with `exp`. */
  idTokenExpiresAt?: number
  /** Lifetime of the access token in seconds, when the provider said. */
  expiresIn?: number
  /** Claims of the user (from the ID token); absent on a refresh that returns no ID token. */
  user?: SessionUser
  /** The `nonce` claim of the ID token, checked against the CSRF cookie's nonce. */
  nonce?: string
}

export interface AuthorizeParams {
  redirectUri: string
  state: string
  nonce: string
  scope: string
  /** PKCE, when the proxy uses it (`--code-challenge-method=S256`). */
  codeChallenge?: string
  codeChallengeMethod?: 'S256'
}

/**
 * The identity provider as the proxy sees it. The e2e stack implements it with real HTTP
 * against `oidc-provider`; unit tests can use `createInMemoryProvider()`.
 */
export interface Provider {
  /** Name shown on the sign-in button ("Sign in with <name>"). */
  readonly name?: string
  authorizeUrl(params: AuthorizeParams): string
  exchangeCode(code: string, redirectUri: string, codeVerifier?: string): Promise<Tokens>
  refresh(refreshToken: string): Promise<Tokens>
}

/** An OAuth2 error answered by the provider's token endpoint (`invalid_grant`, ...). */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  constructor(
    readonly code: string,
    message?: string,
  ) {
    super(message ?? code)
  }
}
