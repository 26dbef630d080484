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

export function createProfileBehaviour(
  name: ProfileName,
  options: ProfileBehaviourOptions,
): ProfileBehaviour {
  const now = options.now ?? Date.now
  const user = options.user ?? DEFAULT_USER
  const lifetime = options.sessionLifetimeMs ?? 3600_000
  const easyProvider = options.easyAuthProvider ?? 'aad'
  const graceMs = options.easyAuthGraceMs ?? 72 * 3600_000
  const cookieName = COOKIE[name]
  const callbackPath = name === 'azure-easy-auth' ? `/.auth/login/${easyProvider}/callback` : CALLBACK[name]
  const sessions = new SessionStore<SessionUser>({ cookieName, secret: options.secret, now })
  const tickets = new Set<string>()
  const zero = (): ProfileCounters => ({ lostSession: 0, loginVisits: 0, logins: 0, refreshes: 0 })
  const counters = zero()

  function isAjax(req: { method: string; headers: Headers }): boolean {
    const h = req.headers
    switch (name) {
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
        return options.easyAuthAction === '401'
    }
  }

  /** The app callback URL that restores the session and lands on `target`. */
  const callbackUrl = (origin: string, target: string) =>
    `${origin}${callbackPath}?target=${encodeURIComponent(target)}`

  function loginUrl(origin: string, target: string): string {
    const back = encodeURIComponent(callbackUrl(origin, target))
    const host = new URL(origin).host
    const lo = options.loginOrigin
    switch (name) {
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

  function lostSession(req: BehaviourRequest, url: URL): BehaviourResponse {
    counters.lostSession++
    const target = url.href
    const login = loginUrl(url.origin, target)
    const ajax = isAjax(req)
    switch (name) {
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
          `/.auth/login/${easyProvider}?post_login_redirect_uri=${encodeURIComponent(requestUri(url))}`,
        )
    }
  }

  type Loaded = { id: string; user: SessionUser; expiresOn: number } | null
  async function load(req: BehaviourRequest): Promise<{ ok: Loaded; expired: Loaded }> {
    const value = getCookie(req.headers.get('cookie'), cookieName)
    if (!value) return { ok: null, expired: null }
    const r = await sessions.load(value)
    if (r.status !== 'ok') return { ok: null, expired: null }
    const s = { id: r.id, user: r.session.data, expiresOn: r.session.expiresOn }
    return r.session.expiresOn > now() ? { ok: s, expired: null } : { ok: null, expired: s }
  }

  async function setSessionCookie(value: string): Promise<[string, string]> {
    return ['Set-Cookie', serializeCookie(cookieName, value, { expires: now() + lifetime + graceMs })]
  }

  async function handle(req: BehaviourRequest): Promise<BehaviourResult> {
    const url = new URL(req.url)
    const path = url.pathname
    if (path === callbackPath) {
      const ticket = url.searchParams.get('ticket') ?? ''
      const target = url.searchParams.get('target') ?? '/'
      if (!tickets.delete(ticket)) return { status: 403, headers: textPlain(), body: 'invalid ticket' }
      counters.logins++
      const value = await sessions.create(user, lifetime)
      const dest = new URL(target, url.origin)
      return redirect(dest.origin === url.origin ? dest.href : '/', [await setSessionCookie(value)])
    }
    const { ok, expired } = await load(req)
    if (name === 'azure-easy-auth') {
      if (path === `/.auth/login/${easyProvider}`) {
        const target = url.searchParams.get('post_login_redirect_uri') ?? '/'
        return redirect(
          loginUrl(url.origin, target.startsWith('/') && !target.startsWith('//') ? target : '/'),
        )
      }
      if (path === '/.auth/me') {
        if (!ok) return { status: 401, headers: textPlain(), body: '' }
        return {
          status: 200,
          headers: json(),
          body: JSON.stringify([
            {
              provider_name: easyProvider,
              user_id: ok.user.email,
              expires_on: new Date(ok.expiresOn).toISOString(),
              user_claims: [{ typ: 'preferred_username', val: ok.user.preferredUsername ?? ok.user.user }],
            },
          ]),
        }
      }
      if (path === '/.auth/refresh') {
        const s = ok ?? expired
        if (!s || s.expiresOn + graceMs <= now()) return { status: 401, headers: textPlain(), body: '' }
        sessions.update(s.id, { expiresOn: now() + lifetime })
        counters.refreshes++
        return {
          status: 200,
          headers: textPlain([await setSessionCookie(await sessions.cookieValue(s.id))]),
          body: '',
        }
      }
    }
    if (!ok) return lostSession(req, url)
    if (name === 'google-iap' && url.searchParams.get('gcp-iap-mode') === 'DO_SESSION_REFRESH') {
      counters.refreshes++
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

  const behaviour: ProfileBehaviour = {
    name,
    cookieName,
    counters,
    sessions,
    automaticLogin: true,
    isAjax,
    handle,
    async handleLogin(req) {
      counters.loginVisits++
      const url = new URL(req.url)
      const back = url.searchParams.get(RETURN_PARAM[name])
      if (!back) return { status: 400, headers: textPlain(), body: 'missing return address' }
      if (!behaviour.automaticLogin && url.searchParams.get('confirm') !== '1') {
        const next = new URL(url.href)
        next.searchParams.set('confirm', '1')
        return {
          status: 200,
          headers: html(),
          body: `<!DOCTYPE html><title>Sign in</title><a id="continue" href="${next.href.replace(/&/g, '&amp;')}">Continue as ${user.email}</a>`,
        }
      }
      const ticket = randomToken(16)
      tickets.add(ticket)
      const dest = new URL(back)
      dest.searchParams.set('ticket', ticket)
      return redirect(dest.href)
    },
    expireSession: () => sessions.expireAll(),
    deleteSession: () => sessions.deleteAll(),
    reset() {
      sessions.reset()
      tickets.clear()
      Object.assign(counters, zero())
      behaviour.automaticLogin = true
    },
  }
  return behaviour
}
