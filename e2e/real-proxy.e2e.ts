/**
 * The real oauth2-proxy binary (scripts/oauth2-proxy.version) in each documented deployment, raw
 * (no SDK): what a page load, a default fetch, an `Accept: application/json` fetch and an XHR get
 * once the session is lost, and that a sign-in works. Sessions are lost the real way: the browser
 * drops or alters the cookie, the provider revokes the refresh token, the ID token expires, the
 * configuration stops allowing the user.
 */
import { describe, expect, it } from 'vitest'
import type { RealE2E } from './harness.js'
import {
  CSRF_PER_REQUEST,
  cookieNames,
  dropSessionCookie,
  sessionCookies,
  setupE2E,
  signIn,
  tamperSessionCookie,
  useDeployment,
} from './harness.js'
import type { FetchOutcome, XhrOutcome } from './probes.js'
import { signInMarkers, viaFetch, viaXhr } from './probes.js'
import { report } from './report.js'
import type { RealDeployment, RealDeploymentName } from './server/real.js'

const e: RealE2E = setupE2E({ proxy: 'real' })
const JSON_ACCEPT = { headers: { Accept: 'application/json' } }

/** What the four requests of the matrix got. */
interface Seen {
  page: { status: number | null; url: string; title: string }
  fetch: FetchOutcome
  json: FetchOutcome
  xhr: XhrOutcome
}

async function pageLoad(path = '/app.html?after=loss') {
  const page = await e.context.newPage()
  const res = await page.goto(`${e.stack.appUrl}${path}`)
  const seen = { status: res?.status() ?? null, url: page.url(), title: await page.title() }
  await page.close()
  return seen
}

async function fourRequests(): Promise<Seen> {
  const fetch = await viaFetch(e.page, '/api/items')
  const json = await viaFetch(e.page, '/api/items', JSON_ACCEPT)
  const xhr = await viaXhr(e.page, '/api/items')
  const page = await pageLoad()
  return { page, fetch, json, xhr }
}

const path = (url: string) => url.replace(/^http:\/\/[^/]+/, '')
const short = (s: Seen) => ({
  page: { status: s.page.status, url: path(s.page.url), title: s.page.title },
  fetch: s.fetch.ok
    ? {
        status: s.fetch.status,
        redirected: s.fetch.redirected,
        url: path(s.fetch.url),
        type: s.fetch.contentType,
      }
    : s.fetch.errorName,
  json: s.json.ok
    ? { status: s.json.status, type: s.json.contentType, body: s.json.text.slice(0, 40) }
    : s.json.errorName,
  xhr: { status: s.xhr.status, url: path(s.xhr.responseURL), events: s.xhr.events.join(',') },
})

async function signedIn(deployment: RealDeployment | RealDeploymentName) {
  await useDeployment(e, deployment)
  await signIn(e.page, e.stack.appUrl)
  expect(await viaFetch(e.page, '/api/items')).toMatchObject({ ok: true, status: 200, isJson: true })
  expect(await sessionCookies(e.context)).not.toHaveLength(0)
}

function expectSignInPage(f: FetchOutcome, status: number) {
  expect(f).toMatchObject({ ok: true, status, contentType: 'text/html; charset=utf-8' })
  if (f.ok) expect(signInMarkers(f.text)).toMatchObject({ title: true, form: true, footer: true })
}

function expectJson401(f: FetchOutcome) {
  expect(f).toMatchObject({ ok: true, status: 401, contentType: 'application/json', text: '{}' })
}

