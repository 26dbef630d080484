/**
 * A provider on another site than the app (`startStack({ idpSite: 'cross' })`: the provider on
 * `http://127.0.0.1:<p2>`, the app on `http://localhost:<p1>`), as Google, Entra ID or Okta are to an app
 * in production. Measured in each browser: the provider's cookies and their `SameSite`, whether they
 * reach it in the hidden re-login iframe, where the iframe stops, `prompt=none`, what the SDK reports
 * and the popup from a click. The control: a slow provider on the same site still re-logs in silently.
 */
import { describe, expect, it } from 'vitest'
import type { Page } from './harness.js'
import { BROWSER, setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import type { SdkEvent } from './sdk.js'
import { ADAPTERS, call, events, setupSdk } from './sdk.js'
import type { Stack } from './server/stack.js'

const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}
/** A slow provider: every answer (authorize, interaction, token) waits this long (± 20 %). */
const SLOW = [300, 1_000] as const

interface FrameLoad {
  t: number
  /** The frame's URL when the page can read it, else 'unreadable'. */
  href: string
}

/**
 * Load `src` in a hidden iframe and record every `load` (time, URL when readable) until it lands
 * readable on the app outside `/oauth2/`, or `quietMs` after the last load (a measurement window, not
 * an assertion).
 */
function rawFrame(page: Page, src: string, quietMs = 2_000): Promise<FrameLoad[]> {
  return page.evaluate(
    ({ src, quietMs }) =>
      new Promise<FrameLoad[]>((resolve) => {
        const t0 = performance.now()
        const loads: FrameLoad[] = []
        const f = document.createElement('iframe')
        let quiet: ReturnType<typeof setTimeout> | undefined
        const done = () => {
          f.remove()
          resolve(loads)
        }
        f.addEventListener('load', () => {
          let href = 'unreadable'
          try {
            href = f.contentWindow?.location.href ?? 'unreadable'
          } catch {}
          loads.push({ t: Math.round(performance.now() - t0), href })
          clearTimeout(quiet)
          if (href.startsWith(location.origin) && !new URL(href).pathname.startsWith('/oauth2/')) done()
          else quiet = setTimeout(done, quietMs)
        })
        f.src = src
        document.body.append(f)
      }),
    { src, quietMs },
  )
}

/** The provider's requests since `from`: path and the names of the cookies they carried. */
const idpSeen = (stack: Stack, from = 0) =>
  stack.idp.requests
    .slice(from)
    .map((r) => ({ path: r.path.replace(/\/interaction\/[^/]+/, '/interaction/:uid'), cookies: r.cookies }))

/** What each browser does with `SameSite=None; Secure` provider cookies over plain HTTP (measured). */
const NONE_FINDING = {
  chromium: 'stored; not sent to the frame (third-party cookies blocked)',
  firefox: 'stored; not sent to the frame (partitioned: Total Cookie Protection)',
  webkit: 'not stored (no Secure cookie from http://127.0.0.1)',
} as const

const cookieLine = (c: { name: string; sameSite?: string; secure?: boolean }) =>
  `${c.name}; SameSite=${c.sameSite ?? '?'}${c.secure ? '; Secure' : ''}`

