import { SessionStore } from './session-store.js'
import type { Behaviour, BehaviourRequest, BehaviourResponse, BehaviourResult, SessionUser } from './types.js'
import {
  acceptedMediaRanges,
  getCookie,
  html,
  isXmlHttpRequest,
  json,
  randomToken,
  requestUri,
  serializeCookie,
  textPlain,
} from './util.js'

/**
 * The lost-session answers of the other proxies in proxy-behaviour.md, each with a minimal
 * re-login that restores the session. Every profile works the same way:
 *
 * - the app origin (`handle`) answers a request without a session with the proxy's answer;
 * - a browser sent to the sign-in service lands on the **login origin** (`handleLogin`, another
 *   origin: Pomerium's authenticate service, Authelia's portal, Google, `<team>.cloudflareaccess.com`,
 *   Entra ID), which signs the single test user in at once (or, with `automaticLogin` off, shows
 *   a page that needs a click) and sends the browser back to the profile's callback on the app
 *   origin with a one-time ticket;
 * - the callback sets the profile's session cookie and redirects to the original target.
 *
 * Simplifications, on purpose: no real tokens; Authelia's shared-domain cookie is replaced by a
 * callback on the app origin; Easy Auth's expired-token-within-grace is modelled as a lost
 * session that `/.auth/refresh` restores.
 */
export type ProfileName = 'pomerium' | 'authelia' | 'google-iap' | 'cloudflare-access' | 'azure-easy-auth'

export const PROFILE_NAMES: readonly ProfileName[] = [
  'pomerium',
  'authelia',
  'google-iap',
  'cloudflare-access',
  'azure-easy-auth',
]

export interface ProfileBehaviourOptions {
  /** Signs the session cookies. */
  secret: string
  /** Origin of the sign-in service (another origin than the app). */
  loginOrigin: string
  user?: SessionUser
  sessionLifetimeMs?: number
  /** Easy Auth "unauthenticated action": `redirect` (RedirectToLoginPage, default) or `401` (Return401). */
  easyAuthAction?: 'redirect' | '401'
  /** Easy Auth identity provider segment of `/.auth/login/<provider>` (default `aad`). */
  easyAuthProvider?: string
  /** Easy Auth token refresh grace period (default 72h). */
  easyAuthGraceMs?: number
  now?: () => number
}

export interface ProfileCounters {
  /** Lost-session answers served (401s and sign-in redirects). */
  lostSession: number
  /** Visits to the login origin. */
  loginVisits: number
  /** Sessions restored by the callback. */
  logins: number
  /** Successful `/.auth/refresh` (Easy Auth) and IAP session refreshes. */
  refreshes: number
}

export interface ProfileBehaviour extends Behaviour {
  readonly name: ProfileName
  /** The handler of the login origin. */
  handleLogin(req: BehaviourRequest): Promise<BehaviourResponse>
  readonly counters: Readonly<ProfileCounters>
  readonly sessions: SessionStore<SessionUser>
  /** The session cookie's name. */
  readonly cookieName: string
  /** Does the profile treat this request as Ajax (the 401 answer)? */
  isAjax(req: { method: string; headers: Headers }): boolean
  /** When false, the login origin needs a click: silent re-login cannot complete. */
  automaticLogin: boolean
  expireSession(): number
  deleteSession(): number
  reset(): void
}

const DEFAULT_USER: SessionUser = { user: 'alice', email: 'alice@example.com', preferredUsername: 'alice' }

/** The query parameter carrying the app callback URL on the login origin, per profile. */
const RETURN_PARAM: Record<ProfileName, string> = {
  pomerium: 'pomerium_redirect_uri',
  authelia: 'rd',
  'google-iap': 'continue',
  'cloudflare-access': 'redirect_url',
  'azure-easy-auth': 'redirect_uri',
}

const COOKIE: Record<ProfileName, string> = {
  pomerium: '_pomerium',
  authelia: 'authelia_session',
  'google-iap': 'GCP_IAP_AUTH_TOKEN',
  'cloudflare-access': 'CF_Authorization',
  'azure-easy-auth': 'AppServiceAuthSession',
}

