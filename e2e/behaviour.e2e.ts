/**
 * The behaviour module on its own: in Node against the in-memory provider, and bundled for
 * the browser (esbuild, platform browser) running inside Chromium.
 */
import { describe, expect, it } from 'vitest'
import type { BehaviourResponse, OAuth2ProxyOptions } from '../src/testing/behaviour/index.js'
import {
  createInMemoryProvider,
  createOAuth2ProxyBehaviour,
  createProfileBehaviour,
  isPass,
  oauth2ProxyIsAjax,
} from '../src/testing/behaviour/index.js'
import { setupE2E, signIn } from './harness.js'

const APP = 'http://app.test'

function setup(options: Partial<OAuth2ProxyOptions> = {}) {
  const provider = createInMemoryProvider({ origin: 'http://idp.test' })
  const b = createOAuth2ProxyBehaviour({ cookieSecret: 'test-secret', ...options }, provider)
  const jar = new Map<string, string>()
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const store = (r: BehaviourResponse) => {
    for (const [k, v] of r.headers) {
      if (k !== 'Set-Cookie') continue
      const [pair = ''] = v.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq)
      if (/Max-Age=0/.test(v)) jar.delete(name)
      else jar.set(name, pair.slice(eq + 1))
    }
  }
  async function request(path: string, headers: Record<string, string> = {}) {
    const h = new Headers(headers)
    if (jar.size) h.set('cookie', cookieHeader())
    const r = await b.handle({ method: 'GET', url: new URL(path, APP).href, headers: h })
    if (!isPass(r)) store(r)
    else
      for (const [k, v] of r.responseHeaders)
        if (k === 'Set-Cookie') store({ status: 200, headers: [[k, v]], body: '' })
    return r
  }
  const location = (r: Awaited<ReturnType<typeof request>>) => {
    if (isPass(r)) throw new Error('passed')
    return r.headers.find(([k]) => k === 'Location')?.[1] ?? ''
  }
  async function signInFlow(rd = '/app') {
    const start = await request(`/oauth2/start?rd=${encodeURIComponent(rd)}`)
    const cb = await request(provider.approve(location(start)))
    return { start, cb }
  }
  return { b, provider, jar, request, location, signInFlow }
}

const asResponse = (r: Awaited<ReturnType<ReturnType<typeof setup>['request']>>): BehaviourResponse => {
  if (isPass(r)) throw new Error('expected a proxy answer, got a pass')
  return r
}