describe('real oauth2-proxy, in front of the app', () => {
  it('defaults, cookie dropped: page and fetch get the 403 sign-in page, Accept: application/json a 401 {}', async () => {
    await signedIn('defaults')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-defaults-dropped', short(s))
    expectSignInPage(s.fetch, 403)
    expectJson401(s.json)
    expect(s.xhr).toMatchObject({ status: 403, responseURL: `${e.stack.appUrl}/api/items` })
    expect(signInMarkers(s.xhr.text).title).toBe(true)
    expect(s.page).toMatchObject({ status: 403, title: 'Sign In' })
    expect(e.stack.real.counters).toMatchObject({ callbacks: 1, sessionsCreated: 1 })
  })

  it('defaults, cookie tampered: the same answers, and the cookie is cleared in the first one', async () => {
    await signedIn('defaults')
    await tamperSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-defaults-tampered', short(s))
    expectSignInPage(s.fetch, 403)
    expectJson401(s.json)
    expect(s.xhr.status).toBe(403)
    expect(s.page).toMatchObject({ status: 403, title: 'Sign In' })
    expect(await sessionCookies(e.context)).toEqual([])
    expect(e.stack.real.counters.sessionsCleared).toBeGreaterThanOrEqual(1)
  })

  it('--skip-provider-button: fetch TypeError and XHR status 0 (CORS after the 302), each minting a CSRF cookie; a page load signs in again', async () => {
    await signedIn('skipProviderButton')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-skip-provider-button', short(s))
    expect(s.fetch).toMatchObject({ ok: false, errorName: 'TypeError' })
    expectJson401(s.json)
    expect(s.xhr).toMatchObject({ status: 0, responseURL: '', events: ['error', 'loadend'] })
    // one CSRF cookie for the sign-in, then one each for fetch, XHR and the page load (not for the 401)
    expect(e.stack.real.counters).toMatchObject({ csrfCookiesMinted: 4, signInStarts: 4, callbacks: 2 })
    // the page load went to the provider and back: signed in again
    expect(s.page).toMatchObject({ status: 200, url: `${e.stack.appUrl}/app.html?after=loss` })
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ ok: true, status: 200 })
  })

  it('--api-route=^/api/: fetch and XHR to /api/ get 401 {}; a page load the sign-in page', async () => {
    await signedIn('apiRoute')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-api-route', short(s))
    expectJson401(s.fetch)
    expectJson401(s.json)
    expect(s.xhr).toMatchObject({ status: 401, text: '{}' })
    expect(s.page).toMatchObject({ status: 403, title: 'Sign In' })
  })

  it('--force-json-errors: every request without a session gets 401 {}, the page load too', async () => {
    await signedIn('forceJsonErrors')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-force-json-errors', short(s))
    expectJson401(s.fetch)
    expectJson401(s.json)
    expect(s.xhr).toMatchObject({ status: 401, text: '{}' })
    expect(s.page.status).toBe(401)
  })

  it('--cookie-refresh with the refresh token revoked (invalid_grant): the cookie is cleared, then the sign-in page', async () => {
    await signedIn('cookieRefresh')
    expect(e.stack.idp.revokeRefreshTokens()).toBeGreaterThan(0)
    // Older than --cookie-refresh=1s for sure: oauth2-proxy's session age is now truncated to the second
    // minus the creation time (SessionState.Age), up to 1 s less than the time that passed.
    await e.page.waitForTimeout(2_200)
    const s = await fourRequests()
    report('real-raw-cookie-refresh-revoked', { ...short(s), counters: e.stack.real.counters })
    expectSignInPage(s.fetch, 403)
    expectJson401(s.json)
    expect(await sessionCookies(e.context)).toEqual([])
    expect(e.stack.real.counters.sessionsCleared).toBe(1)
  })

  it('ID token expired (no refresh token, --cookie-refresh=1s): the session dies at the ID token exp', async () => {
    await signedIn('idTokenExpiry')
    await e.page.waitForTimeout(1_200)
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ ok: true, status: 200 })
    await e.page.waitForTimeout(4_000) // past the 4 s ID token's exp
    const s = await fourRequests()
    report('real-raw-id-token-expired', { ...short(s), counters: e.stack.real.counters })
    expectSignInPage(s.fetch, 403)
    expectJson401(s.json)
  })

  it.each([
    [undefined, 5],
    [2, 3],
  ])(
    '--cookie-csrf-per-request (limit %s) with --skip-provider-button: 5 failed fetches leave %i _oauth2_proxy_<8>_csrf cookies',
    async (limit, left) => {
      const flags = { 'cookie-csrf-per-request': true, 'skip-provider-button': true }
      await signedIn({ flags: limit ? { ...flags, 'cookie-csrf-per-request-limit': limit } : flags })
      await dropSessionCookie(e.context)
      for (let i = 0; i < 5; i++)
        expect(await viaFetch(e.page, `/api/items?n=${i}`)).toMatchObject({
          ok: false,
          errorName: 'TypeError',
        })
      const names = await cookieNames(e.context, CSRF_PER_REQUEST)
      report(`real-raw-csrf-per-request-limit-${limit ?? 0}`, {
        cookies: names.length,
        counters: e.stack.real.counters,
      })
      expect(names).toHaveLength(left)
      expect(e.stack.real.counters.csrfCookiesMinted).toBe(6) // the sign-in's and 5
    },
  )

  it('signed in, then not allowed (--email-domain): 403 "403 Forbidden" once, the session cookie cleared in that answer, then a lost session', async () => {
    await signedIn('defaults')
    await useDeployment(e, 'emailDomainDenied')
    const s = await fourRequests()
    report('real-raw-not-allowed', { ...short(s), counters: e.stack.real.counters })
    expect(s.fetch).toMatchObject({ ok: true, status: 403 })
    if (s.fetch.ok) expect(s.fetch.text).toContain('<title>403 Forbidden</title>')
    // the 403 cleared the session cookie: the next requests look like a lost session
    expectJson401(s.json)
    expect(s.page).toMatchObject({ status: 403, title: 'Sign In' })
    expect(await sessionCookies(e.context)).toEqual([])
    expect(e.stack.real.counters).toMatchObject({ sessionsCleared: 1 })
  })

  it('not allowed at sign-in (--authenticated-emails-file): the callback answers 403, no session cookie', async () => {
    await useDeployment(e, 'emailsFileDenied')
    const res = await e.page.goto(`${e.stack.appUrl}/oauth2/start?rd=/app.html`)
    report('real-raw-denied-sign-in', {
      status: res?.status(),
      url: path(e.page.url()),
      counters: e.stack.real.counters,
    })
    expect(res?.status()).toBe(403)
    expect(path(e.page.url())).toMatch(/^\/oauth2\/callback\?/)
    expect(await sessionCookies(e.context)).toEqual([])
    expect(e.stack.real.counters).toMatchObject({ callbacks: 1, callbackFailures: 1, sessionsCreated: 0 })
  })
})

