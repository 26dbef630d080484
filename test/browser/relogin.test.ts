import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { currentBrowser } from '../../e2e/driver/index'
import type { Browser, BrowserContext, Page } from '../../e2e/driver/types'
import { bundleInternals, launch, type PageGlobals, type Stack, startStack } from './reauth-harness'

let browser: Browser
let stack: Stack
let context: BrowserContext
let page: Page

beforeAll(async () => {
  stack = await startStack(await bundleInternals())
  browser = await launch()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
})
beforeEach(async () => {
  await context?.close()
  context = await browser.newContext()
  page = await context.newPage()
  await page.goto(`${stack.app}/app`)
})

interface Outcome {
  ok: boolean
  name?: string
  reason?: string
  message?: string
  ms: number
  framesLeft: number
}

/** Runs the iframe strategy in the page with a 10 s timeout signal, as the coordinator would. */
const runIframe = (
  mode: string,
  opts: { callbackPath?: string; landingNever?: boolean; probe?: string } = {},
) =>
  page.evaluate(
    async ({ mode, opts }) => {
      const { R } = globalThis as PageGlobals
      const callbackPath = opts.callbackPath ?? '/landing'
      const profile = {
        ownPaths: ['/oauth2/'],
        isSignInUrl: (u: URL) => u.pathname.startsWith('/oauth2/'),
      }
      const isLanding = opts.landingNever
        ? () => false
        : R.createLandingCheck({ origin: location.origin, profile, callbackPath })
      const probeResult = opts.probe as 'signed-in' | 'signed-out' | undefined
      const t0 = performance.now()
      try {
        await R.iframeStrategy({
          signal: AbortSignal.timeout(10_000),
          error: new Error('lost session'),
          url: `${location.origin}/oauth2/start?mode=${mode}&rd=${encodeURIComponent(callbackPath)}`,
          returnTo: callbackPath,
          isLanding,
          ...(probeResult ? { probe: async () => probeResult } : {}),
        })
        return {
          ok: true,
          ms: performance.now() - t0,
          framesLeft: document.querySelectorAll('iframe').length,
        }
      } catch (e) {
        const err = e as { name: string; reason?: string; message: string }
        return {
          ok: false,
          name: err.name,
          reason: err.reason,
          message: err.message,
          ms: performance.now() - t0,
          framesLeft: document.querySelectorAll('iframe').length,
        }
      }
    },
    { mode, opts },
  ) as Promise<Outcome>

const BROWSER = currentBrowser()

