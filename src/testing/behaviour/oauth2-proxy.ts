import { errorPage, nginxHeaderTooLargePage, signInPage } from './pages.js'
import { SessionStore, type StoredSession } from './session-store.js'
import type {
  Behaviour,
  BehaviourRequest,
  BehaviourResponse,
  BehaviourResult,
  PassThrough,
  Provider,
  SessionUser,
  Tokens,
} from './types.js'
import { ProviderError } from './types.js'
import {
  acceptEntries,
  getCookie,
  html,
  json,
  parseCookies,
  randomToken,
  requestUri,
  serializeCookie,
  sha256,
  textPlain,
} from './util.js'

/** A cap on the size of the `Cookie` request header, as a front hop enforces it. */
export interface CookieCap {
  /** Largest accepted `Cookie` header, in bytes. */
  maxBytes: number
  /** `431`: a Node/Go hop's 431. `nginx-400`: nginx's 400 "Request Header Or Cookie Too Large". */
  answer: '431' | 'nginx-400'
}

/** The oauth2-proxy 7.x flags the behaviour emulates (names follow the CLI flags). */
export interface OAuth2ProxyOptions {
  /** `--cookie-name`. */
  cookieName: string
  /** `--cookie-secret`: signs session and CSRF cookies (HMAC-SHA256). */
  cookieSecret: string
  cookieSecure: boolean
  cookieSameSite: 'Lax' | 'Strict' | 'None'
  /** `--cookie-expire` (default 168h). */
  cookieExpireMs: number
  /** `--cookie-refresh` (default 0 = never refresh). */
  cookieRefreshMs: number
  /** `--proxy-prefix` (default `/oauth2`). */
  proxyPrefix: string
  /** `--provider-display-name`: "Sign in with <name>". */
  providerName: string
  /** Version printed in the sign-in page footer. */
  version: string
  /** `--scope`. */
  scope: string
  /** `--code-challenge-method`: PKCE (`S256`) or none (the default, as in oauth2-proxy). */
  codeChallengeMethod: 'S256' | null
  /** `--skip-provider-button`: browser requests get a 302 to the provider instead of the 403 page. */
  skipProviderButton: boolean
  /** `--force-json-errors` (7.2): every no-session answer is the JSON 401. */
  forceJsonErrors: boolean
  /** `--api-route` (7.4): request URIs answered with the JSON 401 whatever `Accept` says. */
  apiRoutes: RegExp[]
  /** `--skip-auth-route`: request paths forwarded without a session. */
  skipAuthRoutes: RegExp[]
  /** `--cookie-csrf-per-request` (7.4): one `_oauth2_proxy_<8 chars>_csrf` cookie per flow. */
  csrfPerRequest: boolean
  /** `--cookie-csrf-per-request-limit` (7.11): keep at most N CSRF cookies; 0 = unlimited. */
  csrfPerRequestLimit: number
  /** `--cookie-csrf-expire` (default 15m). */
  csrfExpireMs: number
  /** Refuse requests whose `Cookie` header is larger than this (a front hop's limit). */
  cookieCap: CookieCap | null
  /** Signed-in users whose email fails the email/group check (`403 Forbidden`). */
  notAllowedEmails: string[]
  /**
   * Length of the session cookie's value and of each CSRF cookie's value, in characters.
   * Defaults mirror oauth2-proxy's real sizes (an OIDC session with tokens is ~1.2 KB+, a CSRF
   * cookie ~300 B), so the CSRF flood hits header limits after as many requests as in production.
   */
  cookieValueLength: { session: number; csrf: number }
  /** Clock, for tests. */
  now: () => number
}