const CALLBACK: Record<ProfileName, string> = {
  pomerium: '/.pomerium/callback/',
  authelia: '/__authelia/callback',
  'google-iap': '/_gcp_gatekeeper/authenticate',
  'cloudflare-access': '/cdn-cgi/access/authorized',
  'azure-easy-auth': '/.auth/login/aad/callback',
}

/** What the parts of one profile share: its settings, session store, tickets and counters. */
interface ProfileState {
  readonly name: ProfileName
  readonly options: ProfileBehaviourOptions
  readonly now: () => number
  readonly user: SessionUser
  readonly lifetime: number
  readonly easyProvider: string
  readonly graceMs: number
  readonly cookieName: string
  readonly callbackPath: string
  readonly sessions: SessionStore<SessionUser>
  /** One-time tickets the login origin issued and the callback has not redeemed. */
  readonly tickets: Set<string>
  readonly counters: ProfileCounters
}

type LoadedSession = { id: string; user: SessionUser; expiresOn: number } | null

const zeroCounters = (): ProfileCounters => ({ lostSession: 0, loginVisits: 0, logins: 0, refreshes: 0 })

function isProfileAjax(s: ProfileState, req: { method: string; headers: Headers }): boolean {
  const h = req.headers
  switch (s.name) {
    case 'pomerium': {
      // Content negotiation between text/html and application/json: HTML wins when the
      // client accepts it (explicitly or through a wildcard).
      if (isXmlHttpRequest(h)) return true
      const ranges = acceptedMediaRanges(h)
      if (ranges.length === 0) return false
      return !ranges.some((r) => r === 'text/html' || r === 'text/*' || r === '*/*')
    }
    case 'authelia':
      return isXmlHttpRequest(h) || !(h.get('accept') ?? '').includes('text/html')
    case 'google-iap':
      return isXmlHttpRequest(h) || req.method.toUpperCase() === 'POST'
    case 'cloudflare-access':
      return isXmlHttpRequest(h)
    case 'azure-easy-auth':
      return s.options.easyAuthAction === '401'
  }
}

/** The login origin's URL that signs the user in and returns through the callback to `target`. */
function loginUrl(s: ProfileState, origin: string, target: string): string {
  // The app callback URL that restores the session and lands on `target`.
  const back = encodeURIComponent(`${origin}${s.callbackPath}?target=${encodeURIComponent(target)}`)
  const host = new URL(origin).host
  const lo = s.options.loginOrigin
  switch (s.name) {
    case 'pomerium':
      return `${lo}/.pomerium/sign_in?pomerium_redirect_uri=${back}`
    case 'authelia':
      return `${lo}/authelia/?rd=${back}`
    case 'google-iap':
      return `${lo}/o/oauth2/v2/auth?continue=${back}`
    case 'cloudflare-access':
      return `${lo}/cdn-cgi/access/login/${host}?redirect_url=${back}`
    case 'azure-easy-auth':
      return `${lo}/common/oauth2/v2.0/authorize?redirect_uri=${back}`
  }
}

const redirect = (location: string, headers: [string, string][] = []): BehaviourResponse => ({
  status: 302,
  headers: [...html(headers), ['Location', location]],
  body: '',
})

/** Easy Auth's bare `401` of `/.auth/me` and `/.auth/refresh` without a (renewable) session. */
const emptyUnauthorized = (): BehaviourResponse => ({ status: 401, headers: textPlain(), body: '' })

function lostSession(s: ProfileState, req: BehaviourRequest, url: URL): BehaviourResponse {
  s.counters.lostSession++
  const target = url.href
  const login = loginUrl(s, url.origin, target)
  const ajax = isProfileAjax(s, req)
  switch (s.name) {
    case 'pomerium':
      if (ajax) {
        return {
          status: 401,
          headers: json(),
          body: JSON.stringify({
            error: 'Unauthenticated',
            request_id: randomToken(8),
            status: 401,
            statusText: 'Unauthorized',
          }),
        }
      }
      return redirect(login)
    case 'authelia':
      // Authelia answers Ajax with a 401 that still carries the portal in `Location`.
      if (ajax) return { status: 401, headers: textPlain([['Location', login]]), body: '401 Unauthorized' }
      return redirect(login)
    case 'google-iap':
      if (ajax) return { status: 401, headers: html(), body: 'Invalid IAP credentials: empty token' }
      return redirect(login)
    case 'cloudflare-access':
      if (ajax) return { status: 401, headers: textPlain(), body: 'Unauthorized' }
      return redirect(login)
    case 'azure-easy-auth':
      if (ajax)
        return {
          status: 401,
          headers: html(),
          body: 'You do not have permission to view this directory or page.',
        }
      return redirect(
        `/.auth/login/${s.easyProvider}?post_login_redirect_uri=${encodeURIComponent(requestUri(url))}`,
      )
  }
}

