import { type HttpHandler, HttpResponse, http } from 'msw'
import {
  type BehaviourRequest,
  type BehaviourResponse,
  type CookieCap,
  createInMemoryProvider,
  createNginxFrontBehaviour,
  createOAuth2ProxyBehaviour,
  createProfileBehaviour,
  isPass,
  type OAuth2ProxyBehaviour,
  type OAuth2ProxyOptions,
  type ProfileBehaviour,
  type ProfileName,
  type SessionUser,
} from './behaviour/index.js'
import { parseCookies } from './behaviour/util.js'

/**
 * The msw transport of the proxy behaviours in `./behaviour/`: `Request` → `handle()` → `Response`.
 * Every rule (what a lost session gets, the sign-in flow, cookies) lives in the behaviour module;
 * this file only translates, keeps the emulated browser's cookies for the app origin, and stands
 * in for what a browser does around the proxy (a cross-origin redirect of `fetch`/XHR fails CORS;
 * a top-level navigation follows redirects).
 */

/**
 * What a browser *request* (not Ajax) gets from oauth2-proxy on a lost session.
 *
 * @example
 * oauth2ProxyHandlers({ mode: 'redirect-to-provider' })
 */
export type OAuth2ProxyMode = 'sign-in-page' | 'redirect-to-provider' | 'nginx-front' | 'ajax-401'

/**
 * Options every emulation takes.
 *
 * @example
 * pomeriumHandlers({ baseUrl: 'http://app.test', loginOrigin: 'https://auth.test', signedIn: false })
 */
export interface EmulationOptions {
  /**
   * Origin of the app behind the proxy. Requests to other origins fall through untouched.
   * @default `location.origin` at request time (the page in a browser, `stubPage()`'s in Node)
   */
  baseUrl?: string
  /**
   * Origin of the sign-in service: the identity provider for oauth2-proxy, Pomerium's authenticate
   * service, Authelia's portal, Google, `<team>.cloudflareaccess.com`, Entra ID.
   * @default 'https://login.example.test'
   */
  loginOrigin?: string
  /** Start with a valid session (a user who signed in before the test). @default true */
  signedIn?: boolean
  /** The signed-in user. @default { user: 'alice', email: 'alice@example.com', preferredUsername: 'alice' } */
  user?: SessionUser
}

/**
 * Options of {@link oauth2ProxyHandlers}.
 *
 * @example
 * oauth2ProxyHandlers({ mode: 'redirect-to-provider', csrfPerRequest: true, cookieCap: 8192 })
 */
export interface OAuth2ProxyHandlersOptions extends EmulationOptions {
  /**
   * What a browser request (no `Accept: application/json`) gets on a lost session:
   * - `'sign-in-page'` (default settings): `403` HTML sign-in page; Ajax gets the JSON `401`.
   * - `'redirect-to-provider'` (`--skip-provider-button`): `302` to the provider + a CSRF cookie; Ajax gets the JSON `401`.
   * - `'nginx-front'` (nginx `auth_request` + `error_page 401`): `302` to `/oauth2/start?rd=…` whatever `Accept` says.
   * - `'ajax-401'` (`--force-json-errors`): the JSON `401` whatever `Accept` says.
   * @default 'sign-in-page'
   */
  mode?: OAuth2ProxyMode
  /** `--cookie-csrf-per-request`: one `_oauth2_proxy_<8 chars>_csrf` cookie per sign-in start. @default false */
  csrfPerRequest?: boolean
  /** `--cookie-csrf-per-request-limit`: keep at most N CSRF cookies (0 = unlimited). @default 0 */
  csrfPerRequestLimit?: number
  /**
   * Refuse a `Cookie` header larger than this many bytes (a front hop's limit), with a `431`, or
   * nginx's `400` "Request Header Or Cookie Too Large" when given `{ maxBytes, answer: 'nginx-400' }`.
   * @default null (no cap)
   */
  cookieCap?: number | CookieCap | null
  /** Any other oauth2-proxy 7.x option of the behaviour (`cookieRefreshMs`, `apiRoutes`, …). */
  proxy?: Partial<Omit<OAuth2ProxyOptions, 'cookieSecret'>>
}