describe('behaviour: oauth2-proxy rules (Node, in-memory provider)', () => {
  it('isAjax: some comma-separated trimmed Accept entry is exactly application/json', () => {
    const is = (accept: string) => oauth2ProxyIsAjax(new Headers({ accept }))
    expect(is('application/json')).toBe(true)
    expect(is('text/html , application/json')).toBe(true)
    expect(is('application/json, text/plain, */*')).toBe(true)
    expect(is('application/json; charset=utf-8')).toBe(false)
    expect(is('application/json;q=0.9')).toBe(false)
    expect(is('application/vnd.api+json')).toBe(false)
    expect(is('*/*')).toBe(false)
    expect(oauth2ProxyIsAjax(new Headers({ 'x-requested-with': 'XMLHttpRequest' }))).toBe(false)
  })

  it('signs in through start → provider → callback, clearing this flow’s CSRF cookie', async () => {
    const t = setup()
    const { start, cb } = await t.signInFlow('/app?x=1')
    const s = asResponse(start)
    expect(s.status).toBe(302)
    const state = new URL(t.location(start)).searchParams.get('state') ?? ''
    expect(state).toMatch(/^[\w-]{43}:\/app\?x=1$/)
    const c = asResponse(cb)
    expect(c.status).toBe(302)
    expect(t.location(cb)).toBe('/app?x=1')
    const setCookies = c.headers.filter(([k]) => k === 'Set-Cookie').map(([, v]) => v)
    expect(setCookies[0]).toMatch(/^_oauth2_proxy_csrf=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/)
    expect(setCookies[1]).toMatch(
      /^_oauth2_proxy=[^;]{1100,1300}; Path=\/; Max-Age=604800; HttpOnly; SameSite=Lax$/,
    )
    expect(await t.request('/api')).toMatchObject({ pass: true, user: { email: 'alice@example.com' } })
  })

  it('no session: Ajax 401 {}, browser 403 sign-in page with no-cache, skip-provider-button 302 + CSRF cookie', async () => {
    const t = setup()
    const ajax = asResponse(await t.request('/api/items', { accept: 'application/json' }))
    expect(ajax).toEqual({ status: 401, headers: [['Content-Type', 'application/json']], body: '{}' })
    const page = asResponse(await t.request('/api/items?a=1'))
    expect(page.status).toBe(403)
    expect(page.headers).toContainEqual(['Cache-Control', 'no-cache, no-store, must-revalidate, max-age=0'])
    expect(page.body).toContain('<input type="hidden" name="rd" value="/api/items?a=1">')
    t.b.set({ skipProviderButton: true })
    const redirect = asResponse(await t.request('/api/items'))
    expect(redirect.status).toBe(302)
    expect(redirect.headers.find(([k]) => k === 'Set-Cookie')?.[1]).toMatch(/^_oauth2_proxy_csrf=/)
    expect(new URL(t.location(redirect)).searchParams.get('state')).toMatch(/:\/api\/items$/)
    expect(t.b.counters).toMatchObject({
      signInStarts: 1,
      csrfCookiesMinted: 1,
      signInPages: 1,
      jsonUnauthorized: 1,
    })
  })

  it('tampered, deleted and expired sessions: cookie cleared with Max-Age=0, then the no-session path', async () => {
    for (const lose of ['tamperSession', 'deleteSession', 'expireSession'] as const) {
      const t = setup()
      await t.signInFlow()
      t.b[lose]()
      const r = asResponse(await t.request('/api', { accept: 'application/json' }))
      expect(r.status).toBe(401)
      expect(r.headers).toContainEqual([
        'Set-Cookie',
        '_oauth2_proxy=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
      ])
      expect(t.jar.has('_oauth2_proxy')).toBe(false)
    }
  })

  it('cookie refresh: success re-saves the cookie; invalid_grant clears the session', async () => {
    const t = setup({ cookieRefreshMs: 60_000 })
    await t.signInFlow()
    t.b.ageSession(120_000)
    const ok = await t.request('/api')
    expect(
      isPass(ok) && ok.responseHeaders.some(([k, v]) => k === 'Set-Cookie' && v.startsWith('_oauth2_proxy=')),
    ).toBe(true)
    expect(t.b.counters.refreshes).toBe(1)
    t.b.ageSession(120_000)
    t.provider.revokeRefreshTokens()
    const gone = asResponse(await t.request('/api'))
    expect(gone.status).toBe(403)
    expect(t.b.counters).toMatchObject({ refreshes: 1, refreshFailures: 1, sessionsCleared: 1 })
  })

  it('callback without the CSRF cookie: 403 "Unable to find a valid CSRF token"', async () => {
    const t = setup()
    const start = await t.request('/oauth2/start?rd=/x')
    t.jar.clear()
    const cb = asResponse(await t.request(t.provider.approve(t.location(start))))
    expect(cb.status).toBe(403)
    expect(cb.body).toContain('<title>403 Forbidden</title>')
    expect(cb.body).toContain('Login Failed: Unable to find a valid CSRF token. Please try again.')
  })

  it('csrfPerRequest names cookies _oauth2_proxy_<8 chars>_csrf; the limit clears the oldest beyond it', async () => {
    const t = setup({ csrfPerRequest: true, csrfPerRequestLimit: 2 })
    for (let i = 0; i < 5; i++) await t.request(`/oauth2/start?rd=/${i}`)
    const names = [...t.jar.keys()]
    expect(names.every((n) => /^_oauth2_proxy_.{8}_csrf$/.test(n))).toBe(true)
    expect(names).toHaveLength(3)
    expect(t.b.counters).toMatchObject({ csrfCookiesMinted: 5, csrfCookiesCleared: 2 })
  })

  it('cookieCap: 431, or nginx’s 400 "Request Header Or Cookie Too Large"', async () => {
    const t = setup({ cookieCap: { maxBytes: 100, answer: '431' } })
    const big = { cookie: `x=${'a'.repeat(200)}` }
    expect(asResponse(await t.request('/api', big)).status).toBe(431)
    t.b.set({ cookieCap: { maxBytes: 100, answer: 'nginx-400' } })
    const r = asResponse(await t.request('/api', big))
    expect(r.status).toBe(400)
    expect(r.body).toContain('<title>400 Request Header Or Cookie Too Large</title>')
  })

  it('/oauth2/start keeps rd only as a relative path; /oauth2/auth and /oauth2/userinfo', async () => {
    const t = setup()
    for (const [rd, kept] of [
      ['//evil.example', '/'],
      ['/\\evil.example', '/'],
      ['https://evil.example/', '/'],
      ['/ok?a=b', '/ok?a=b'],
    ] as const) {
      const r = await t.request(`/oauth2/start?rd=${encodeURIComponent(rd)}`)
      const state = new URL(t.location(r)).searchParams.get('state') ?? ''
      expect(state.slice(state.indexOf(':') + 1)).toBe(kept)
    }
    const unauth = asResponse(await t.request('/oauth2/auth'))
    expect(unauth).toMatchObject({ status: 401, body: 'Unauthorized\n' })
    await t.signInFlow()
    expect(asResponse(await t.request('/oauth2/auth')).status).toBe(202)
    expect(JSON.parse(asResponse(await t.request('/oauth2/userinfo')).body)).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      preferredUsername: 'alice',
    })
  })

  it('a signed-in user who is not allowed: 403 Forbidden page whatever Accept says (JSON 403 with forceJsonErrors)', async () => {
    const t = setup()
    await t.signInFlow()
    t.b.set({ notAllowedEmails: ['alice@example.com'] })
    const r = asResponse(await t.request('/api', { accept: 'application/json' }))
    expect(r.status).toBe(403)
    expect(r.body).toContain('<title>403 Forbidden</title>')
    const t2 = setup({ forceJsonErrors: true })
    await t2.signInFlow()
    t2.b.set({ notAllowedEmails: ['alice@example.com'] })
    expect(asResponse(await t2.request('/api'))).toMatchObject({ status: 403, body: '{}' })
  })
})

