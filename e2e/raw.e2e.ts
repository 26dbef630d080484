/**
 * The raw-failure half: what a browser app sees, WITHOUT the SDK, when the session behind
 * oauth2-proxy ends. Each scenario proves the bug the SDK exists to fix.
 */
import { describe, expect, it } from 'vitest'
import { BROWSER, CSRF_PER_REQUEST, cookieNames, setupE2E, signIn } from './harness.js'
import { signInMarkers, viaAxios, viaFetch, viaFetchParallel, viaKy, viaXhr } from './probes.js'
import { report } from './report.js'

const e = setupE2E()
const SESSION = '_oauth2_proxy'

async function sessionCookie() {
  return (await e.context.cookies()).find((c) => c.name === SESSION)
}

describe('raw: session valid', () => {
  it('fetch, XHR, axios and ky get the data; HTML, stream and slow endpoints flow', async () => {
    await signIn(e.page, e.stack.appUrl)
    const f = await viaFetch(e.page, '/api/items')
    expect(f).toMatchObject({ ok: true, status: 200, isJson: true })
    if (f.ok) expect(JSON.parse(f.text)).toMatchObject({ user: 'alice@example.com' })
    expect(await viaXhr(e.page, '/api/items')).toMatchObject({ status: 200, events: ['load', 'loadend'] })
    expect(await viaAxios(e.page, '/api/items')).toMatchObject({
      ok: true,
      status: 200,
      data: { items: [{ id: 1 }, { id: 2 }] },
    })
    expect(await viaKy(e.page, '/api/items')).toEqual({ ok: true, status: 200, name: null })
    const frag = await viaFetch(e.page, '/api/fragment')
    expect(frag).toMatchObject({ ok: true, status: 200, contentType: 'text/html; charset=utf-8' })
    const stream = await viaFetch(e.page, '/api/stream?chunks=4&intervalMs=5')
    expect(stream.ok && stream.text.trim().split('\n')).toHaveLength(4)
    expect(await viaFetch(e.page, '/api/slow?ms=50')).toMatchObject({ ok: true, status: 200 })
    const echo = await viaFetch(e.page, '/api/echo', { method: 'POST', body: 'hello' })
    expect(echo.ok && JSON.parse(echo.text)).toMatchObject({ method: 'POST', body: 'hello' })
  })
})

const losses: [string, () => Promise<void>][] = [
  [
    'deleted',
    async () => {
      e.stack.proxy.deleteSession()
    },
  ],
  [
    'tampered',
    async () => {
      // tamper with the cookie in the browser: its signature no longer validates
      const c = await sessionCookie()
      if (!c) throw new Error('no session cookie')
      const last = c.value.at(-1) === 'A' ? 'B' : 'A'
      await e.context.addCookies([{ ...c, value: c.value.slice(0, -1) + last }])
    },
  ],
  [
    'expired',
    async () => {
      e.stack.proxy.expireSession()
    },
  ],
]

describe.each(losses)('raw: session %s (default settings)', (kind, loseSession) => {
  it('fetch gets a 403 HTML sign-in page where JSON was expected; XHR too; axios (Accept: application/json) a 401 {}', async () => {
    await signIn(e.page, e.stack.appUrl)
    await loseSession()
    const f = await viaFetch(e.page, '/api/items')
    expect(f.ok).toBe(true)
    if (!f.ok) return
    expect(f).toMatchObject({
      status: 403,
      redirected: false,
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'no-cache, no-store, must-revalidate, max-age=0',
      isJson: false,
    })
    expect(signInMarkers(f.text)).toEqual({ title: true, form: true, rd: true, button: true, footer: true })
    expect(f.text).toContain('name="rd" value="/api/items"')
    // the proxy cleared the bad cookie (Set-Cookie with an Expires in the past)
    expect(await sessionCookie()).toBeUndefined()

    const x = await viaXhr(e.page, '/api/items')
    expect(x).toMatchObject({ status: 403, readyState: 4, responseURL: `${e.stack.appUrl}/api/items` })
    expect(signInMarkers(x.text).title).toBe(true)

    const a = await viaAxios(e.page, '/api/items')
    expect(a).toEqual({ ok: false, code: 'ERR_BAD_REQUEST', hasResponse: true, status: 401, data: {} })
    const ky = await viaKy(e.page, '/api/items')
    expect(ky).toEqual({ ok: false, status: 403, name: 'HTTPError' })
    const c = e.stack.proxy.behaviour.counters
    expect(c.sessionsCleared).toBe(1)
    report(`session-${kind}`, {
      fetch: { status: f.status, contentType: f.contentType },
      xhr: x.status,
      axios: a.ok ? a.status : a.status,
      ky: ky.status,
      counters: {
        signInPages: c.signInPages,
        jsonUnauthorized: c.jsonUnauthorized,
        sessionsCleared: c.sessionsCleared,
      },
    })
  })
})

