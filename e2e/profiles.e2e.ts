/**
 * The other proxies' lost-session answers, in Chromium, and the minimal re-login that restores
 * each one (the login service lives on the IdP origin: another origin, as in production).
 */
import { describe, expect, it } from 'vitest'
import type { ProfileName } from '../src/testing/behaviour/index.js'
import { setupE2E } from './harness.js'
import { viaFetch } from './probes.js'

const e = setupE2E({ nginx: false })

/** Sign in to a profile by top-level navigation (login origin → callback → target). */
async function navigateSignIn(path = '/app.html') {
  await e.page.goto(`${e.stack.appUrl}${path}`)
  await e.page.waitForURL(`${e.stack.appUrl}${path}`)
}

const cases: [ProfileName, Record<string, string>, number][] = [
  ['pomerium', { Accept: 'application/json' }, 401],
  ['authelia', { 'X-Requested-With': 'XMLHttpRequest' }, 401],
  ['google-iap', { 'X-Requested-With': 'XMLHttpRequest' }, 401],
  ['cloudflare-access', { 'X-Requested-With': 'XMLHttpRequest' }, 401],
]

describe.each(cases)('profile %s', (name, ajaxHeaders, status) => {
  it('answers a lost session (Ajax 401, browser request a CORS-failing redirect) and a top-level navigation restores it', async () => {
    const profile = e.stack.proxy.useProfile(name)
    await navigateSignIn()
    expect(profile?.counters.logins).toBe(1)
    expect(await viaFetch(e.page, '/api/items', { headers: ajaxHeaders })).toMatchObject({
      ok: true,
      status: 200,
    })
    e.stack.proxy.expireSession()
    const ajax = await viaFetch(e.page, '/api/items', { headers: ajaxHeaders })
    expect(ajax).toMatchObject({ ok: true, status })
    if (name === 'pomerium' && ajax.ok)
      expect(JSON.parse(ajax.text)).toMatchObject({ error: 'Unauthenticated' })
    // without the Ajax marker: a redirect to the sign-in service on another origin → CORS failure
    // (Authelia: fetch's Accept */* lacks text/html, so it is Ajax too, and its 401 names the portal)
    const plain = await viaFetch(e.page, '/api/items', { headers: { Accept: 'text/html' } })
    expect(plain).toMatchObject({ ok: false, errorName: 'TypeError' })
    await navigateSignIn('/app.html?again=1')
    expect(profile?.counters.logins).toBe(2)
    expect(await viaFetch(e.page, '/api/items', { headers: ajaxHeaders })).toMatchObject({ status: 200 })
  })
})

describe('profile google-iap', () => {
  it('/?gcp-iap-mode=DO_SESSION_REFRESH in a popup restores the session; polling with X-Requested-With sees it', async () => {
    const profile = e.stack.proxy.useProfile('google-iap')
    await navigateSignIn()
    e.stack.proxy.expireSession()
    expect(await viaFetch(e.page, '/api/items', { method: 'POST' })).toMatchObject({ status: 401 })
    const [popup] = await Promise.all([
      e.page.waitForEvent('popup'),
      e.page.evaluate(
        () => void window.open('/?gcp-iap-mode=DO_SESSION_REFRESH', 'iap', 'width=400,height=400'),
      ),
    ])
    await popup.waitForURL(/gcp-iap-mode=DO_SESSION_REFRESH/)
    await popup.waitForLoadState()
    expect(await popup.title()).toBe('Session refreshed')
    expect(
      await viaFetch(e.page, '/api/items', { headers: { 'X-Requested-With': 'XMLHttpRequest' } }),
    ).toMatchObject({ status: 200 })
    expect(profile?.counters.refreshes).toBe(1)
  })
})

describe('profile azure-easy-auth', () => {
  it('redirect mode: 302 to /.auth/login/aad; /.auth/me probes; /.auth/refresh restores within the grace period', async () => {
    e.stack.proxy.useProfile('azure-easy-auth')
    await navigateSignIn()
    expect(await viaFetch(e.page, '/.auth/me')).toMatchObject({ status: 200 })
    e.stack.proxy.expireSession()
    const lost = await viaFetch(e.page, '/api/items')
    // same-origin 302 to /.auth/login/aad, then a cross-origin one to the login service
    expect(lost).toMatchObject({ ok: false, errorName: 'TypeError' })
    expect(await viaFetch(e.page, '/.auth/me')).toMatchObject({ status: 401 })
    expect(await viaFetch(e.page, '/.auth/refresh')).toMatchObject({ status: 200 })
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
    // gone for good: refresh fails, a navigation to /.auth/login/aad signs in again
    e.stack.proxy.deleteSession()
    expect(await viaFetch(e.page, '/.auth/refresh')).toMatchObject({ status: 401 })
    await e.page.goto(`${e.stack.appUrl}/.auth/login/aad?post_login_redirect_uri=/app.html`)
    await e.page.waitForURL(`${e.stack.appUrl}/app.html`)
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
  })

  it('Return401 mode answers 401', async () => {
    e.stack.proxy.useProfile('azure-easy-auth', { easyAuthAction: '401' })
    await e.page.goto(`${e.stack.appUrl}/.auth/login/aad?post_login_redirect_uri=/app.html`)
    await e.page.waitForURL(`${e.stack.appUrl}/app.html`)
    e.stack.proxy.expireSession()
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 401 })
  })
})

describe('profiles: silent re-login impossible', () => {
  it('with automatic login off, the login origin waits for a click', async () => {
    const profile = e.stack.proxy.useProfile('cloudflare-access')
    if (!profile) throw new Error('no profile')
    profile.automaticLogin = false
    await e.page.goto(`${e.stack.appUrl}/app.html`)
    expect(e.page.url().startsWith(e.stack.idpUrl)).toBe(true)
    await e.page.click('#continue')
    await e.page.waitForURL(`${e.stack.appUrl}/app.html`)
    expect(profile.counters).toMatchObject({ loginVisits: 2, logins: 1 })
  })
})