/** The request's session: valid (`ok`), expired (`expired`, Easy Auth may renew it), or neither. */
async function load(
  s: ProfileState,
  req: BehaviourRequest,
): Promise<{ ok: LoadedSession; expired: LoadedSession }> {
  const value = getCookie(req.headers.get('cookie'), s.cookieName)
  if (!value) return { ok: null, expired: null }
  const r = await s.sessions.load(value)
  if (r.status !== 'ok') return { ok: null, expired: null }
  const loaded = { id: r.id, user: r.session.data, expiresOn: r.session.expiresOn }
  return r.session.expiresOn > s.now() ? { ok: loaded, expired: null } : { ok: null, expired: loaded }
}

function setSessionCookie(s: ProfileState, value: string): [string, string] {
  return ['Set-Cookie', serializeCookie(s.cookieName, value, { expires: s.now() + s.lifetime + s.graceMs })]
}

/** The app origin's callback: redeem the login origin's ticket, set the session, go to the target. */
async function callback(s: ProfileState, url: URL): Promise<BehaviourResponse> {
  const ticket = url.searchParams.get('ticket') ?? ''
  const target = url.searchParams.get('target') ?? '/'
  if (!s.tickets.delete(ticket)) return { status: 403, headers: textPlain(), body: 'invalid ticket' }
  s.counters.logins++
  const value = await s.sessions.create(s.user, s.lifetime)
  const dest = new URL(target, url.origin)
  return redirect(dest.origin === url.origin ? dest.href : '/', [setSessionCookie(s, value)])
}

/** Easy Auth's own `/.auth/*` routes; `null` for any other path. */
async function easyAuthRoute(
  s: ProfileState,
  url: URL,
  { ok, expired }: { ok: LoadedSession; expired: LoadedSession },
): Promise<BehaviourResponse | null> {
  const path = url.pathname
  if (path === `/.auth/login/${s.easyProvider}`) {
    const target = url.searchParams.get('post_login_redirect_uri') ?? '/'
    return redirect(
      loginUrl(s, url.origin, target.startsWith('/') && !target.startsWith('//') ? target : '/'),
    )
  }
  if (path === '/.auth/me') {
    if (!ok) return emptyUnauthorized()
    return {
      status: 200,
      headers: json(),
      body: JSON.stringify([
        {
          provider_name: s.easyProvider,
          user_id: ok.user.email,
          expires_on: new Date(ok.expiresOn).toISOString(),
          user_claims: [{ typ: 'preferred_username', val: ok.user.preferredUsername ?? ok.user.user }],
        },
      ]),
    }
  }
  if (path === '/.auth/refresh') {
    const session = ok ?? expired
    if (!session || session.expiresOn + s.graceMs <= s.now()) return emptyUnauthorized()
    s.sessions.update(session.id, { expiresOn: s.now() + s.lifetime })
    s.counters.refreshes++
    return {
      status: 200,
      headers: textPlain([setSessionCookie(s, await s.sessions.cookieValue(session.id))]),
      body: '',
    }
  }
  return null
}

/**
 * The proxies' own identity endpoints, answered for a valid session (without one, the request takes the
 * lost-session path like any other): Pomerium's `/.pomerium/user` (JSON claims), Google IAP's
 * `?gcp-iap-mode=IDENTITY` on any path, Cloudflare Access's `/cdn-cgi/access/get-identity`.
 * `null` for any other request.
 */