export interface OAuth2ProxyCounters {
  /** OAuth flows started: `/oauth2/start` and the skip-provider-button 302. */
  signInStarts: number
  csrfCookiesMinted: number
  /** CSRF cookies expired by `--cookie-csrf-per-request-limit` or by a callback. */
  csrfCookiesCleared: number
  callbacks: number
  callbackFailures: number
  sessionsCreated: number
  /** Session cookies cleared (tampered, unknown, expired, refresh refused, not allowed). */
  sessionsCleared: number
  refreshes: number
  refreshFailures: number
  /** 403 sign-in pages served by the main proxy path. */
  signInPages: number
  /** JSON 401s served by the main proxy path. */
  jsonUnauthorized: number
  /** `--skip-provider-button` 302s to the provider served by the main proxy path. */
  providerRedirects: number
  /** 431 / nginx 400 answers. */
  headerTooLarge: number
}

export interface SessionData {
  user: SessionUser
  accessToken: string
  refreshToken?: string
  idToken?: string
  /** The ID token's `exp` (ms): once a refresh is due, the session dies when it passed. */
  idTokenExpiresAt?: number
}

export interface CsrfData {
  stateHash: string
  nonceHash: string
  codeVerifier: string
}

export interface OAuth2ProxyBehaviour extends Behaviour {
  /** The live options: `set()` changes them between requests. */
  readonly options: Readonly<OAuth2ProxyOptions>
  readonly counters: Readonly<OAuth2ProxyCounters>
  readonly sessions: SessionStore<SessionData>
  set(patch: Partial<OAuth2ProxyOptions>): void
  /** Options back to those given at creation, counters to zero, every session and CSRF record gone. */
  reset(): void
  /** The session is expired as of now (`ExpiresOn` passed): next request clears it. */
  expireSession(): number
  /** The session is gone server-side: next request finds an unknown cookie and clears it. */
  deleteSession(): number
  /** The cookie no longer validates (tampered/undecodable): cleared, then the no-session path. */
  tamperSession(): number
  /** Make the session older than `--cookie-refresh` so the next request refreshes it. */
  ageSession(ms: number): void
  /** oauth2-proxy's `isAjax()`. */
  isAjax(headers: Headers): boolean
}

export const OAUTH2_PROXY_DEFAULTS: Omit<OAuth2ProxyOptions, 'cookieSecret'> = {
  cookieName: '_oauth2_proxy',
  cookieSecure: false,
  cookieSameSite: 'Lax',
  cookieExpireMs: 168 * 3600_000,
  cookieRefreshMs: 0,
  proxyPrefix: '/oauth2',
  providerName: 'OpenID Connect',
  version: 'v7.15.2',
  scope: 'openid email profile offline_access',
  codeChallengeMethod: null,
  skipProviderButton: false,
  forceJsonErrors: false,
  apiRoutes: [],
  skipAuthRoutes: [],
  csrfPerRequest: false,
  csrfPerRequestLimit: 0,
  csrfExpireMs: 15 * 60_000,
  cookieCap: null,
  notAllowedEmails: [],
  cookieValueLength: { session: 1200, csrf: 300 },
  now: Date.now,
}

/** `application/json` exactly, as one comma-separated trimmed entry of `Accept`. */
export function oauth2ProxyIsAjax(headers: Headers): boolean {
  return acceptEntries(headers).includes('application/json')
}

/** A relative path that is not protocol-relative (`//host`, `/\host`) nor carries control characters. */
export function isValidRedirect(rd: string): boolean {
  return rd.startsWith('/') && !rd.startsWith('//') && !rd.startsWith('/\\') && !/[\t\r\n]/.test(rd)
}

const NO_CACHE: [string, string][] = [
  ['Expires', 'Thu, 01 Jan 1970 00:00:00 UTC'],
  ['Cache-Control', 'no-cache, no-store, must-revalidate, max-age=0'],
  ['X-Accel-Expires', '0'],
]

/** Go's `http.Redirect` answer for a GET. */
function found(location: string, headers: [string, string][]): BehaviourResponse {
  return {
    status: 302,
    headers: [...html(headers), ['Location', location]],
    body: `<a href="${location.replace(/&/g, '&amp;').replace(/"/g, '&#34;')}">Found</a>.\n\n`,
  }
}