describe('raw: skip-provider-button', () => {
  it('fetch rejects with TypeError (CORS after the cross-origin redirect), XHR ends with status 0, yet a CSRF cookie is stored', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({ skipProviderButton: true })
    e.stack.proxy.deleteSession()
    e.stack.idp.reset()
    const mintedBefore = e.stack.proxy.behaviour.counters.csrfCookiesMinted
    const f = await viaFetch(e.page, '/api/items')
    expect(f).toMatchObject({ ok: false, errorName: 'TypeError' })
    expect(await cookieNames(e.context, /^_oauth2_proxy_csrf$/)).toEqual(['_oauth2_proxy_csrf'])
    // the browser did follow the 302 to the provider before CORS stopped it
    expect(e.stack.idp.counters.authorizeRequests).toBe(1)

    const x = await viaXhr(e.page, '/api/items')
    expect(x).toMatchObject({ status: 0, readyState: 4, responseURL: '', text: '' })
    expect(x.events).toEqual(['error', 'loadend'])

    // axios: its default Accept makes it Ajax to oauth2-proxy (clean 401); with */* it is a network error
    expect(await viaAxios(e.page, '/api/items')).toMatchObject({ ok: false, status: 401 })
    const a = await viaAxios(e.page, '/api/items', { Accept: '*/*' })
    expect(a).toEqual({ ok: false, code: 'ERR_NETWORK', hasResponse: false, status: null, data: null })
    // fetch, XHR and axios-with-*/* each minted one
    const minted = e.stack.proxy.behaviour.counters.csrfCookiesMinted - mintedBefore
    expect(minted).toBe(3)
    report('skip-provider-button', {
      fetch: f.ok ? f.status : f.errorName,
      xhrStatus: x.status,
      xhrEvents: x.events,
      axiosAcceptAll: a.ok ? a.status : a.code,
      csrfCookiesMinted: minted,
      idpAuthorizeRequests: e.stack.idp.counters.authorizeRequests,
    })
  })

  it("redirect: 'manual' gives an opaqueredirect: status 0, no headers, url = the request URL", async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({ skipProviderButton: true })
    e.stack.proxy.expireSession()
    const f = await viaFetch(e.page, '/api/items', { redirect: 'manual' })
    expect(f).toMatchObject({
      ok: true,
      type: 'opaqueredirect',
      status: 0,
      headerCount: 0,
      url: `${e.stack.appUrl}/api/items`,
    })
    // the 302 still set a CSRF cookie
    expect(await cookieNames(e.context, /_csrf$/)).toHaveLength(1)
  })
})