/** An authorize request of the proxy's client, answered to the proxy's callback. */
const authorizeQuery = (stack: Stack, extra: Record<string, string>) =>
  new URLSearchParams({
    client_id: stack.idp.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${stack.appUrl}/oauth2/callback`,
    state: 'x',
    ...extra,
  })

/** Epoch ms of the page's first event of `type` (performance.now() + timeOrigin). */
async function eventEpoch(page: Page, ev: SdkEvent[], type: string): Promise<number | null> {
  const x = ev.find((e) => e.type === type)
  if (!x) return null
  return (await page.evaluate(() => performance.timeOrigin)) + x.t
}

/** Click the page's "Sign in again" button (start()), wait for its outcome and the popup's close. */
async function startFromClick(e: { page: Page; context: { waitForEvent(ev: 'page'): Promise<Page> } }) {
  const popupPromise = e.context.waitForEvent('page')
  await e.page.click('#signin-again')
  const popup = await popupPromise
  await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
  const result = await e.page.evaluate(() => (window as any).__startResult as string)
  // The SDK closed it; WebKit's driver notices a closed window by polling.
  if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 5_000 })
  return result
}

describe('cross-site provider (http://127.0.0.1 against the app on http://localhost)', () => {
  const e = setupE2E({ nginx: false, idpSite: 'cross' })

  it("after a top-level sign-in the provider's session cookies are SameSite=Lax (oidc-provider's default)", async () => {
    await signIn(e.page, e.stack.appUrl)
    const cookies = await e.context.cookies(e.stack.idpUrl)
    report(`cross-site-provider-cookies-${BROWSER}`, cookies.map(cookieLine))
    const session = cookies.filter((c) => c.name.startsWith('_session'))
    expect(session.map((c) => c.name).sort()).toEqual(['_session', '_session.sig'])
    for (const c of session) expect(c.sameSite).toBe('Lax')
  })

  it('raw iframe re-login: no provider cookie reaches it; it stops on the login form, a load the app cannot read', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.expireSession()
    // The provider session lives (a top-level visit goes straight back); without it, the form.
    e.stack.idp.setAutoLogin(false)
    const from = e.stack.idp.requests.length
    const loads = await rawFrame(e.page, '/oauth2/start?rd=%2Fapp.html%3Frelogin%3D1')
    const seen = idpSeen(e.stack, from)
    report(`cross-site-raw-iframe-${BROWSER}`, { loads, idp: seen })
    expect(seen).toEqual([
      { path: '/auth', cookies: [] },
      { path: '/interaction/:uid', cookies: [] },
    ])
    expect(loads.map((l) => l.href)).toEqual(['unreadable'])
    expect(e.stack.idp.sessionCount()).toBeGreaterThan(0)
  })

  it('raw iframe, a provider that logs in without a form: its interaction cookie is Lax too, so no code is issued', async () => {
    await signIn(e.page, e.stack.appUrl)
    e.stack.proxy.expireSession()
    const authorizations = e.stack.idp.counters.authorizations
    const from = e.stack.idp.requests.length
    const loads = await rawFrame(e.page, '/oauth2/start?rd=%2Fapp.html%3Frelogin%3D1')
    const seen = idpSeen(e.stack, from)
    report(`cross-site-raw-iframe-autologin-${BROWSER}`, { loads, idp: seen, counters: e.stack.idp.counters })
    expect(seen.every((r) => r.cookies.length === 0)).toBe(true)
    expect(loads.map((l) => l.href)).toEqual(['unreadable'])
    expect(e.stack.idp.counters.authorizations).toBe(authorizations)
  })

  it('raw iframe, prompt=none at the provider: login_required back at the callback (the session is not seen)', async () => {
    await signIn(e.page, e.stack.appUrl)
    const from = e.stack.idp.requests.length
    const q = authorizeQuery(e.stack, { prompt: 'none' })
    const loads = await rawFrame(e.page, `${e.stack.idpUrl}/auth?${q}`)
    const seen = idpSeen(e.stack, from)
    report(`cross-site-raw-prompt-none-${BROWSER}`, { loads, idp: seen })
    expect(seen).toEqual([{ path: '/auth', cookies: [] }])
    expect(loads).toHaveLength(1)
    const landed = new URL(loads[0]?.href ?? 'about:blank')
    expect(landed.origin + landed.pathname).toBe(`${e.stack.appUrl}/oauth2/callback`)
    expect(landed.searchParams.get('error')).toBe('login_required')
  })

  for (const adapter of ADAPTERS.slice(0, 2)) {
    it(`SDK (${adapter}): interaction-required 'provider-session-unseen' once the frame lands on the provider; start() from a click signs in in a popup, no form`, async () => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter, options: { reloginTimeoutMs: 10_000 } })
      e.stack.proxy.expireSession()
      e.stack.idp.setAutoLogin(false)
      const from = e.stack.idp.requests.length
      const r = await call(e.page, adapter, '/api/items')
      // The SDK's 401 (`reason` from its JSON body through XHR).
      expect(r).toMatchObject({ ok: false, status: 401, reason: 'unauthorized' })
      const ev = await events(e.page)
      const interaction = ev.filter((x) => x.type === 'reauth:interaction-required')
      expect(interaction.map((x) => x.reason)).toEqual(['provider-session-unseen'])
      const frameSeen = idpSeen(e.stack, from)
      expect(frameSeen.every((x) => x.cookies.length === 0)).toBe(true)
      const landedAt = e.stack.idp.requests.at(-1)?.answeredAt ?? null
      const interactionAt = await eventEpoch(e.page, ev, 'reauth:interaction-required')
      const requiredAt = await eventEpoch(e.page, ev, 'reauth:required')

      const popupFrom = e.stack.idp.requests.length
      expect(await startFromClick(e)).toBe('ok')
      const popupSeen = idpSeen(e.stack, popupFrom)
      // Top-level in the popup, the provider's Lax cookies are first-party: it goes straight back.
      expect(popupSeen.find((x) => x.path === '/auth')?.cookies).toContain('_session')
      expect(e.stack.idp.counters.interactiveLogins).toBe(0)
      expect(await call(e.page, adapter, '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
      report(`cross-site-sdk-${adapter}-${BROWSER}`, {
        requestMs: r.ms,
        requiredToInteractionMs: interactionAt && requiredAt ? Math.round(interactionAt - requiredAt) : null,
        providerAnswerToInteractionMs:
          interactionAt && landedAt ? Math.round(interactionAt - landedAt) : null,
        frame: frameSeen,
        popup: popupSeen,
      })
    })
  }

  it(`SameSite=None; Secure provider cookies over HTTP: ${NONE_FINDING[BROWSER]}`, async () => {
    e.stack.idp.cookieSameSite = 'None'
    e.stack.idp.setAutoLogin(false)
    // A top-level visit: the authorize answer sets the provider's interaction cookie.
    await e.page.goto(`${e.stack.idpUrl}/auth?${authorizeQuery(e.stack, {})}`)
    const stored = (await e.context.cookies()).filter((c) => c.domain.replace(/^\./, '') === '127.0.0.1')
    report(`cross-site-none-stored-${BROWSER}`, stored.map(cookieLine))
    if (BROWSER === 'webkit') {
      // WebKit stores no `Secure` cookie from http://127.0.0.1: a sign-in cannot even start here.
      expect(stored).toEqual([])
      return
    }
    expect(stored.length).toBeGreaterThan(0)
    for (const c of stored) expect([c.sameSite, c.secure]).toEqual(['None', true])
    e.stack.idp.setAutoLogin(true)
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: 10_000 } })
    e.stack.proxy.expireSession()
    e.stack.idp.setAutoLogin(false)
    const from = e.stack.idp.requests.length
    const r = await call(e.page, 'fetch', '/api/items')
    expect(r).toMatchObject({ ok: false, status: 401, name: 'AuthRequiredError' })
    const ev = await events(e.page)
    const frame = idpSeen(e.stack, from)
    expect(ev.filter((x) => x.type === 'reauth:interaction-required').map((x) => x.reason)).toEqual([
      'provider-session-unseen',
    ])
    // The provider session cookie never reaches the frame.
    expect(frame.find((x) => x.path === '/auth')?.cookies).toEqual([])
    // Chromium sends the frame no cookie at all; Firefox keeps what the frame itself set in the
    // partition of the app's site (Total Cookie Protection) and sends that back: the interaction cookie.
    expect(frame.find((x) => x.path === '/interaction/:uid')?.cookies).toEqual(
      BROWSER === 'firefox' ? ['_interaction', '_interaction.sig'] : [],
    )
    const popupFrom = e.stack.idp.requests.length
    expect(await startFromClick(e)).toBe('ok')
    const popup = idpSeen(e.stack, popupFrom)
    expect(popup.find((x) => x.path === '/auth')?.cookies).toContain('_session')
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    report(`cross-site-none-sdk-${BROWSER}`, { frame, popup })
  })

  for (const ms of SLOW) {
    it(`SDK, provider at ${ms} ms per answer: the same reason after the frame lands, not the timeout`, async () => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: 10_000 } })
      e.stack.proxy.expireSession()
      e.stack.idp.setAutoLogin(false)
      e.stack.setLatency({ idp: { ms, jitter: ms / 5, seed: 1 } })
      const r = await call(e.page, 'fetch', '/api/items')
      expect(r).toMatchObject({ ok: false, status: 401, name: 'AuthRequiredError' })
      const ev = await events(e.page)
      expect(ev.filter((x) => x.type === 'reauth:interaction-required').map((x) => x.reason)).toEqual([
        'provider-session-unseen',
      ])
      const landedAt = e.stack.idp.requests.at(-1)?.answeredAt ?? null
      const interactionAt = await eventEpoch(e.page, ev, 'reauth:interaction-required')
      const requiredAt = await eventEpoch(e.page, ev, 'reauth:required')
      report(`cross-site-sdk-slow-${ms}-${BROWSER}`, {
        requestMs: r.ms,
        requiredToInteractionMs: interactionAt && requiredAt ? Math.round(interactionAt - requiredAt) : null,
        providerAnswerToInteractionMs:
          interactionAt && landedAt ? Math.round(interactionAt - landedAt) : null,
      })
    })
  }
})

describe('control: a slow provider on the same site (http://localhost)', () => {
  const e = setupE2E({ nginx: false })

  for (const ms of SLOW) {
    it(`provider at ${ms} ms per answer (authorize → proxy callback → token → app): silent re-login, not cut short`, async () => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: 10_000 } })
      e.stack.proxy.expireSession()
      e.stack.setLatency({ idp: { ms, jitter: ms / 5, seed: 1 } })
      const from = e.stack.idp.requests.length
      const r = await call(e.page, 'fetch', '/api/items')
      expect(r).toMatchObject({ ok: true, status: 200, data: ITEMS })
      const ev = await events(e.page)
      expect(ev.filter((x) => x.type === 'reauth:interaction-required')).toEqual([])
      expect(ev.filter((x) => x.type === 'reauth:success')).toHaveLength(1)
      const seen = idpSeen(e.stack, from)
      expect(seen.find((x) => x.path === '/auth')?.cookies).toContain('_session')
      report(`same-site-slow-${ms}-${BROWSER}`, { requestMs: r.ms, idp: seen.map((x) => x.path) })
    })
  }
})