type Loaded =
  | { state: 'ok'; id: string; data: SessionData; headers: [string, string][] }
  | { state: 'none'; headers: [string, string][] }
  | { state: 'denied'; headers: [string, string][] }

const byteLength = (s: string): number => new TextEncoder().encode(s).length

/** What the parts of one oauth2-proxy share: the live options, the provider, the stores, the counters. */
interface ProxyState {
  /** The live options (`set()` and `reset()` change this object in place). */
  readonly o: OAuth2ProxyOptions
  readonly provider: Provider
  readonly counters: OAuth2ProxyCounters
  readonly sessions: SessionStore<SessionData>
  readonly csrf: SessionStore<CsrfData>
}

type Header = [string, string]
type LoadedOk = Loaded & { state: 'ok' }

const zeroCounters = (): OAuth2ProxyCounters => ({
  signInStarts: 0,
  csrfCookiesMinted: 0,
  csrfCookiesCleared: 0,
  callbacks: 0,
  callbackFailures: 0,
  sessionsCreated: 0,
  sessionsCleared: 0,
  refreshes: 0,
  refreshFailures: 0,
  signInPages: 0,
  jsonUnauthorized: 0,
  providerRedirects: 0,
  headerTooLarge: 0,
})

// value = <id>|<10-digit time>|<43-char signature>; id chars = 4/3 of its bytes.
const idBytes = (chars: number) => Math.max(12, Math.floor(((chars - 55) * 3) / 4))

// oauth2-proxy 7.x writes `Max-Age` (and `Max-Age=0` to clear), no `Expires`.
const cookieAttrs = (o: OAuth2ProxyOptions, maxAgeMs: number) => ({
  maxAge: Math.max(0, Math.floor(maxAgeMs / 1000)),
  httpOnly: true,
  secure: o.cookieSecure,
  sameSite: o.cookieSameSite,
})

const clearCookie = (o: OAuth2ProxyOptions, name: string): Header => [
  'Set-Cookie',
  serializeCookie(name, '', cookieAttrs(o, 0)),
]

/** `SessionStore.Clear`: clear every `<name>` / `<name>_<n>` cookie the request carries. */
function clearSessionCookies(o: OAuth2ProxyOptions, cookieHeader: string | null): Header[] {
  const re = new RegExp(`^${escapeRe(o.cookieName)}(_\\d+)?$`)
  const names = new Set(parseCookies(cookieHeader).map(([n]) => n))
  return [...names].filter((n) => re.test(n)).map((n) => clearCookie(o, n))
}

function csrfCookieName(o: OAuth2ProxyOptions, stateHash: string): string {
  return o.csrfPerRequest ? `${o.cookieName}_${stateHash.slice(0, 8)}_csrf` : `${o.cookieName}_csrf`
}

function isAllowed(o: OAuth2ProxyOptions, email: string): boolean {
  return !o.notAllowedEmails.includes(email)
}

/** `appDirector.GetRedirect`: `rd` query, then `X-Auth-Request-Redirect`, then the request URI. */
function getRedirect(o: OAuth2ProxyOptions, req: BehaviourRequest, url: URL): string {
  const rd = url.searchParams.get('rd')
  if (rd && isValidRedirect(rd)) return rd
  const header = req.headers.get('x-auth-request-redirect')
  if (header && isValidRedirect(header)) return header
  const uri = requestUri(url)
  if (uri.startsWith(o.proxyPrefix)) return '/'
  return isValidRedirect(uri) ? uri : '/'
}

function expiresOn(o: OAuth2ProxyOptions, tokens: Tokens): number {
  return o.now() + (tokens.expiresIn !== undefined ? tokens.expiresIn * 1000 : o.cookieExpireMs)
}