describe('raw: nginx auth_request front', () => {
  const nginxUrl = () => {
    const url = e.stack.nginxUrl
    if (!url) throw new Error('nginx is not running (missing /usr/sbin/nginx): CI installs it')
    return url
  }

  it('a lost session becomes 302 → /oauth2/start → provider: CORS failure for fetch, XHR and axios alike (Accept is ignored)', async () => {
    const base = nginxUrl()
    await signIn(e.page, base)
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ ok: true, status: 200 })
    e.stack.proxy.deleteSession()
    const f = await viaFetch(e.page, '/api/items')
    expect(f).toMatchObject({ ok: false, errorName: 'TypeError' })
    const x = await viaXhr(e.page, '/api/items', { Accept: 'application/json' })
    expect(x).toMatchObject({ status: 0, responseURL: '', events: ['error', 'loadend'] })
    const a = await viaAxios(e.page, '/api/items')
    expect(a).toMatchObject({ ok: false, code: 'ERR_NETWORK', hasResponse: false })
    const manual = await viaFetch(e.page, '/api/items', { redirect: 'manual' })
    expect(manual).toMatchObject({ ok: true, type: 'opaqueredirect', status: 0 })
    expect(await cookieNames(e.context, /^_oauth2_proxy_csrf$/)).toHaveLength(1)
    report('nginx-front', {
      fetch: f.ok ? f.status : f.errorName,
      xhr: x.status,
      axios: a.ok ? a.status : a.code,
      manual: manual.ok ? manual.type : manual.errorName,
      signInStarts: e.stack.proxy.behaviour.counters.signInStarts,
    })
  })

  it('with csrfPerRequest the CSRF flood ends in nginx 400 "Request Header Or Cookie Too Large"', async () => {
    const base = nginxUrl()
    await signIn(e.page, base)
    e.stack.proxy.set({ csrfPerRequest: true })
    e.stack.proxy.deleteSession()
    const outcomes = await viaFetchParallel(e.page, '/api/items', 60)
    const cookies = await cookieNames(e.context, CSRF_PER_REQUEST)
    const next = await viaFetch(e.page, '/api/items')
    expect(next).toMatchObject({ ok: true, status: 400 })
    if (next.ok) expect(next.text).toContain('Request Header Or Cookie Too Large')
    expect(cookies.length).toBeGreaterThan(15)
    const tally = tallyOf(outcomes)
    report('nginx-csrf-flood', {
      parallelRequests: 60,
      outcomes: tally,
      csrfCookiesStored: cookies.length,
      csrfCookiesMinted: e.stack.proxy.behaviour.counters.csrfCookiesMinted,
      nextRequest: next.ok ? next.status : next.errorName,
    })
  })
})

function tallyOf(outcomes: (number | string)[]): Record<string, number> {
  const t: Record<string, number> = {}
  for (const o of outcomes) t[String(o)] = (t[String(o)] ?? 0) + 1
  return t
}