/**
 * Options of {@link azureEasyAuthHandlers}.
 *
 * @example
 * azureEasyAuthHandlers({ action: '401', provider: 'aad' })
 */
export interface AzureEasyAuthHandlersOptions extends EmulationOptions {
  /** Unauthenticated action: `'redirect'` (RedirectToLoginPage, `302` to `/.auth/login/<provider>`) or `'401'` (Return401). @default 'redirect' */
  action?: 'redirect' | '401'
  /** Identity provider segment of `/.auth/login/<provider>`. @default 'aad' */
  provider?: string
}

/**
 * Counters of one emulation, the same names for every proxy.
 *
 * @example
 * proxy.session.expire()
 * await app.load()
 * expect(proxy.session.counters).toMatchObject({ logins: 1, signInStarts: 1 })
 */
export interface EmulationCounters {
  /** Lost-session answers the proxy served to the app (JSON 401s, sign-in pages, sign-in redirects). */
  readonly lostSession: number
  /** Sign-in flows started (`/oauth2/start` and the skip-provider-button 302; visits to the login service). */
  readonly signInStarts: number
  /** CSRF cookies minted (oauth2-proxy; 0 for the other proxies). */
  readonly csrfCookies: number
  /** Sessions created by a completed sign-in (the callback). The initial session is not counted. */
  readonly logins: number
  /** Sessions renewed without a sign-in (Easy Auth `/.auth/refresh`, IAP refresh, oauth2-proxy `--cookie-refresh`). */
  readonly refreshes: number
  /** Requests the emulation saw on the app origin and the login origin. */
  readonly requests: number
}

/**
 * The session switch of one emulation: one user, one emulated browser.
 *
 * @example
 * proxy.session.expire() // next request: lost session
 * proxy.session.restore() // signed in again, no login counted
 */
export interface EmulatedSession {
  /** The session's lifetime ends now: the next request finds it expired (oauth2-proxy clears the cookie). */
  expire(): Promise<void>
  /** The session is gone server-side (logout elsewhere, a store flush). */
  end(): Promise<void>
  /** The session cookie no longer validates (tampered, undecodable). oauth2-proxy only; elsewhere same as `end()`. */
  tamper(): Promise<void>
  /** A fresh valid session, as if the user signed in again in another tab. Counts no login. */
  restore(): Promise<void>
  /** Counters, cookies, sessions and options back to the start (signed in unless `signedIn: false`). */
  reset(): Promise<void>
  /** Live counters (read them after the requests settled). */
  readonly counters: EmulationCounters
  /** The emulated browser's cookies for the app origin, by name. */
  readonly cookies: Readonly<Record<string, string>>
}

/**
 * What a re-login function receives; the SDK's `ReloginContext` fits.
 *
 * @example
 * await proxy.relogin({ url: '/oauth2/start?rd=/app/' })
 */
export interface EmulatedReloginContext {
  /** Absolute or app-relative URL that starts the re-login (`ReloginContext.url`). */
  url: string
  signal?: AbortSignal
}

/**
 * One proxy emulation: msw handlers, its session switch, and a re-login that runs through it.
 *
 * @example
 * const proxy = oauth2ProxyHandlers()
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ relogin: proxy.relogin, crossTab: false })
 */
export interface ProxyEmulation<B> {
  /** Put these before your app's own handlers: `setupServer(...proxy.handlers, ...appHandlers)`. */
  readonly handlers: HttpHandler[]
  readonly session: EmulatedSession
  /**
   * A re-login for the SDK's `relogin` option: navigates like a browser's top-level navigation
   * through the emulation (proxy → login service → callback) until the app's own page answers.
   * Works in Node and in the browser (it needs no network and no service worker).
   */
  readonly relogin: (ctx: EmulatedReloginContext) => Promise<void>
  /**
   * One top-level navigation through the emulation, redirects not followed (in Node the same as
   * `fetch(url, { redirect: 'manual' })`). Resolves to `null` when the proxy lets the request
   * through to your handlers.
   */
  navigate(url: string | URL): Promise<Response | null>
  /** The behaviour behind the handlers: full counters and `set()` for every proxy option. */
  readonly behaviour: B
}