describe('behaviour: other proxies (Node)', () => {
  const req = (url: string, headers: Record<string, string> = {}, method = 'GET') => ({
    method,
    url,
    headers: new Headers(headers),
  })
  it('answer a lost session each in its own way', async () => {
    const o = { secret: 's', loginOrigin: 'http://login.test' }
    const pomerium = createProfileBehaviour('pomerium', o)
    const pj = asResponse(await pomerium.handle(req(`${APP}/api`, { accept: 'application/json' })))
    expect(pj.status).toBe(401)
    expect(JSON.parse(pj.body)).toMatchObject({ error: 'Unauthenticated' })
    expect(asResponse(await pomerium.handle(req(`${APP}/api`, { accept: '*/*' }))).status).toBe(302)

    const authelia = createProfileBehaviour('authelia', o)
    const a = asResponse(await authelia.handle(req(`${APP}/api`, { 'x-requested-with': 'XMLHttpRequest' })))
    expect(a.status).toBe(401)
    expect(a.headers.find(([k]) => k === 'Location')?.[1]).toMatch(/^http:\/\/login\.test\/authelia\/\?rd=/)

    const iap = createProfileBehaviour('google-iap', o)
    expect(asResponse(await iap.handle(req(`${APP}/api`, {}, 'POST'))).status).toBe(401)
    expect(asResponse(await iap.handle(req(`${APP}/api`))).status).toBe(302)

    const cf = createProfileBehaviour('cloudflare-access', o)
    expect(
      asResponse(await cf.handle(req(`${APP}/api`, { 'x-requested-with': 'XMLHttpRequest' }))).status,
    ).toBe(401)
    const cfr = asResponse(await cf.handle(req(`${APP}/api`)))
    expect(cfr.headers.find(([k]) => k === 'Location')?.[1]).toMatch(
      /^http:\/\/login\.test\/cdn-cgi\/access\/login\/app\.test\?/,
    )

    const easy = createProfileBehaviour('azure-easy-auth', o)
    const er = asResponse(await easy.handle(req(`${APP}/api/x?y=1`)))
    expect(er.headers.find(([k]) => k === 'Location')?.[1]).toBe(
      '/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fx%3Fy%3D1',
    )
    const easy401 = createProfileBehaviour('azure-easy-auth', { ...o, easyAuthAction: '401' })
    expect(asResponse(await easy401.handle(req(`${APP}/api`))).status).toBe(401)
    expect(asResponse(await easy401.handle(req(`${APP}/.auth/me`))).status).toBe(401)
  })
})

describe('behaviour: runs in the browser', () => {
  const e = setupE2E({ nginx: false })
  it('the module bundled for browsers (no Node APIs) signs in and answers a lost session inside Chromium', async () => {
    await signIn(e.page, e.stack.appUrl)
    await e.page.addScriptTag({
      type: 'module',
      content: "import * as m from '/__behaviour.js'; window.__behaviour = m",
    })
    await e.page.waitForFunction(() => '__behaviour' in window)
    const result = await e.page.evaluate(async () => {
      const m = (window as any).__behaviour
      const provider = m.createInMemoryProvider({ origin: 'http://idp.test' })
      const b = m.createOAuth2ProxyBehaviour({ cookieSecret: 'browser-secret' }, provider)
      const h = (cookie?: string) => new Headers(cookie ? { cookie } : {})
      const start = await b.handle({ method: 'GET', url: 'http://app.test/oauth2/start?rd=/x', headers: h() })
      const loc = start.headers.find((p: string[]) => p[0] === 'Location')[1]
      const csrf = start.headers.find((p: string[]) => p[0] === 'Set-Cookie')[1].split(';')[0]
      const cb = await b.handle({ method: 'GET', url: provider.approve(loc), headers: h(csrf) })
      const session = cb.headers.filter((p: string[]) => p[0] === 'Set-Cookie')[1][1].split(';')[0]
      const ok = await b.handle({ method: 'GET', url: 'http://app.test/api', headers: h(session) })
      b.expireSession()
      const lost = await b.handle({ method: 'GET', url: 'http://app.test/api', headers: h(session) })
      return { callback: cb.status, pass: ok.pass === true, lost: lost.status, isSecureContext }
    })
    expect(result).toEqual({ callback: 302, pass: true, lost: 403, isSecureContext: true })
  })
})