describe('raw: CSRF cookie flood (csrfPerRequest)', () => {
  it('without a limit, 60 parallel failing requests pile up CSRF cookies until the Cookie header gets a 431', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({
      skipProviderButton: true,
      csrfPerRequest: true,
      cookieCap: { maxBytes: 8192, answer: '431' },
    })
    e.stack.proxy.deleteSession()
    const mintedBefore = e.stack.proxy.behaviour.counters.csrfCookiesMinted
    const outcomes = await viaFetchParallel(e.page, '/api/items', 60)
    const cookies = await cookieNames(e.context, CSRF_PER_REQUEST)
    const header = (await e.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const next = await viaFetch(e.page, '/api/items')
    const c = e.stack.proxy.behaviour.counters
    const tally = tallyOf(outcomes)
    report('csrf-flood-unlimited', {
      parallelRequests: 60,
      outcomes: tally,
      csrfCookiesMinted: c.csrfCookiesMinted - mintedBefore,
      csrfCookiesStored: cookies.length,
      cookieHeaderBytes: header.length,
      headerTooLargeAnswers: c.headerTooLarge,
      nextRequest: next.ok ? next.status : next.errorName,
    })
    expect(tally.TypeError).toBeGreaterThan(0)
    expect(cookies.length).toBe(c.csrfCookiesMinted - mintedBefore)
    expect(cookies.length).toBeGreaterThan(20)
    expect(next).toMatchObject({ ok: true, status: 431 })
  })

  it('csrfPerRequestLimit 5 bounds sequential failures, but not a parallel burst: the limit only sees the cookies each request carried', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({
      skipProviderButton: true,
      csrfPerRequest: true,
      csrfPerRequestLimit: 5,
      cookieCap: { maxBytes: 8192, answer: '431' },
    })
    e.stack.proxy.deleteSession()
    const sequential: (number | string)[] = []
    for (let i = 0; i < 20; i++) {
      const r = await viaFetch(e.page, `/api/items?seq=${i}`)
      sequential.push(r.ok ? r.status : r.errorName)
    }
    const afterSequential = (await cookieNames(e.context, CSRF_PER_REQUEST)).length
    const c = e.stack.proxy.behaviour.counters
    expect(sequential.every((o) => o === 'TypeError')).toBe(true)
    // oauth2-proxy clears the ones beyond the limit, then adds the new one: at most limit + 1
    expect(afterSequential).toBe(6)
    expect(c.headerTooLarge).toBe(0)

    const burst = await viaFetchParallel(e.page, '/api/items', 60)
    const afterBurst = (await cookieNames(e.context, CSRF_PER_REQUEST)).length
    const next = await viaFetch(e.page, '/api/items')
    report('csrf-limit-5', {
      sequential20: { outcomes: tallyOf(sequential), csrfCookiesStored: afterSequential },
      parallel60: { outcomes: tallyOf(burst), csrfCookiesStored: afterBurst },
      nextRequest: next.ok ? next.status : next.errorName,
      csrfCookiesMinted: c.csrfCookiesMinted,
      csrfCookiesCleared: c.csrfCookiesCleared,
    })
    if (BROWSER === 'webkit') {
      // WebKit sends a burst's later requests with the cookies the earlier ones stored: the limit
      // trims part of the pile (11 of 60 stored here, no 431), yet still more than limit + 1.
      expect(afterBurst).toBeGreaterThan(6)
    } else {
      expect(afterBurst).toBeGreaterThan(20)
      expect(next).toMatchObject({ ok: true, status: 431 })
    }
  })
})

describe('raw: what counts as Ajax to oauth2-proxy', () => {
  it('Accept: application/json → 401 application/json {} (fetch and XHR); near misses get the 403 page', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.deleteSession()
    const f = await viaFetch(e.page, '/api/items', { headers: { Accept: 'application/json' } })
    expect(f).toMatchObject({ ok: true, status: 401, contentType: 'application/json', text: '{}' })
    const x = await viaXhr(e.page, '/api/items', { Accept: 'text/plain, application/json' })
    expect(x).toMatchObject({ status: 401, contentType: 'application/json', text: '{}' })
    const nearMisses = [
      'application/json; charset=utf-8',
      'application/json;q=0.9',
      'application/vnd.api+json',
    ]
    for (const accept of nearMisses) {
      expect(await viaFetch(e.page, '/api/items', { headers: { Accept: accept } })).toMatchObject({
        status: 403,
      })
    }
    expect(
      await viaFetch(e.page, '/api/items', { headers: { 'X-Requested-With': 'XMLHttpRequest' } }),
    ).toMatchObject({
      status: 403,
    })
  })

  it('forceJsonErrors and apiRoutes give the JSON 401 without the header', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.deleteSession()
    e.stack.proxy.set({ apiRoutes: [/^\/api\//] })
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 401, text: '{}' })
    expect(await viaFetch(e.page, '/app.html')).toMatchObject({ status: 403 })
    e.stack.proxy.set({ apiRoutes: [], forceJsonErrors: true })
    expect(await viaFetch(e.page, '/app.html')).toMatchObject({ status: 401, text: '{}' })
  })
})