/**
 * `--cookie-refresh`: renew the session's tokens with the provider. The renewed session and its
 * new cookie, the session unchanged when refresh failed but may keep serving, or `null` when the
 * refusal ends it.
 */
async function refreshSession(
  s: ProxyState,
  id: string,
  session: StoredSession<SessionData>,
  refreshToken: string,
): Promise<{ session: StoredSession<SessionData>; headers: Header[] } | null> {
  const { o, counters, sessions } = s
  try {
    const tokens = await s.provider.refresh(refreshToken)
    counters.refreshes++
    const data: SessionData = {
      ...session.data,
      accessToken: tokens.accessToken,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      ...(tokens.idToken ? { idToken: tokens.idToken } : {}),
      ...(tokens.idTokenExpiresAt !== undefined ? { idTokenExpiresAt: tokens.idTokenExpiresAt } : {}),
      ...(tokens.user ? { user: tokens.user } : {}),
    }
    sessions.update(id, { data, createdAt: o.now(), expiresOn: expiresOn(o, tokens) })
    const renewed = { data, createdAt: o.now(), expiresOn: expiresOn(o, tokens) }
    const cookie = serializeCookie(
      o.cookieName,
      await sessions.cookieValue(id),
      cookieAttrs(o, o.cookieExpireMs),
    )
    return { session: renewed, headers: [['Set-Cookie', cookie]] }
  } catch (err) {
    counters.refreshFailures++
    // 7.15.2 (#3333): a refused refresh token ends the session; other errors keep serving
    // while the session has not expired.
    if (err instanceof ProviderError && (err.code === 'invalid_grant' || err.code === 'invalid_client')) {
      return null
    }
    return { session, headers: [] }
  }
}

async function loadSession(s: ProxyState, req: BehaviourRequest): Promise<Loaded> {
  const { o, counters, sessions } = s
  const cookieHeader = req.headers.get('cookie')
  const value = getCookie(cookieHeader, o.cookieName)
  if (!value) return { state: 'none', headers: [] }
  const loaded = await sessions.load(value)
  const cleared = (id?: string): Loaded => {
    counters.sessionsCleared++
    if (id) sessions.delete(id)
    return { state: 'none', headers: clearSessionCookies(o, cookieHeader) }
  }
  if (loaded.status !== 'ok') return cleared()
  const { id } = loaded
  let { session } = loaded
  const headers: Header[] = []
  if (o.cookieRefreshMs > 0 && o.now() - session.createdAt > o.cookieRefreshMs) {
    const refreshed = session.data.refreshToken
      ? await refreshSession(s, id, session, session.data.refreshToken)
      : { session, headers: [] }
    if (!refreshed) return cleared(id)
    const renewed = refreshed.session !== session
    session = refreshed.session
    headers.push(...refreshed.headers)
    // a session not renewed (refresh failed but may keep serving, or no refresh token) is validated:
    // the OIDC provider verifies its ID token, so it dies once the ID token's exp passed
    // (stored_session.go validateSession, providers/oidc.go ValidateSession)
    const exp = session.data.idTokenExpiresAt
    if (!renewed && exp !== undefined && exp <= o.now()) return cleared(id)
  }
  if (session.expiresOn <= o.now()) return cleared(id)
  if (!isAllowed(o, session.data.user.email)) {
    counters.sessionsCleared++
    sessions.delete(id)
    return { state: 'denied', headers: clearSessionCookies(o, cookieHeader) }
  }
  return { state: 'ok', id, data: session.data, headers }
}

function page(
  o: OAuth2ProxyOptions,
  status: number,
  message: string,
  req: BehaviourRequest,
  url: URL,
  extra: Header[] = [],
) {
  return {
    status,
    headers: html(extra),
    body: errorPage({ status, message, redirect: getRedirect(o, req, url), proxyPrefix: o.proxyPrefix }),
  }
}