describe('real oauth2-proxy behind a front', () => {
  it('nginx, the docs recipe (error_page 401 → 302 /oauth2/sign_in?rd=…): fetch and XHR follow to the 200 sign-in page; Accept is ignored', async () => {
    await signedIn('nginx')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-nginx-sign-in', short(s))
    expect(s.fetch).toMatchObject({ ok: true, status: 200, redirected: true })
    if (s.fetch.ok) expect(path(s.fetch.url)).toMatch(/^\/oauth2\/sign_in\?rd=/)
    expect(s.json).toMatchObject({ ok: true, status: 200, redirected: true })
    expect(s.xhr.status).toBe(200)
    expect(path(s.xhr.responseURL)).toMatch(/^\/oauth2\/sign_in\?rd=/)
    expect(s.page).toMatchObject({ status: 200, title: 'Sign In' })
  })

  it('nginx, ingress-nginx auth-signin style (→ /oauth2/start?rd=…): CORS failure for fetch (any Accept) and XHR; a page load signs in again', async () => {
    await signedIn('nginxStart')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-nginx-start', short(s))
    expect(s.fetch).toMatchObject({ ok: false, errorName: 'TypeError' })
    expect(s.json).toMatchObject({ ok: false, errorName: 'TypeError' })
    expect(s.xhr).toMatchObject({ status: 0, events: ['error', 'loadend'] })
    expect(s.page).toMatchObject({ status: 200, url: `${e.stack.appUrl}/app.html?after=loss` })
  })

  it('Caddy forward_auth, the docs recipe (redir → /oauth2/sign_in?rd=…): fetch and XHR follow to the 200 sign-in page', async () => {
    await signedIn('caddy')
    await dropSessionCookie(e.context)
    const s = await fourRequests()
    report('real-raw-caddy', short(s))
    expect(s.fetch).toMatchObject({ ok: true, status: 200, redirected: true })
    expect(s.json).toMatchObject({ ok: true, status: 200, redirected: true })
    expect(s.xhr.status).toBe(200)
    expect(s.page).toMatchObject({ status: 200, title: 'Sign In' })
  })
})
