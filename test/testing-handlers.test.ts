import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  autheliaHandlers,
  azureEasyAuthHandlers,
  cloudflareAccessHandlers,
  googleIapHandlers,
  type OAuth2ProxyMode,
  oauth2ProxyHandlers,
  type ProxyEmulation,
  pomeriumHandlers,
} from '../src/testing'

const APP = 'http://app.test'
const LOGIN = 'https://login.example.test'
const AJAX = { accept: 'application/json' }
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
const XRW = { 'x-requested-with': 'XMLHttpRequest' }
const NO_CACHE = 'no-cache, no-store, must-revalidate, max-age=0'

const server = setupServer()
const app = http.all(`${APP}/*`, ({ request }) =>
  HttpResponse.json({ upstream: true, user: request.headers.get('x-forwarded-user') }),
)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const use = <B>(emulation: ProxyEmulation<B>): ProxyEmulation<B> => {
  server.use(...emulation.handlers, app)
  return emulation
}
const get = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${APP}${path}`, { redirect: 'manual', ...init, headers })

describe('oauth2ProxyHandlers: lost session per mode (proxy-behaviour.md)', () => {
  const lost = async (mode: OAuth2ProxyMode) => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP, mode }))
    await proxy.session.expire()
    return proxy
  }

  it('a valid session falls through to the app, with X-Forwarded-User', async () => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP }))
    const res = await get('/api/items', AJAX)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ upstream: true, user: 'alice' })
    expect(proxy.session.counters).toMatchObject({ lostSession: 0, logins: 0, requests: 1 })
  })

  it("'sign-in-page': Ajax gets JSON 401 {} without Location; a browser request the 403 sign-in page", async () => {
    const proxy = await lost('sign-in-page')
    const ajax = await get('/api/items', AJAX)
    expect(ajax.status).toBe(401)
    expect(ajax.headers.get('content-type')).toBe('application/json')
    expect(ajax.headers.get('location')).toBeNull()
    expect(ajax.headers.get('www-authenticate')).toBeNull()
    // The expired session's cookie is cleared on the way.
    expect(ajax.headers.getSetCookie()).toEqual([expect.stringMatching(/^_oauth2_proxy=; .*Max-Age=0/)])
    expect(await ajax.json()).toEqual({})
    // Not Ajax: a parameter, a q-value or a vendor type is not `application/json` exactly.
    for (const accept of ['*/*', 'application/json; charset=utf-8', 'application/vnd.api+json']) {
      const page = await get('/api/items?a=1', { accept })
      expect(page.status).toBe(403)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(page.headers.get('cache-control')).toBe(NO_CACHE)
      const html = await page.text()
      expect(html).toContain('<title>Sign In</title>')
      expect(html).toContain('action="/oauth2/start"')
      expect(html).toContain('<input type="hidden" name="rd" value="/api/items?a=1">')
    }
    expect(proxy.session.counters).toMatchObject({ lostSession: 4, signInStarts: 0, csrfCookies: 0 })
  })

  it("'redirect-to-provider': a browser request gets 302 to the provider with a CSRF cookie and state=<hash>:<rd>", async () => {
    const proxy = await lost('redirect-to-provider')
    expect((await get('/api/items', AJAX)).status).toBe(401)
    const res = await get('/api/items', BROWSER)
    expect(res.status).toBe(302)
    expect(res.headers.get('cache-control')).toBe(NO_CACHE)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin).toBe(LOGIN)
    expect(location.searchParams.get('state')).toMatch(/^[\w-]{43}:\/api\/items$/)
    expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^_oauth2_proxy_csrf=.+; Max-Age=900/)])
    expect(proxy.session.counters).toMatchObject({ lostSession: 2, signInStarts: 1, csrfCookies: 1 })
  })

  it("'redirect-to-provider': fetch following the redirect fails CORS (TypeError); the CSRF cookie is kept", async () => {
    const proxy = await lost('redirect-to-provider')
    await expect(get('/api/items', BROWSER, { redirect: 'follow' })).rejects.toThrow(TypeError)
    expect(Object.keys(proxy.session.cookies)).toEqual(['_oauth2_proxy_csrf'])
  })

  it("'nginx-front': 302 to /oauth2/start?rd=<request_uri> whatever Accept says; /oauth2/auth answers the probe", async () => {
    const proxy = await lost('nginx-front')
    for (const headers of [AJAX, BROWSER]) {
      const res = await get('/api/items?a=1', headers)
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe(`${APP}/oauth2/start?rd=/api/items?a=1`)
      expect(await res.text()).toContain('<center>nginx</center>')
    }
    const start = await get('/oauth2/start?rd=/api/items', BROWSER)
    expect(start.status).toBe(302)
    expect(new URL(start.headers.get('location')!).origin).toBe(LOGIN)
    const probe = await get('/oauth2/auth', AJAX)
    expect(probe.status).toBe(401)
    expect(probe.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(proxy.session.counters).toMatchObject({ lostSession: 2, signInStarts: 1 })
  })

  it("'ajax-401' (--force-json-errors): JSON 401 for every Accept", async () => {
    await lost('ajax-401')
    for (const headers of [AJAX, BROWSER, {}]) {
      const res = await get('/api/items', headers)
      expect(res.status).toBe(401)
      expect(await res.text()).toBe('{}')
    }
  })

  it('endpoints: /oauth2/auth 202 + X-Auth-Request-*, /oauth2/userinfo, /oauth2/sign_in clears the session', async () => {
    use(oauth2ProxyHandlers({ baseUrl: APP }))
    const auth = await get('/oauth2/auth')
    expect(auth.status).toBe(202)
    expect(auth.headers.get('x-auth-request-email')).toBe('alice@example.com')
    expect(auth.headers.get('gap-auth')).toBe('alice@example.com')
    const info = await get('/oauth2/userinfo')
    expect(await info.json()).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      preferredUsername: 'alice',
    })
    const signIn = await get('/oauth2/sign_in')
    expect(signIn.status).toBe(200)
    expect(signIn.headers.getSetCookie()).toEqual([expect.stringMatching(/^_oauth2_proxy=; .*Max-Age=0/)])
    expect((await get('/oauth2/auth')).status).toBe(401)
  })

  it('/oauth2/start only keeps a relative rd', async () => {
    use(oauth2ProxyHandlers({ baseUrl: APP }))
    for (const [rd, kept] of [
      ['/x?y=1', '/x?y=1'],
      ['//evil.example/', '/'],
      ['https://evil.example/', '/'],
    ] as const) {
      const res = await get(`/oauth2/start?rd=${encodeURIComponent(rd)}`)
      const state = new URL(res.headers.get('location')!).searchParams.get('state')!
      expect(state.slice(state.indexOf(':') + 1)).toBe(kept)
    }
  })

  it('/oauth2/callback without the CSRF cookie: 403 "Unable to find a valid CSRF token"', async () => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP, signedIn: false }))
    const start = await get('/oauth2/start?rd=/x')
    const callback = await proxy.navigate(new URL(start.headers.get('location')!))
    await proxy.session.reset() // the emulated browser forgets the CSRF cookie
    const res = await get(
      new URL(callback!.headers.get('location')!).pathname +
        new URL(callback!.headers.get('location')!).search,
    )
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('Unable to find a valid CSRF token')
  })

  it('the re-login chain: /oauth2/start → provider → /oauth2/callback sets the session, clears the CSRF cookie, 302 to rd', async () => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP, signedIn: false }))
    expect((await get('/api/items', AJAX)).status).toBe(401)
    const start = await get('/oauth2/start?rd=/app/')
    const callback = await proxy.navigate(start.headers.get('location')!)
    expect(callback!.status).toBe(302)
    const cb = new URL(callback!.headers.get('location')!)
    expect(cb.origin + cb.pathname).toBe(`${APP}/oauth2/callback`)
    const done = await get(cb.pathname + cb.search)
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe('/app/')
    const cookies = done.headers.getSetCookie()
    expect(cookies).toContainEqual(expect.stringMatching(/^_oauth2_proxy_csrf=; .*Max-Age=0/))
    expect(cookies).toContainEqual(expect.stringMatching(/^_oauth2_proxy=[^;]{1000,}; .*HttpOnly/))
    expect((await get('/api/items', AJAX)).status).toBe(200)
    expect(proxy.session.counters).toMatchObject({ signInStarts: 1, logins: 1 })
  })

  it('csrfPerRequest + cookieCap: parallel lost requests pile up CSRF cookies until the Cookie header gets 431', async () => {
    const proxy = use(
      oauth2ProxyHandlers({
        baseUrl: APP,
        mode: 'redirect-to-provider',
        csrfPerRequest: true,
        cookieCap: 4096,
      }),
    )
    await proxy.session.end()
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) statuses.push((await get(`/api/${i}`, BROWSER)).status)
    expect(statuses[0]).toBe(302)
    expect(statuses).toContain(431)
    const csrf = Object.keys(proxy.session.cookies).filter((n) => /^_oauth2_proxy_.{8}_csrf$/.test(n))
    expect(csrf.length).toBe(proxy.session.counters.csrfCookies)
    expect(proxy.behaviour.counters.headerTooLarge).toBeGreaterThan(0)
  })

  it("cookieCap with nginx's answer: 400 Request Header Or Cookie Too Large", async () => {
    const proxy = use(
      oauth2ProxyHandlers({
        baseUrl: APP,
        mode: 'redirect-to-provider',
        csrfPerRequest: true,
        cookieCap: { maxBytes: 2048, answer: 'nginx-400' },
      }),
    )
    await proxy.session.end()
    let last: Response | undefined
    for (let i = 0; i < 10; i++) last = await get('/api/x', BROWSER)
    expect(last!.status).toBe(400)
    expect(await last!.text()).toContain('Request Header Or Cookie Too Large')
  })

  it('tamper(): the cookie is cleared with Max-Age=0, then the no-session path', async () => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP }))
    await proxy.session.tamper()
    const res = await get('/api/items', AJAX)
    expect(res.status).toBe(401)
    expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^_oauth2_proxy=; .*Max-Age=0/)])
    expect(proxy.session.cookies).toEqual({})
    await proxy.session.restore()
    expect((await get('/api/items', AJAX)).status).toBe(200)
  })

  it('other origins fall through untouched', async () => {
    const proxy = use(oauth2ProxyHandlers({ baseUrl: APP, signedIn: false }))
    server.use(http.get('https://third.example/x', () => HttpResponse.text('third')))
    expect(await (await fetch('https://third.example/x')).text()).toBe('third')
    expect(proxy.session.counters.requests).toBe(0)
  })
})

describe('profiles: lost-session answers (proxy-behaviour.md, "Other proxies")', () => {
  const cases = [
    {
      name: 'Pomerium',
      make: () => pomeriumHandlers({ baseUrl: APP }),
      ajax: AJAX,
      check: async (res: Response) => {
        expect(res.status).toBe(401)
        expect(await res.json()).toMatchObject({ error: 'Unauthenticated' })
      },
      browserLocation: `${LOGIN}/.pomerium/sign_in`,
    },
    {
      name: 'Authelia',
      make: () => autheliaHandlers({ baseUrl: APP }),
      ajax: XRW,
      check: async (res: Response) => {
        expect(res.status).toBe(401)
        expect(res.headers.get('location')).toMatch(`${LOGIN}/authelia/?rd=`)
      },
      browserLocation: `${LOGIN}/authelia/`,
    },
    {
      name: 'Google IAP',
      make: () => googleIapHandlers({ baseUrl: APP }),
      ajax: XRW,
      check: async (res: Response) => expect(res.status).toBe(401),
      browserLocation: `${LOGIN}/o/oauth2/v2/auth`,
    },
    {
      name: 'Cloudflare Access',
      make: () => cloudflareAccessHandlers({ baseUrl: APP }),
      ajax: XRW,
      check: async (res: Response) => expect(res.status).toBe(401),
      browserLocation: `${LOGIN}/cdn-cgi/access/login/app.test`,
    },
    {
      name: 'Azure Easy Auth (redirect)',
      make: () => azureEasyAuthHandlers({ baseUrl: APP }),
      ajax: XRW,
      check: async (res: Response) => {
        expect(res.status).toBe(302)
        expect(res.headers.get('location')).toBe('/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fitems')
      },
      browserLocation: '/.auth/login/aad',
    },
  ]

  for (const c of cases) {
    it(`${c.name}: Ajax answer, browser redirect to the sign-in service, valid session passes`, async () => {
      const proxy = use(c.make())
      expect((await get('/api/items', c.ajax)).status).toBe(200)
      await proxy.session.expire()
      await c.check(await get('/api/items', c.ajax))
      const browser = await get('/api/items', BROWSER)
      expect(browser.status).toBe(302)
      expect(browser.headers.get('location')).toMatch(c.browserLocation)
      expect(proxy.session.counters).toMatchObject({ lostSession: 2, logins: 0 })
      // fetch cannot follow a redirect to the other origin (CORS).
      if (c.browserLocation.startsWith(LOGIN)) {
        await expect(get('/api/items', BROWSER, { redirect: 'follow' })).rejects.toThrow(TypeError)
      }
      await proxy.relogin({ url: '/app/' })
      expect((await get('/api/items', c.ajax)).status).toBe(200)
      expect(proxy.session.counters.logins).toBe(1)
    })
  }

  it('Pomerium: Accept */* picks HTML (302), X-Requested-With gives the JSON 401', async () => {
    const proxy = use(pomeriumHandlers({ baseUrl: APP }))
    await proxy.session.end()
    expect((await get('/x', { accept: '*/*' })).status).toBe(302)
    expect((await get('/x', { accept: '*/*', ...XRW })).status).toBe(401)
  })

  it('Google IAP: a POST is Ajax without X-Requested-With', async () => {
    const proxy = use(googleIapHandlers({ baseUrl: APP }))
    await proxy.session.end()
    expect((await get('/api/items', BROWSER, { method: 'POST' })).status).toBe(401)
  })

  it("Azure Easy Auth ('401'): 401; /.auth/me probes; /.auth/refresh renews an expired session within the grace", async () => {
    const proxy = use(azureEasyAuthHandlers({ baseUrl: APP, action: '401' }))
    expect((await get('/.auth/me')).status).toBe(200)
    await proxy.session.expire()
    expect((await get('/api/items', BROWSER)).status).toBe(401)
    expect((await get('/.auth/me')).status).toBe(401)
    expect((await get('/.auth/refresh')).status).toBe(200)
    expect((await get('/api/items', BROWSER)).status).toBe(200)
    expect(proxy.session.counters).toMatchObject({ refreshes: 1, logins: 0 })
    await proxy.session.end()
    expect((await get('/.auth/refresh')).status).toBe(401)
  })
})

describe('the session probe of each profile, against its emulation (issue #22.3)', () => {
  // The app's own `/` redirects (`/` → `/app/`): the probe must not depend on it.
  const redirectingApp = http.all(`${APP}/*`, ({ request }) =>
    new URL(request.url).pathname === '/'
      ? new HttpResponse(null, { status: 302, headers: { location: '/app/' } })
      : HttpResponse.json({ upstream: true }),
  )
  const probeOf = async (profile: import('../src/types').ProxyProfile) => {
    const probe = profile.probe!
    const res = await fetch(`${APP}${probe.path}`, {
      redirect: 'manual',
      headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' },
    })
    return probe.read({ status: res.status, type: res.status === 302 ? 'opaqueredirect' : res.type })
  }
  it.each([
    ['pomerium', pomeriumHandlers, '/.pomerium/user'],
    ['google-iap', googleIapHandlers, '/?gcp-iap-mode=IDENTITY'],
    ['cloudflare-access', cloudflareAccessHandlers, '/cdn-cgi/access/get-identity'],
  ] as const)('%s: its own identity endpoint: signed-in, then signed-out', async (name, handlers, path) => {
    const { builtinProfiles } = await import('../src/profiles/names')
    const profile = builtinProfiles[name]
    expect(profile.probe?.path).toBe(path)
    const proxy = handlers({ baseUrl: APP, loginOrigin: LOGIN })
    server.use(...proxy.handlers, redirectingApp)
    expect(await probeOf(profile)).toBe('signed-in')
    const identity = await fetch(`${APP}${path}`, { headers: XRW })
    expect(identity.status).toBe(200)
    expect(JSON.stringify(await identity.json())).toContain('alice')
    await proxy.session.end()
    expect(await probeOf(profile)).toBe('signed-out')
  })

  it("authelia: through `/`, the app's redirect reads as unknown; a probePath the app answers reads signed-in; both signed-out after the loss", async () => {
    const { authelia } = await import('../src/profiles')
    const proxy = autheliaHandlers({ baseUrl: APP, loginOrigin: LOGIN })
    server.use(...proxy.handlers, redirectingApp)
    expect(await probeOf(authelia())).toBe('unknown')
    expect(await probeOf(authelia({ probePath: '/api/health' }))).toBe('signed-in')
    await proxy.session.end()
    expect(await probeOf(authelia())).toBe('signed-out')
    expect(await probeOf(authelia({ probePath: '/api/health' }))).toBe('signed-out')
  })
})