/**
 * `ClearExtraCsrfCookies`: with a limit, expire the oldest CSRF cookies the request carries
 * beyond the limit; the new cookie comes on top (so a browser holds at most limit + 1).
 */
function clearExtraCsrfCookies(s: ProxyState, req: BehaviourRequest): Header[] {
  const { o } = s
  if (!o.csrfPerRequest || o.csrfPerRequestLimit <= 0) return []
  const re = new RegExp(`^${escapeRe(o.cookieName)}_.{8}_csrf$`)
  const existing = parseCookies(req.headers.get('cookie'))
    .filter(([n]) => re.test(n))
    .map(([name, value]) => ({ name, issued: Number(value.split('|')[1] ?? 0) }))
    .sort((a, b) => a.issued - b.issued)
  const excess = existing.length - o.csrfPerRequestLimit
  return existing.slice(0, Math.max(0, excess)).map(({ name }) => {
    s.counters.csrfCookiesCleared++
    return clearCookie(o, name)
  })
}

/** `/oauth2/start` (and the skip-provider-button 302): a CSRF cookie and a 302 to the provider. */
async function oauthStart(
  s: ProxyState,
  req: BehaviourRequest,
  url: URL,
  extra: Header[],
): Promise<BehaviourResponse> {
  const { o, counters } = s
  counters.signInStarts++
  const headers: Header[] = [...NO_CACHE, ...extra]
  const rd = getRedirect(o, req, url)
  const state = randomToken(32)
  const nonce = randomToken(32)
  const codeVerifier = randomToken(32)
  const stateHash = await sha256(state)
  const nonceHash = await sha256(nonce)
  headers.push(...clearExtraCsrfCookies(s, req))
  const value = await s.csrf.create({ stateHash, nonceHash, codeVerifier }, o.csrfExpireMs)
  headers.push([
    'Set-Cookie',
    serializeCookie(csrfCookieName(o, stateHash), value, cookieAttrs(o, o.csrfExpireMs)),
  ])
  counters.csrfCookiesMinted++
  const location = s.provider.authorizeUrl({
    redirectUri: `${url.origin}${o.proxyPrefix}/callback`,
    state: `${stateHash}:${rd}`,
    nonce: nonceHash,
    scope: o.scope,
    ...(o.codeChallengeMethod
      ? { codeChallenge: await sha256(codeVerifier), codeChallengeMethod: o.codeChallengeMethod }
      : {}),
  })
  return found(location, headers)
}