const DEFAULT_LOGIN_ORIGIN = 'https://login.example.test'
const DEFAULT_USER: SessionUser = { user: 'alice', email: 'alice@example.com', preferredUsername: 'alice' }
const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const SESSION_LIFETIME_MS = 3600_000

/** The emulated browser's cookie jar for the app origin (msw in Node has none; the service worker's page cannot see `HttpOnly` cookies). */
class CookieJar {
  readonly #cookies = new Map<string, { value: string; expires: number }>()

  header(): string | null {
    const now = Date.now()
    const pairs: string[] = []
    for (const [name, c] of this.#cookies) {
      if (c.expires <= now) this.#cookies.delete(name)
      else pairs.push(`${name}=${c.value}`)
    }
    return pairs.length ? pairs.join('; ') : null
  }

  /** Store the `Set-Cookie` headers of a header list. */
  apply(headers: [string, string][]): void {
    for (const [key, line] of headers) {
      if (key.toLowerCase() !== 'set-cookie') continue
      const [pair, ...attrs] = line.split(';')
      const [[name, value] = ['', '']] = parseCookies(pair ?? '')
      if (!name) continue
      let expires = Number.POSITIVE_INFINITY
      for (const [k, v] of parseCookies(attrs.join(';'))) {
        if (k.toLowerCase() === 'max-age') expires = Date.now() + Number(v) * 1000
        else if (k.toLowerCase() === 'expires' && expires === Number.POSITIVE_INFINITY)
          expires = Date.parse(v)
      }
      if (expires <= Date.now()) this.#cookies.delete(name)
      else this.#cookies.set(name, { value, expires })
    }
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, { value, expires: Number.POSITIVE_INFINITY })
  }

  clear(): void {
    this.#cookies.clear()
  }

  snapshot(): Record<string, string> {
    this.header()
    return Object.fromEntries([...this.#cookies].map(([n, c]) => [n, c.value]))
  }
}

function toResponse(r: BehaviourResponse, method: string): Response {
  const empty = r.body === '' || method === 'HEAD' || [101, 204, 205, 304].includes(r.status)
  return new HttpResponse(empty ? null : r.body, { status: r.status, headers: r.headers })
}

interface Core {
  /** The app origin's behaviour. */
  handle(req: BehaviourRequest): ReturnType<OAuth2ProxyBehaviour['handle']>
  /** The login origin's behaviour (top-level navigations only). */
  handleLogin(req: BehaviourRequest): Promise<BehaviourResponse>
  /** Put a valid session in the store; its cookie's name and value. */
  seed(): Promise<[string, string]>
  expire(): void
  end(): void
  tamper(): void
  reset(): void
  counters(): Omit<EmulationCounters, 'requests'>
}

/** What the parts of one emulation share: its origins, the emulated browser, the switch queue. */
interface EmulationState {
  readonly options: EmulationOptions
  readonly core: Core
  readonly loginOrigin: string
  readonly jar: CookieJar
  requests: number
  /** Switches run in order and before the next request: `session.expire()` needs no `await`. */
  queue: Promise<void>
}

function appOrigin(s: EmulationState): string {
  if (s.options.baseUrl) return new URL(s.options.baseUrl).origin
  const loc = (globalThis as { location?: { origin?: string } }).location
  if (!loc?.origin || loc.origin === 'null') {
    throw new Error('ajax-reauth/testing: pass `baseUrl` (no `location` to take the app origin from)')
  }
  return loc.origin
}

/** Queue a session switch behind the earlier ones; requests wait for the queue. */
function run(s: EmulationState, fn: () => unknown): Promise<void> {
  s.queue = s.queue.then(async () => {
    await fn()
  })
  return s.queue
}

async function signIn(s: EmulationState): Promise<void> {
  const [name, value] = await s.core.seed()
  s.jar.set(name, value)
}

/** A request as the emulated browser sends it: its cookies come from the jar. */
function toBehaviourRequest(s: EmulationState, request: Request, cookies: boolean): BehaviourRequest {
  const headers = new Headers(request.headers)
  headers.delete('cookie')
  const cookie = cookies ? s.jar.header() : null
  if (cookie) headers.set('cookie', cookie)
  return { method: request.method, url: request.url, headers }
}

/** `undefined`: not ours or let through to the app's handlers. */
async function dispatch(
  s: EmulationState,
  request: Request,
  navigation: boolean,
): Promise<Response | undefined> {
  const url = new URL(request.url)
  if (url.origin === s.loginOrigin) {
    await s.queue
    s.requests++
    // fetch/XHR following a redirect here: the login service sends no CORS headers. A top-level
    // navigation (or a Node `fetch` that says it is one with `Sec-Fetch-Mode: navigate`) gets in.
    const navigates =
      navigation || request.mode === 'navigate' || request.headers.get('sec-fetch-mode') === 'navigate'
    if (!navigates) return HttpResponse.error()
    return toResponse(await s.core.handleLogin(toBehaviourRequest(s, request, false)), request.method)
  }
  if (url.origin !== appOrigin(s)) return undefined
  await s.queue
  s.requests++
  const result = await s.core.handle(toBehaviourRequest(s, request, true))
  if (isPass(result)) {
    s.jar.apply(result.responseHeaders)
    for (const [name, value] of result.upstreamHeaders) request.headers.set(name, value)
    return undefined
  }
  s.jar.apply(result.headers)
  return toResponse(result, request.method)
}

async function navigate(
  s: EmulationState,
  target: string | URL,
  signal?: AbortSignal,
): Promise<Response | null> {
  const url = new URL(target, `${appOrigin(s)}/`)
  const init: RequestInit = {
    headers: { accept: NAVIGATION_ACCEPT, 'sec-fetch-mode': 'navigate' },
    redirect: 'manual',
  }
  if (signal) init.signal = signal
  return (await dispatch(s, new Request(url, init), true)) ?? null
}

async function relogin(s: EmulationState, { url, signal }: EmulatedReloginContext): Promise<void> {
  let next = new URL(url, `${appOrigin(s)}/`)
  for (let hop = 0; hop < 20; hop++) {
    signal?.throwIfAborted()
    const res = await navigate(s, next, signal)
    const sameOrigin = next.origin === appOrigin(s)
    if (sameOrigin && (res === null || (res.status >= 200 && res.status < 300))) return
    const location = res?.headers.get('location')
    if (!res || res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`ajax-reauth/testing: re-login stopped at ${next.href} with status ${res?.status}`)
    }
    next = new URL(location, next)
  }
  throw new Error('ajax-reauth/testing: re-login followed too many redirects')
}