describe('raw: signed in but not allowed', () => {
  it('gets the 403 Forbidden page whatever Accept says, and the proxy clears the session cookie with it', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({ notAllowedEmails: ['alice@example.com'] })
    const f = await viaFetch(e.page, '/api/items', { headers: { Accept: 'application/json' } })
    expect(f).toMatchObject({ ok: true, status: 403, contentType: 'text/html; charset=utf-8' })
    if (f.ok) {
      expect(f.text).toContain('<title>403 Forbidden</title>')
      expect(signInMarkers(f.text).title).toBe(false)
    }
    // oauth2-proxy clears the session of a user who fails authorization: the next request
    // looks like a lost session (sign-in page), not like "forbidden" any more.
    expect(await sessionCookie()).toBeUndefined()
    const again = await viaFetch(e.page, '/api/items')
    expect(again.ok && signInMarkers(again.text).title).toBe(true)
    report('not-allowed', {
      first: f.ok ? f.status : f.errorName,
      second: again.ok ? again.status : again.errorName,
    })
  })
})

describe('raw: proxy endpoints', () => {
  it('/oauth2/auth: 202 with X-Auth-Request-* signed in, 401 text/plain signed out', async () => {
    await signIn(e.page, e.stack.appUrl)
    const ok = await viaFetch(e.page, '/oauth2/auth', { redirect: 'manual' })
    expect(ok).toMatchObject({ ok: true, status: 202, text: '' })
    e.stack.proxy.deleteSession()
    const no = await viaFetch(e.page, '/oauth2/auth', {
      redirect: 'manual',
      headers: { Accept: 'text/html' },
    })
    expect(no).toMatchObject({ ok: true, status: 401, contentType: 'text/plain; charset=utf-8' })
  })

  it('/oauth2/userinfo answers the user; /oauth2/sign_in clears the session cookie', async () => {
    await signIn(e.page, e.stack.appUrl)
    const info = await viaFetch(e.page, '/oauth2/userinfo')
    expect(info.ok && JSON.parse(info.text)).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      preferredUsername: 'alice',
    })
    const page = await viaFetch(e.page, '/oauth2/sign_in')
    expect(page).toMatchObject({ ok: true, status: 200 })
    expect(await sessionCookie()).toBeUndefined()
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 403 })
  })

  it('/oauth2/start keeps rd only when it is a relative path', async () => {
    const r = await e.context.request.get(`${e.stack.appUrl}/oauth2/start?rd=//evil.example/x`, {
      maxRedirects: 0,
    })
    expect(r.status()).toBe(302)
    const state = new URL(r.headers().location ?? '').searchParams.get('state') ?? ''
    expect(state.slice(state.indexOf(':') + 1)).toBe('/')
    const ok = await e.context.request.get(`${e.stack.appUrl}/oauth2/start?rd=/app.html%3Fx%3D1`, {
      maxRedirects: 0,
    })
    const okState = new URL(ok.headers().location ?? '').searchParams.get('state') ?? ''
    expect(okState.slice(okState.indexOf(':') + 1)).toBe('/app.html?x=1')
  })

  it('two sign-ins racing in one browser (no csrfPerRequest): both callbacks get 403 "Unable to find a valid CSRF token"', async () => {
    const start = async () =>
      (
        await e.context.request.get(`${e.stack.appUrl}/oauth2/start?rd=/app.html`, { maxRedirects: 0 })
      ).headers().location ?? ''
    // The status as the proxy sent it (WebDriver, and so WebKit here, has no navigation status).
    const callbackStatus = () =>
      e.stack.proxy.requests.filter((r) => r.path.startsWith('/oauth2/callback')).at(-1)?.status
    const first = await start()
    const second = await start() // overwrites the single _oauth2_proxy_csrf cookie
    await e.page.goto(first)
    expect(callbackStatus()).toBe(403)
    expect(await e.page.content()).toContain('Unable to find a valid CSRF token')
    // the failed callback also cleared the shared CSRF cookie: the second flow fails as well
    await e.page.goto(second)
    expect(callbackStatus()).toBe(403)
    expect(e.stack.proxy.behaviour.counters).toMatchObject({
      callbacks: 2,
      callbackFailures: 2,
      sessionsCreated: 0,
    })
    // with csrfPerRequest both flows carry their own cookie and both succeed
    e.stack.proxy.set({ csrfPerRequest: true })
    const [a, b] = [await start(), await start()]
    await e.page.goto(a)
    expect(callbackStatus()).toBe(302)
    await e.page.goto(b)
    expect(callbackStatus()).toBe(302)
    expect(new URL(e.page.url()).pathname).toBe('/app.html')
    expect(new URL(e.page.url()).pathname).toBe('/app.html')
    expect(e.stack.proxy.behaviour.counters).toMatchObject({
      callbacks: 4,
      callbackFailures: 2,
      sessionsCreated: 2,
    })
  })
})