/** `/oauth2/callback`: check the CSRF cookie, redeem the code, create the session, go to `rd`. */
async function callback(s: ProxyState, req: BehaviourRequest, url: URL): Promise<BehaviourResponse> {
  const { o, counters } = s
  counters.callbacks++
  const fail = (status: number, message: string, extra: Header[] = []) => {
    counters.callbackFailures++
    return page(o, status, message, req, url, [...NO_CACHE, ...extra])
  }
  const q = url.searchParams
  const error = q.get('error')
  if (error) return fail(403, `Login Failed: The upstream identity provider returned an error: ${error}`)
  const state = q.get('state') ?? ''
  const colon = state.indexOf(':')
  if (colon < 0) return fail(500, 'invalid length')
  const stateHash = state.slice(0, colon)
  let rd = state.slice(colon + 1)
  const name = csrfCookieName(o, stateHash)
  const raw = getCookie(req.headers.get('cookie'), name)
  const loaded = raw ? await s.csrf.load(raw) : null
  if (loaded?.status !== 'ok' || loaded.session.expiresOn <= o.now()) {
    return fail(403, 'Login Failed: Unable to find a valid CSRF token. Please try again.')
  }
  const code = q.get('code')
  if (!code) return fail(500, 'missing code')
  let tokens: Tokens
  try {
    tokens = await s.provider.exchangeCode(
      code,
      `${url.origin}${o.proxyPrefix}/callback`,
      o.codeChallengeMethod ? loaded.session.data.codeVerifier : undefined,
    )
  } catch (err) {
    return fail(500, err instanceof Error ? err.message : String(err))
  }
  s.csrf.delete(loaded.id)
  counters.csrfCookiesCleared++
  const clearCsrf = clearCookie(o, name)
  if (loaded.session.data.stateHash !== stateHash) {
    return fail(403, 'Login Failed: Unable to find a valid CSRF token. Please try again.', [clearCsrf])
  }
  if (tokens.nonce !== undefined && tokens.nonce !== loaded.session.data.nonceHash) {
    return fail(403, 'Session validation failed', [clearCsrf])
  }
  if (!isValidRedirect(rd)) rd = '/'
  const user = tokens.user
  if (!user) return fail(500, 'no user in ID token', [clearCsrf])
  if (!isAllowed(o, user.email)) return fail(403, 'Invalid session: unauthorized', [clearCsrf])
  const data: SessionData = {
    user,
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    ...(tokens.idToken ? { idToken: tokens.idToken } : {}),
    ...(tokens.idTokenExpiresAt !== undefined ? { idTokenExpiresAt: tokens.idTokenExpiresAt } : {}),
  }
  const value = await s.sessions.create(data, expiresOn(o, tokens) - o.now())
  counters.sessionsCreated++
  return found(rd, [
    ...NO_CACHE,
    clearCsrf,
    ['Set-Cookie', serializeCookie(o.cookieName, value, cookieAttrs(o, o.cookieExpireMs))],
  ])
}

function signInPageResponse(s: ProxyState, status: number, req: BehaviourRequest, url: URL, extra: Header[]) {
  const { o } = s
  // `SignInPage` clears the session cookie (whatever the request carried) before writing.
  const clear = extra.some(([k]) => k === 'Set-Cookie')
    ? []
    : clearSessionCookies(o, req.headers.get('cookie'))
  return {
    status,
    headers: html([...NO_CACHE, ...extra, ...clear]),
    body: signInPage({
      proxyPrefix: o.proxyPrefix,
      redirect: getRedirect(o, req, url),
      providerName: s.provider.name ?? o.providerName,
      version: o.version,
    }),
  }
}

/** `--preferred-username` as a one-header list under `name`, or none. */
const preferredUsername = (name: string, u: SessionUser): Header[] =>
  u.preferredUsername ? [[name, u.preferredUsername]] : []

function pass(loaded: LoadedOk): PassThrough {
  const u = loaded.data.user
  return {
    pass: true,
    user: u,
    upstreamHeaders: [
      ['X-Forwarded-User', u.user],
      ['X-Forwarded-Email', u.email],
      ...preferredUsername('X-Forwarded-Preferred-Username', u),
    ],
    responseHeaders: [...loaded.headers, ['GAP-Auth', u.email || u.user]],
  }
}

/** The query's comma-separated `key` entries (repeated keys merge), as oauth2-proxy's `extractAllowedEntities`. */
function allowedEntities(url: URL, key: string): string[] {
  return url.searchParams.getAll(key).flatMap((v) => v.split(',').filter(Boolean))
}

/**
 * `authOnlyAuthorize`: the `allowed_groups`, `allowed_email_domains` and `allowed_emails` query
 * constraints of a request (nginx passes them to `/oauth2/auth`; the proxy path checks them too).
 */
function queryAllows(url: URL, u: SessionUser): boolean {
  const groups = allowedEntities(url, 'allowed_groups')
  if (groups.length && !groups.some((g) => u.groups?.includes(g))) return false
  const domains = allowedEntities(url, 'allowed_email_domains')
  const domain = u.email.split('@')[1] ?? ''
  const domainOk = (d: string) =>
    d.startsWith('.') || d.startsWith('*.') ? domain.endsWith(d.replace(/^\*/, '')) : domain === d
  if (domains.length && !domains.some(domainOk)) return false
  const emails = allowedEntities(url, 'allowed_emails')
  return emails.length === 0 || emails.includes(u.email)
}