function sessionSwitch(s: EmulationState): EmulatedSession {
  const { core, jar } = s
  return {
    expire: () => run(s, core.expire),
    end: () => run(s, core.end),
    tamper: () => run(s, core.tamper),
    restore: () => run(s, () => signIn(s)),
    reset: () =>
      run(s, async () => {
        core.reset()
        jar.clear()
        s.requests = 0
        if (s.options.signedIn ?? true) await signIn(s)
      }),
    get counters() {
      return { ...core.counters(), requests: s.requests }
    },
    get cookies() {
      return jar.snapshot()
    },
  }
}

function emulate<B>(options: EmulationOptions, behaviour: B, core: Core): ProxyEmulation<B> {
  const s: EmulationState = {
    options,
    core,
    loginOrigin: new URL(options.loginOrigin ?? DEFAULT_LOGIN_ORIGIN).origin,
    jar: new CookieJar(),
    requests: 0,
    queue: Promise.resolve(),
  }
  if (options.signedIn ?? true) void run(s, () => signIn(s))
  const handlers: HttpHandler[] = [http.all('*', async ({ request }) => dispatch(s, request, false))]
  return {
    handlers,
    session: sessionSwitch(s),
    relogin: (ctx) => relogin(s, ctx),
    navigate: (url) => navigate(s, url),
    behaviour,
  }
}

