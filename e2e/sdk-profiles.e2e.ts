/**
 * With the SDK, behind each other proxy profile (Pomerium, Authelia, Google IAP, Cloudflare Access,
 * Azure Easy Auth): a lost session is detected and the re-login completes; the app gets its data.
 */
import { describe, expect, it } from 'vitest'
import type { ProfileName } from '../src/testing/behaviour/index.js'
import { setupE2E } from './harness.js'
import { report } from './report.js'
import { ADAPTERS, call, countOf, events, setupSdk } from './sdk.js'

const e = setupE2E({ nginx: false })
const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
}

/** Sign in to a profile by top-level navigation (login origin → callback → target). */
async function navigateSignIn(profile: ProfileName) {
  if (profile === 'azure-easy-auth') {
    await e.page.goto(`${e.stack.appUrl}/.auth/login/aad?post_login_redirect_uri=/app.html`)
  } else {
    await e.page.goto(`${e.stack.appUrl}/app.html`)
  }
  await e.page.waitForURL(`${e.stack.appUrl}/app.html`)
}

const PROFILES: ProfileName[] = ['pomerium', 'authelia', 'google-iap', 'cloudflare-access', 'azure-easy-auth']

describe.each(PROFILES)('sdk behind %s', (name) => {
  it.each(ADAPTERS)(
    '%s: lost session detected, re-login completed, the request gets its data',
    async (adapter) => {
      const profile = e.stack.proxy.useProfile(name)
      await navigateSignIn(name)
      expect(profile?.counters.logins).toBe(1)
      await setupSdk(e.page, { adapter, options: { proxy: name } })
      expect(await call(e.page, adapter, '/api/items')).toMatchObject({ ok: true, data: ITEMS })
      // gone for good (Easy Auth's /.auth/refresh cannot restore it): a full re-login is needed
      e.stack.proxy.deleteSession()
      const r = await call(e.page, adapter, '/api/items')
      const ev = await events(e.page)
      report(`sdk-profile-${name}-${adapter}`, {
        outcome: r.ok ? r.status : `${r.status}:${r.name}:${r.reason}`,
        ms: r.ms,
        logins: profile?.counters.logins,
        events: ev.map((x) =>
          x.reason ? `${x.type}(${x.reason})` : x.error ? `${x.type}(${x.error})` : x.type,
        ),
      })
      expect(r).toMatchObject({ ok: true, status: 200, data: ITEMS })
      expect(countOf(ev, 'reauth:required')).toBe(1)
      expect(countOf(ev, 'reauth:success')).toBe(1)
      expect(profile?.counters.logins).toBe(2)
    },
  )
})

describe('sdk behind azure-easy-auth', () => {
  it('an expired session within the grace period is renewed by /.auth/refresh, without any page', async () => {
    const profile = e.stack.proxy.useProfile('azure-easy-auth')
    await navigateSignIn('azure-easy-auth')
    await setupSdk(e.page, { adapter: 'fetch', options: { proxy: 'azure-easy-auth' } })
    e.stack.proxy.expireSession()
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
    expect(profile?.counters).toMatchObject({ logins: 1, refreshes: 1 })
    expect(countOf(await events(e.page), 'reauth:success')).toBe(1)
  })
})

describe('sdk behind google-iap, popup strategy (the documented IAP session refresh)', () => {
  it('start() from a real click opens /?gcp-iap-mode=DO_SESSION_REFRESH in a popup; the session is refreshed and the popup closes', async () => {
    const profile = e.stack.proxy.useProfile('google-iap')
    await navigateSignIn('google-iap')
    await setupSdk(e.page, {
      adapter: 'fetch',
      options: { proxy: 'google-iap', relogin: 'popup', reloginTimeoutMs: 5_000 },
    })
    e.stack.proxy.deleteSession()
    const r = await call(e.page, 'fetch', '/api/items', { noGesture: true })
    expect(r).toMatchObject({ ok: false, reason: 'unauthorized' })
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    const result = await e.page.evaluate(() => (window as any).__startResult as string)
    report('sdk-google-iap-popup', {
      startResult: result,
      popupClosed: popup.isClosed(),
      logins: profile?.counters.logins,
      refreshes: profile?.counters.refreshes,
    })
    expect(profile?.counters.logins).toBe(2)
    expect(result).toBe('ok')
    expect(popup.isClosed()).toBe(true)
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
  })
})

/** `reauth.check()`: one session probe. */
const check = () => e.page.evaluate(() => (window as any).__sdk.reauth.check() as Promise<string>)
const posts = (path: string) =>
  e.stack.upstream.requests.filter((q) => q.method === 'POST' && q.path === path).length

/** The upstream's own 401 to a POST, with a valid session: sent once, handed over, no re-login. */
async function upstreamOwn401() {
  const r = await call(e.page, 'fetch', '/api/login', { method: 'POST', body: '{"user":"a","password":"x"}' })
  expect(r).toMatchObject({ ok: false, status: 401 })
  if (r.ok) throw new Error('unreachable')
  expect(r.name).not.toBe('AuthRequiredError')
  expect(posts('/api/login')).toBe(1)
  expect(await events(e.page)).toEqual([])
}

// Issue #22.3: the session probe asks the proxy's own identity endpoint, not the app's `/`.
const IDENTITY: ProfileName[] = ['pomerium', 'google-iap', 'cloudflare-access']

describe.each(IDENTITY)('sdk behind %s, an app whose root redirects (/ → /app.html)', (name) => {
  it('signed in: the upstream’s own 401 to a POST starts nothing, check() says signed-in; lost: re-login confirmed by the probe', async () => {
    const profile = e.stack.proxy.useProfile(name)
    await navigateSignIn(name)
    e.stack.upstream.rootRedirect = '/app.html'
    await setupSdk(e.page, { adapter: 'fetch', options: { proxy: name } })
    await upstreamOwn401()
    expect(await check()).toBe('signed-in')
    expect(profile?.counters.logins).toBe(1)
    // Lost: the probe says so, and confirms the re-login (a check() now would reuse the answer above).
    e.stack.proxy.deleteSession()
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(countOf(await events(e.page), 'reauth:success')).toBe(1)
    expect(profile?.counters.logins).toBe(2)
  })
})

describe('sdk behind authelia, an app whose root redirects (/ → /app.html)', () => {
  it('probing /: a redirect there says nothing (unknown), so the upstream’s own 401 to a POST starts nothing', async () => {
    const profile = e.stack.proxy.useProfile('authelia')
    await navigateSignIn('authelia')
    e.stack.upstream.rootRedirect = '/app.html'
    await setupSdk(e.page, { adapter: 'fetch', options: { proxy: 'authelia' } })
    await upstreamOwn401()
    expect(await check()).toBe('unknown')
    expect(profile?.counters.logins).toBe(1)
  })

  it('authelia({ probePath }): the upstream’s own 401 starts nothing, check() says signed-in; lost: re-login confirmed', async () => {
    const profile = e.stack.proxy.useProfile('authelia')
    await navigateSignIn('authelia')
    e.stack.upstream.rootRedirect = '/app.html'
    await setupSdk(e.page, {
      adapter: 'fetch',
      options: { proxy: 'authelia' },
      proxyOptions: { probePath: '/api/items' },
    })
    await upstreamOwn401()
    expect(await check()).toBe('signed-in')
    // Lost: the probe says so, and confirms the re-login (a check() now would reuse the answer above).
    e.stack.proxy.deleteSession()
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(countOf(await events(e.page), 'reauth:success')).toBe(1)
    expect(profile?.counters.logins).toBe(2)
  })
})