describe(`iframe strategy in ${BROWSER}`, () => {
  it('silent success: /oauth2/start → provider 302 → /oauth2/callback 302 → same-origin landing', async () => {
    const r = await runIframe('silent')
    expect(r).toMatchObject({ ok: true, framesLeft: 0 })
    expect(r.ms).toBeLessThan(5_000)
    const cookies = await context.cookies(stack.app)
    expect(cookies.find((c) => c.name === '_oauth2_proxy')?.value).toBe('fresh')
  })

  it('succeeds through the callback page postMessage alone (landing check never passes)', async () => {
    const r = await runIframe('silent', { callbackPath: '/cb-slow.html', landingNever: true })
    expect(r).toMatchObject({ ok: true, framesLeft: 0 })
    expect(r.ms).toBeLessThan(2_500) // before the page's load event (its image takes 3 s)
  })

  it('fails fast when the provider shows its own page (no framing headers)', async () => {
    const r = await runIframe('page')
    expect(r).toMatchObject({ ok: false, name: 'InteractionRequiredError', framesLeft: 0 })
    // Chromium presents a readable-only-by-origin provider page exactly like a refused frame.
    expect(r.reason).toBe('frame-blocked')
    expect(r.ms).toBeLessThan(2_000) // the signal's timeout is 10 s
  })

  it('the provider page with the app still signed out (probe) → provider-session-unseen', async () => {
    const r = await runIframe('page', { probe: 'signed-out' })
    expect(r).toMatchObject({ ok: false, name: 'InteractionRequiredError', framesLeft: 0 })
    expect(r.reason).toBe('provider-session-unseen')
  })

  it.each([
    ['X-Frame-Options: DENY', 'xfo'],
    ["CSP frame-ancestors 'none'", 'frame-ancestors'],
  ])('%s on the provider page → frame-blocked, well before the timeout', async (_label, mode) => {
    const r = await runIframe(mode)
    expect(r).toMatchObject({ ok: false, reason: 'frame-blocked', framesLeft: 0 })
    expect(r.ms).toBeLessThan(2_000)
  })

  it("the proxy's own sign-in page (same origin, readable) → sign-in-page", async () => {
    const r = await runIframe('proxy-sign-in')
    expect(r).toMatchObject({ ok: false, reason: 'sign-in-page', framesLeft: 0 })
    expect(r.ms).toBeLessThan(2_000)
  })

  it('ignores a callback-shaped message from the provider origin', async () => {
    const r = await runIframe('foreign-callback', { callbackPath: '/cb.html' })
    expect(r).toMatchObject({ ok: false, reason: 'frame-blocked' })
  })

  it('app landing page refusing framing: the probe decides (signed-in → success, signed-out → provider-session-unseen)', async () => {
    expect(await runIframe('silent', { callbackPath: '/landing-denied', probe: 'signed-in' })).toMatchObject({
      ok: true,
      framesLeft: 0,
    })
    // Unreadable and still signed out: to the embedder, a stop at the provider.
    expect(await runIframe('silent', { callbackPath: '/landing-denied', probe: 'signed-out' })).toMatchObject(
      {
        ok: false,
        reason: 'provider-session-unseen',
      },
    )
  })

  it('abort while the provider hangs: rejects at once with the reason and removes the iframe', async () => {
    const r = await page.evaluate(async () => {
      const { R } = globalThis as PageGlobals
      const ctrl = new AbortController()
      const run = R.iframeStrategy({
        signal: ctrl.signal,
        error: new Error('x'),
        url: `${location.origin}/oauth2/start?mode=hang&rd=%2Flanding`,
        returnTo: '/landing',
        isLanding: () => false,
      })
      await new Promise((r) => setTimeout(r, 300))
      const during = document.querySelectorAll('iframe').length
      const t0 = performance.now()
      ctrl.abort(new Error('reloginTimeoutMs'))
      const message = await run.then(
        () => 'resolved',
        (e: Error) => e.message,
      )
      return {
        during,
        after: document.querySelectorAll('iframe').length,
        message,
        ms: performance.now() - t0,
      }
    })
    expect(r).toMatchObject({ during: 1, after: 0, message: 'reloginTimeoutMs' })
    expect(r.ms).toBeLessThan(100)
  })
})

describe(`popup strategy in ${BROWSER}`, () => {
  /** Arms a click handler that starts the popup strategy; the result lands in `window.__result`. */
  const armPopup = (mode: string) =>
    page.evaluate((mode) => {
      const { R } = globalThis as PageGlobals
      const w = window as unknown as { __result?: Promise<string> }
      document.querySelector('#go')!.addEventListener('click', () => {
        w.__result = R.popupStrategy({
          signal: AbortSignal.timeout(15_000),
          error: new Error('lost session'),
          url: `${location.origin}/oauth2/start?mode=${mode}&rd=%2Flanding`,
          returnTo: '/landing',
          isLanding: R.createLandingCheck({
            origin: location.origin,
            profile: { ownPaths: ['/oauth2/'], isSignInUrl: (u: URL) => u.pathname.startsWith('/oauth2/') },
            callbackPath: '/landing',
          }),
        }).then(
          () => 'ok',
          (e: { reason?: string; message: string }) => e.reason ?? e.message,
        )
      })
    }, mode)
  const result = () => page.evaluate(() => (window as unknown as { __result?: Promise<string> }).__result)

  it('opened from a click: the user signs in on the provider, lands, the popup closes', async () => {
    await armPopup('user-signs-in')
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#go')])
    await popup.waitForEvent('close', { timeout: 10_000 })
    expect(await result()).toBe('ok')
    expect(context.pages()).toHaveLength(1)
  })

  it("the user closes the popup → 'popup-closed'", async () => {
    await armPopup('page')
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#go')])
    await popup.waitForLoadState()
    await popup.close()
    expect(await result()).toBe('popup-closed')
  })

  it("without a user gesture → 'no-user-gesture' and no window is opened", async () => {
    // page.evaluate() runs with a user gesture in Chromium and Firefox; a script the page runs on its
    // own at load has none (`?autorun=popup`, see reauth-harness.ts).
    const fresh = await context.newPage()
    let opened = 0
    fresh.on('popup', () => opened++)
    await fresh.goto(`${stack.app}/app?autorun=popup`)
    const r = await fresh.evaluate(() => (window as unknown as { __result?: Promise<unknown> }).__result)
    expect(r).toEqual({ outcome: 'no-user-gesture', active: false })
    await fresh.waitForTimeout(200)
    expect(opened).toBe(0)
  })
})