/** `403 Forbidden` text/plain: a session that fails the request's query constraints. */
const queryForbidden = (loaded: LoadedOk): BehaviourResponse => ({
  status: 403,
  headers: textPlain(loaded.headers),
  body: 'Forbidden\n',
})

/** The main proxy path: the upstream with a session, else the lost-session answer. */
async function proxy(s: ProxyState, req: BehaviourRequest, url: URL): Promise<BehaviourResult> {
  const { o, counters } = s
  const loaded = await loadSession(s, req)
  if (loaded.state === 'ok') return queryAllows(url, loaded.data.user) ? pass(loaded) : queryForbidden(loaded)
  if (loaded.state === 'denied') {
    if (o.forceJsonErrors) return { status: 403, headers: json(loaded.headers), body: '{}' }
    return page(o, 403, 'The session failed authorization checks', req, url, loaded.headers)
  }
  const uri = requestUri(url)
  if (o.forceJsonErrors || oauth2ProxyIsAjax(req.headers) || o.apiRoutes.some((r) => r.test(uri))) {
    counters.jsonUnauthorized++
    return { status: 401, headers: json(loaded.headers), body: '{}' }
  }
  if (o.skipProviderButton) {
    counters.providerRedirects++
    return oauthStart(s, req, url, loaded.headers)
  }
  counters.signInPages++
  return signInPageResponse(s, 403, req, url, loaded.headers)
}

/** The `401 Unauthorized` of `/oauth2/auth` and `/oauth2/userinfo` without a session. */
const probeUnauthorized = (loaded: Loaded): BehaviourResponse => ({
  status: 401,
  headers: textPlain([...NO_CACHE, ...loaded.headers]),
  body: 'Unauthorized\n',
})

/**
 * `/oauth2/auth`, nginx `auth_request`'s probe: 202 with the user's headers, 401 without a session
 * (or denied), 403 `Forbidden` when the query's `allowed_*` constraints fail.
 */
async function authProbe(s: ProxyState, req: BehaviourRequest, url: URL): Promise<BehaviourResponse> {
  const loaded = await loadSession(s, req)
  if (loaded.state !== 'ok') return probeUnauthorized(loaded)
  if (!queryAllows(url, loaded.data.user)) return queryForbidden(loaded)
  const u = loaded.data.user
  return {
    status: 202,
    headers: [
      ...NO_CACHE,
      ...loaded.headers,
      ['GAP-Auth', u.email || u.user],
      ['X-Auth-Request-User', u.user],
      ['X-Auth-Request-Email', u.email],
      ...preferredUsername('X-Auth-Request-Preferred-Username', u),
    ],
    body: '',
  }
}

async function userinfo(s: ProxyState, req: BehaviourRequest): Promise<BehaviourResponse> {
  const loaded = await loadSession(s, req)
  if (loaded.state !== 'ok') return probeUnauthorized(loaded)
  const u = loaded.data.user
  const body = {
    user: u.user,
    email: u.email,
    ...(u.groups?.length ? { groups: u.groups } : {}),
    ...(u.preferredUsername ? { preferredUsername: u.preferredUsername } : {}),
  }
  return {
    status: 200,
    headers: json([...NO_CACHE, ...loaded.headers]),
    body: `${JSON.stringify(body)}\n`,
  }
}

type Route = (s: ProxyState, req: BehaviourRequest, url: URL) => Promise<BehaviourResult> | BehaviourResult