function randomSecret(): string {
  const bytes = new Uint8Array(32)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * msw handlers that emulate OAuth2-Proxy 7.x in front of your app (`shared/proxy-behaviour.md`),
 * with an in-memory identity provider on `loginOrigin`. Requests with a valid session fall through
 * to your own handlers (with `X-Forwarded-User` / `X-Forwarded-Email` added); without one they get
 * the proxy's answer for the chosen `mode`. `/oauth2/start`, `/oauth2/callback`, `/oauth2/auth`,
 * `/oauth2/userinfo`, `/oauth2/sign_in` and `/oauth2/sign_out` behave as oauth2-proxy's.
 *
 * @example
 * import { setupServer } from 'msw/node'
 * import { http, HttpResponse } from 'msw'
 * import { createReauth } from 'ajax-reauth'
 * import { oauth2ProxyHandlers } from 'ajax-reauth/testing'
 *
 * const proxy = oauth2ProxyHandlers({ baseUrl: 'http://app.test', mode: 'sign-in-page' })
 * const server = setupServer(
 *   ...proxy.handlers,
 *   http.get('http://app.test/api/items', () => HttpResponse.json(['one'])),
 * )
 * const reauth = createReauth({ relogin: proxy.relogin, crossTab: false })
 *
 * proxy.session.expire()
 * await reauth.fetch('/api/items') // 401 → one re-login through the emulation → replayed: 200
 * expect(proxy.session.counters.logins).toBe(1)
 */
export function oauth2ProxyHandlers(
  options: OAuth2ProxyHandlersOptions = {},
): ProxyEmulation<OAuth2ProxyBehaviour> {
  const mode = options.mode ?? 'sign-in-page'
  const user = options.user ?? DEFAULT_USER
  const provider = createInMemoryProvider({
    origin: new URL(options.loginOrigin ?? DEFAULT_LOGIN_ORIGIN).origin,
    user,
  })
  const cap = options.cookieCap ?? null
  const proxy = createOAuth2ProxyBehaviour(
    {
      ...options.proxy,
      cookieSecret: randomSecret(),
      csrfPerRequest: options.csrfPerRequest ?? false,
      csrfPerRequestLimit: options.csrfPerRequestLimit ?? 0,
      cookieCap: typeof cap === 'number' ? { maxBytes: cap, answer: '431' } : cap,
      skipProviderButton: mode === 'redirect-to-provider',
      forceJsonErrors: mode === 'ajax-401',
    },
    provider,
  )
  const front = mode === 'nginx-front' ? createNginxFrontBehaviour(proxy) : null
  const behaviour = front ?? proxy
  return emulate(options, proxy, {
    handle: (req) => behaviour.handle(req),
    handleLogin: (req) => provider.handle(req),
    async seed() {
      const value = await proxy.sessions.create(
        { user, accessToken: 'initial-access-token' },
        proxy.options.cookieExpireMs,
      )
      return [proxy.options.cookieName, value]
    },
    expire: () => proxy.expireSession(),
    end: () => proxy.deleteSession(),
    tamper: () => proxy.tamperSession(),
    reset: () => behaviour.reset(),
    counters: () => {
      const c = proxy.counters
      return {
        lostSession:
          c.jsonUnauthorized + c.signInPages + c.providerRedirects + (front?.counters.signInRedirects ?? 0),
        signInStarts: c.signInStarts,
        csrfCookies: c.csrfCookiesMinted,
        logins: c.sessionsCreated,
        refreshes: c.refreshes,
      }
    },
  })
}

function profileHandlers(
  name: ProfileName,
  options: EmulationOptions,
  extra: { easyAuthAction?: 'redirect' | '401'; easyAuthProvider?: string } = {},
): ProxyEmulation<ProfileBehaviour> {
  const user = options.user ?? DEFAULT_USER
  const profile = createProfileBehaviour(name, {
    secret: randomSecret(),
    loginOrigin: new URL(options.loginOrigin ?? DEFAULT_LOGIN_ORIGIN).origin,
    user,
    sessionLifetimeMs: SESSION_LIFETIME_MS,
    ...extra,
  })
  return emulate(options, profile, {
    handle: (req) => profile.handle(req),
    handleLogin: (req) => profile.handleLogin(req),
    async seed() {
      return [profile.cookieName, await profile.sessions.create(user, SESSION_LIFETIME_MS)]
    },
    expire: () => profile.expireSession(),
    end: () => profile.deleteSession(),
    tamper: () => profile.deleteSession(),
    reset: () => profile.reset(),
    counters: () => ({
      lostSession: profile.counters.lostSession,
      signInStarts: profile.counters.loginVisits,
      csrfCookies: 0,
      logins: profile.counters.logins,
      refreshes: profile.counters.refreshes,
    }),
  })
}

/**
 * msw handlers that emulate Pomerium: a lost session gets `401` JSON `{"error":"Unauthenticated",…}`
 * when `Accept` does not pick `text/html` (or with `X-Requested-With`), else a `302` to the
 * authenticate service on `loginOrigin`, which signs the user in and returns through
 * `/.pomerium/callback/`. `/.pomerium/user` (the probe) answers the user's claims as JSON.
 *
 * @example
 * const proxy = pomeriumHandlers({ baseUrl: 'http://app.test' })
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ proxy: pomerium(), relogin: proxy.relogin, crossTab: false })
 */
export function pomeriumHandlers(options: EmulationOptions = {}): ProxyEmulation<ProfileBehaviour> {
  return profileHandlers('pomerium', options)
}

/**
 * msw handlers that emulate Authelia (forward-auth): a lost session gets `401` with `Location` to the
 * portal for `X-Requested-With: XMLHttpRequest` or an `Accept` without `text/html`, else a `302` to
 * the portal on `loginOrigin`.
 *
 * @example
 * const proxy = autheliaHandlers({ baseUrl: 'http://app.test' })
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ proxy: authelia(), relogin: proxy.relogin, crossTab: false })
 */
export function autheliaHandlers(options: EmulationOptions = {}): ProxyEmulation<ProfileBehaviour> {
  return profileHandlers('authelia', options)
}

/**
 * msw handlers that emulate Google Cloud IAP: a lost session gets `401` for
 * `X-Requested-With: XMLHttpRequest` (and every POST), else a `302` to Google on `loginOrigin`;
 * `/?gcp-iap-mode=DO_SESSION_REFRESH` answers `200` once signed in; `?gcp-iap-mode=IDENTITY` (the
 * probe) the user's identity as JSON.
 *
 * @example
 * const proxy = googleIapHandlers({ baseUrl: 'http://app.test' })
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ proxy: googleIap(), relogin: proxy.relogin, crossTab: false })
 */
export function googleIapHandlers(options: EmulationOptions = {}): ProxyEmulation<ProfileBehaviour> {
  return profileHandlers('google-iap', options)
}

/**
 * msw handlers that emulate Cloudflare Access: a lost session gets `401` for
 * `X-Requested-With: XMLHttpRequest`, else a `302` to `<team>.cloudflareaccess.com` (`loginOrigin`),
 * which `fetch` cannot follow (CORS). `/cdn-cgi/access/get-identity` (the probe) answers the user's
 * identity as JSON.
 *
 * @example
 * const proxy = cloudflareAccessHandlers({ baseUrl: 'http://app.test' })
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ proxy: cloudflareAccess(), relogin: proxy.relogin, crossTab: false })
 */
export function cloudflareAccessHandlers(options: EmulationOptions = {}): ProxyEmulation<ProfileBehaviour> {
  return profileHandlers('cloudflare-access', options)
}

/**
 * msw handlers that emulate Azure App Service Easy Auth: a lost session gets a `302` to
 * `/.auth/login/<provider>` (`action: 'redirect'`) or a `401` (`action: '401'`); `/.auth/me` is the
 * probe and `/.auth/refresh` renews an expired session within the grace period
 * (`session.expire()`), while `session.end()` needs a full sign-in.
 *
 * @example
 * const proxy = azureEasyAuthHandlers({ baseUrl: 'http://app.test', action: '401' })
 * const server = setupServer(...proxy.handlers, ...appHandlers)
 * const reauth = createReauth({ proxy: azureEasyAuth(), relogin: proxy.relogin, crossTab: false })
 */
export function azureEasyAuthHandlers(
  options: AzureEasyAuthHandlersOptions = {},
): ProxyEmulation<ProfileBehaviour> {
  return profileHandlers('azure-easy-auth', options, {
    easyAuthAction: options.action ?? 'redirect',
    easyAuthProvider: options.provider ?? 'aad',
  })
}