describe('raw: cookie refresh', () => {
  it('refreshes against the real provider; a revoked refresh token (invalid_grant) clears the session', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.set({ cookieRefreshMs: 60_000 })
    e.stack.proxy.behaviour.ageSession(120_000)
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
    expect(e.stack.proxy.behaviour.counters.refreshes).toBe(1)
    expect(e.stack.idp.counters.refreshGrants).toBe(1)
    e.stack.proxy.behaviour.ageSession(120_000)
    expect(e.stack.idp.revokeRefreshTokens()).toBeGreaterThan(0)
    const f = await viaFetch(e.page, '/api/items')
    expect(f).toMatchObject({ status: 403 })
    expect(e.stack.proxy.behaviour.counters.refreshFailures).toBe(1)
    expect(await sessionCookie()).toBeUndefined()
  })
})

describe('raw: silent re-login in an iframe (what the SDK will automate)', () => {
  async function reloginInIframe() {
    return e.page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const iframe = document.createElement('iframe')
          iframe.src = '/oauth2/start?rd=/app.html%3Frelogin%3D1'
          iframe.addEventListener('load', () => {
            try {
              resolve(iframe.contentWindow?.location.href ?? 'no window')
            } catch {
              resolve('cross-origin')
            }
          })
          document.body.append(iframe)
        }),
    )
  }

  it('restores the session while the provider session lives (provider cookies are same-site on http://localhost)', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.expireSession()
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 403 })
    const landed = await reloginInIframe()
    expect(landed).toBe(`${e.stack.appUrl}/app.html?relogin=1`)
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
    expect(e.stack.idp.counters).toMatchObject({ autoLogins: 1, interactiveLogins: 0, authorizations: 2 })
  })

  it('stops on the provider login form once the provider session ended', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const landed = await reloginInIframe()
    expect(landed).toBe('cross-origin')
    const frame = (await e.page.frames()).find((f) => f.url().startsWith(`${e.stack.idpUrl}/interaction/`))
    expect(frame).toBeDefined()
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 403 })
    // a human click on the form completes it
    await frame?.click('#login')
    await e.page.waitForFunction(() =>
      [...document.querySelectorAll('iframe')].some((f) => {
        try {
          return f.contentWindow?.location.pathname === '/app.html'
        } catch {
          return false
        }
      }),
    )
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
    expect(e.stack.idp.counters.interactiveLogins).toBe(1)
  })
})

describe('raw: third-party origin', () => {
  it('records every request; X-Requested-With forces a preflight, Accept does not', async () => {
    await signIn(e.page, e.stack.appUrl)
    const url = `${e.stack.thirdPartyUrl}/data`
    expect(await viaFetch(e.page, url, { headers: { Accept: 'application/json' } })).toMatchObject({
      status: 200,
    })
    expect(e.stack.thirdParty.preflights()).toHaveLength(0)
    expect(await viaFetch(e.page, url, { headers: { 'X-Requested-With': 'XMLHttpRequest' } })).toMatchObject({
      status: 200,
    })
    expect(e.stack.thirdParty.preflights()).toHaveLength(1)
    expect(e.stack.thirdParty.preflights()[0]?.headers['access-control-request-headers']).toBe(
      'x-requested-with',
    )
    expect(e.stack.thirdParty.requests.map((r) => r.method)).toEqual(['GET', 'OPTIONS', 'GET'])
  })
})