/** The endpoints under `--proxy-prefix`, by path after the prefix; any other one is a 404. */
const PREFIX_ROUTES = new Map<string, Route>([
  ['/start', (s, req, url) => oauthStart(s, req, url, [])],
  ['/callback', callback],
  ['/auth', (s, req, url) => authProbe(s, req, url)],
  ['/userinfo', (s, req) => userinfo(s, req)],
  [
    '/sign_in',
    (s, req, url) =>
      s.o.skipProviderButton ? oauthStart(s, req, url, []) : signInPageResponse(s, 200, req, url, []),
  ],
  [
    '/sign_out',
    (s, req, url) =>
      found(getRedirect(s.o, req, url), [
        ...NO_CACHE,
        ...clearSessionCookies(s.o, req.headers.get('cookie')),
      ]),
  ],
])

/** A front hop's answer to a `Cookie` header over `cookieCap`. */
function headerTooLarge(cap: CookieCap): BehaviourResponse {
  if (cap.answer === 'nginx-400') {
    return { status: 400, headers: html([['Connection', 'close']]), body: nginxHeaderTooLargePage() }
  }
  return {
    status: 431,
    headers: textPlain([['Connection', 'close']]),
    body: '431 Request Header Fields Too Large',
  }
}

async function handle(s: ProxyState, req: BehaviourRequest): Promise<BehaviourResult> {
  const { o } = s
  const url = new URL(req.url)
  const cookieHeader = req.headers.get('cookie')
  if (o.cookieCap && cookieHeader && byteLength(cookieHeader) > o.cookieCap.maxBytes) {
    s.counters.headerTooLarge++
    return headerTooLarge(o.cookieCap)
  }
  const path = url.pathname
  const prefix = o.proxyPrefix
  if (path === '/ping') return { status: 200, headers: textPlain(), body: 'OK' }
  if (path === '/robots.txt')
    return { status: 200, headers: textPlain(), body: 'User-agent: *\nDisallow: /\n' }
  if (path.startsWith(`${prefix}/`)) {
    const route = PREFIX_ROUTES.get(path.slice(prefix.length))
    if (route) return route(s, req, url)
    return { status: 404, headers: textPlain(NO_CACHE), body: '404 page not found\n' }
  }
  if (o.skipAuthRoutes.some((r) => r.test(path))) {
    const loaded = await loadSession(s, req)
    if (loaded.state === 'ok') return pass(loaded)
    return { pass: true, user: null, upstreamHeaders: [], responseHeaders: loaded.headers }
  }
  return proxy(s, req, url)
}

export function createOAuth2ProxyBehaviour(
  options: Partial<OAuth2ProxyOptions> & { cookieSecret: string },
  provider: Provider,
): OAuth2ProxyBehaviour {
  const initial: OAuth2ProxyOptions = { ...OAUTH2_PROXY_DEFAULTS, ...options }
  const o: OAuth2ProxyOptions = { ...initial }
  const now = () => o.now()
  const store = <T>(cookieName: string, chars: number) =>
    new SessionStore<T>({ cookieName, secret: o.cookieSecret, now, idBytes: idBytes(chars) })
  const s: ProxyState = {
    o,
    provider,
    counters: zeroCounters(),
    sessions: store<SessionData>(o.cookieName, o.cookieValueLength.session),
    csrf: store<CsrfData>(`${o.cookieName}_csrf`, o.cookieValueLength.csrf),
  }
  const { counters, sessions, csrf } = s
  return {
    name: 'oauth2-proxy',
    handle: (req) => handle(s, req),
    options: o,
    counters,
    sessions,
    set(patch) {
      Object.assign(o, patch)
    },
    reset() {
      for (const key of Object.keys(o) as (keyof OAuth2ProxyOptions)[]) delete o[key]
      Object.assign(o, initial)
      Object.assign(counters, zeroCounters())
      sessions.reset()
      csrf.reset()
    },
    expireSession: () => sessions.expireAll(),
    deleteSession: () => sessions.deleteAll(),
    tamperSession: () => sessions.tamperAll(),
    ageSession: (ms) => sessions.ageAll(ms),
    isAjax: oauth2ProxyIsAjax,
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