function identityRoute(s: ProfileState, url: URL, user: SessionUser): BehaviourResponse | null {
  const answer = (body: unknown): BehaviourResponse => ({
    status: 200,
    headers: json([['Cache-Control', 'no-store']]),
    body: JSON.stringify(body),
  })
  const sub = `${user.user}-id`
  if (s.name === 'pomerium' && url.pathname === '/.pomerium/user') {
    return answer({ sub, email: user.email, user: sub, name: user.user })
  }
  if (s.name === 'google-iap' && url.searchParams.get('gcp-iap-mode') === 'IDENTITY') {
    return answer({ email: `accounts.google.com:${user.email}`, sub: `accounts.google.com:${sub}` })
  }
  if (s.name === 'cloudflare-access' && url.pathname === '/cdn-cgi/access/get-identity') {
    return answer({ id: sub, email: user.email, name: user.user, idp: { id: 'idp', type: 'oidc' } })
  }
  return null
}

async function handle(s: ProfileState, req: BehaviourRequest): Promise<BehaviourResult> {
  const url = new URL(req.url)
  if (url.pathname === s.callbackPath) return callback(s, url)
  const loaded = await load(s, req)
  if (s.name === 'azure-easy-auth') {
    const answer = await easyAuthRoute(s, url, loaded)
    if (answer) return answer
  }
  const { ok } = loaded
  if (!ok) return lostSession(s, req, url)
  const identity = identityRoute(s, url, ok.user)
  if (identity) return identity
  if (s.name === 'google-iap' && url.searchParams.get('gcp-iap-mode') === 'DO_SESSION_REFRESH') {
    s.counters.refreshes++
    return {
      status: 200,
      headers: html(),
      body: '<!DOCTYPE html><title>Session refreshed</title><p>OK</p>',
    }
  }
  return {
    pass: true,
    user: ok.user,
    upstreamHeaders: [['X-Forwarded-Email', ok.user.email]],
    responseHeaders: [],
  }
}

/** The login origin: sign the user in at once (or after a click) and send a ticket back. */
function handleLogin(s: ProfileState, automaticLogin: boolean, req: BehaviourRequest): BehaviourResponse {
  s.counters.loginVisits++
  const url = new URL(req.url)
  const back = url.searchParams.get(RETURN_PARAM[s.name])
  if (!back) return { status: 400, headers: textPlain(), body: 'missing return address' }
  if (!automaticLogin && url.searchParams.get('confirm') !== '1') {
    const next = new URL(url.href)
    next.searchParams.set('confirm', '1')
    return {
      status: 200,
      headers: html(),
      body: `<!DOCTYPE html><title>Sign in</title><a id="continue" href="${next.href.replace(/&/g, '&amp;')}">Continue as ${s.user.email}</a>`,
    }
  }
  const ticket = randomToken(16)
  s.tickets.add(ticket)
  const dest = new URL(back)
  dest.searchParams.set('ticket', ticket)
  return redirect(dest.href)
}

export function createProfileBehaviour(
  name: ProfileName,
  options: ProfileBehaviourOptions,
): ProfileBehaviour {
  const now = options.now ?? Date.now
  const easyProvider = options.easyAuthProvider ?? 'aad'
  const cookieName = COOKIE[name]
  const s: ProfileState = {
    name,
    options,
    now,
    user: options.user ?? DEFAULT_USER,
    lifetime: options.sessionLifetimeMs ?? 3600_000,
    easyProvider,
    graceMs: options.easyAuthGraceMs ?? 72 * 3600_000,
    cookieName,
    callbackPath: name === 'azure-easy-auth' ? `/.auth/login/${easyProvider}/callback` : CALLBACK[name],
    sessions: new SessionStore<SessionUser>({ cookieName, secret: options.secret, now }),
    tickets: new Set<string>(),
    counters: zeroCounters(),
  }
  const { sessions, counters } = s
  const behaviour: ProfileBehaviour = {
    name,
    cookieName,
    counters,
    sessions,
    automaticLogin: true,
    isAjax: (req) => isProfileAjax(s, req),
    handle: (req) => handle(s, req),
    async handleLogin(req) {
      return handleLogin(s, behaviour.automaticLogin, req)
    },
    expireSession: () => sessions.expireAll(),
    deleteSession: () => sessions.deleteAll(),
    reset() {
      sessions.reset()
      s.tickets.clear()
      Object.assign(counters, zeroCounters())
      behaviour.automaticLogin = true
    },
  }
  return behaviour
}
