/**
 * Scenarios that run on either bed, the emulated stack or the real oauth2-proxy (issue 21.3): the same
 * page-side code, the same numbers, so a deployment's real row and its emulated twin compare directly.
 * A `Bed` says how to reach the app, lose the session and count the proxy's traffic on one stack.
 */
import type { BrowserContext, Page } from './driver/types.js'
import { CSRF_PER_REQUEST, cookieNames, signIn } from './harness.js'
import type { Adapter, Outcome } from './sdk.js'
import { awaitCall, countOf, events, setupSdk, startCalls } from './sdk.js'

/** What a scenario needs of a stack. */
export interface Bed {
  /** The app's origin in the deployment under test. */
  base(): string
  /** End the session the way this deployment does (drop the cookie, revoke, let the ID token expire…). */
  lose(): Promise<void>
  /** The proxy's traffic from now on: call the returned function to read it. */
  mark(): () => { records: readonly { path: string; csrfMinted: number }[] }
}

export interface StormOptions {
  adapter: Adapter
  /** Requests fired in the same task once the session is gone. */
  n: number
  /** JSON-safe `createReauth()` options. */
  options?: Record<string, unknown>
  /** The longest a request may take to settle (every request must settle). */
  limitMs?: number
}

/** One row of the closing table: what the app saw and what it cost. */
export interface StormRow {
  outcomes: Record<string, number>
  /** Requests that did not get their data (an SDK 401, an error, or still pending at `limitMs`). */
  lost: number
  pending: number
  /** The SDK's re-logins (`reauth:start` in the page) and the sign-in flows the proxy saw for them. */
  relogins: number
  reloginStarts: number
  /** CSRF cookies the proxy minted during the storm, and those the browser holds at its end. */
  csrfMinted: number
  csrfHeld: number
  /** From the first request sent after the loss to the last answer. */
  msToLastAnswer: number
}

const label = (o: Outcome | 'pending'): string =>
  o === 'pending' ? 'pending' : o.ok ? String(o.status) : `${o.status}:${o.reason ?? o.name}`

/** The SDK's own re-login start: `/oauth2/start` with `rd` = the page's path (encoded). */
export const isSdkRelogin = (path: string): boolean => path === '/oauth2/start?rd=%2Fapp.html'

/**
 * Sign in, set the SDK up, lose the session, fire `n` requests at once through one adapter; every
 * request must settle with the data.
 */
export async function sdkStorm(
  page: Page,
  context: BrowserContext,
  bed: Bed,
  o: StormOptions,
): Promise<StormRow> {
  await signIn(page, bed.base())
  await setupSdk(page, { adapter: o.adapter, ...(o.options ? { options: o.options } : {}) })
  await bed.lose()
  const read = bed.mark()
  const t0 = Date.now()
  const ids = await startCalls(
    page,
    o.adapter,
    Array.from({ length: o.n }, (_, i) => ({ url: `/api/items?n=${i}` })),
  )
  const results = await Promise.all(ids.map((id) => awaitCall(page, id, o.limitMs ?? 30_000)))
  const msToLastAnswer = Date.now() - t0
  const outcomes: Record<string, number> = {}
  for (const r of results) outcomes[label(r)] = (outcomes[label(r)] ?? 0) + 1
  const { records } = read()
  const ev = await events(page)
  return {
    outcomes,
    lost: results.filter((r) => r === 'pending' || !r.ok).length,
    pending: results.filter((r) => r === 'pending').length,
    relogins: countOf(ev, 'reauth:start'),
    reloginStarts: records.filter((r) => isSdkRelogin(r.path)).length,
    csrfMinted: records.reduce((n, r) => n + r.csrfMinted, 0),
    csrfHeld: (await cookieNames(context, CSRF_PER_REQUEST)).length,
    msToLastAnswer,
  }
}

/** The wake-up scenario (wake.e2e.ts, real-sdk.e2e.ts): what the app's refetch-on-focus burst got. */
export interface Burst {
  outcomes: { status: number; items: boolean; ms: number }[]
  /** `performance.now()` of the visibilitychange. */
  shownAt: number
}

/**
 * In the page: the visibility override and an app's refetch-on-focus handler (on `document`, as
 * TanStack Query and SWR listen), sending `n` GETs when the page becomes visible.
 */
export async function installApp(page: Page, n: number): Promise<void> {
  await page.evaluate((n) => {
    const w = window as any
    let state: 'visible' | 'hidden' = 'visible'
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' })
    w.__setVisibility = (s: 'visible' | 'hidden') => {
      state = s
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))
    }
    w.__round = 0
    // 50 requests a round overflow the default buffer of 250 entries: the probe's entry must be kept
    performance.setResourceTimingBufferSize(100_000)
    document.addEventListener('visibilitychange', () => {
      if (state !== 'visible') return
      const round = ++w.__round
      const shownAt = performance.now()
      const viaXhr = (url: string) =>
        new Promise<{ status: number; body: any }>((resolve) => {
          const x = new XMLHttpRequest()
          x.open('GET', url)
          x.onloadend = () => {
            let body = null
            try {
              body = JSON.parse(x.responseText)
            } catch {}
            resolve({ status: x.status, body })
          }
          x.send()
        })
      const viaFetch = (url: string) =>
        fetch(url).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }))
      w.__burst = Promise.all(
        // half through fetch, half through XHR (both patched by install())
        Array.from({ length: n }, (_, i) =>
          (i % 2 ? viaXhr : viaFetch)(`/api/items?wake=${round}-${i}`).then(
            ({ status, body }) => ({
              status,
              items: Array.isArray(body?.items),
              ms: Math.round(performance.now() - shownAt),
            }),
            () => ({ status: 0, items: false, ms: Math.round(performance.now() - shownAt) }),
          ),
        ),
      ).then((outcomes) => ({ outcomes, shownAt }))
    })
  }, n)
}

/** Hide the page for `ms`, (optionally) end the session meanwhile, show it: the burst's outcome. */
export async function comeBack(
  page: Page,
  ms: number,
  meanwhile: () => void | Promise<void> = () => {},
): Promise<Burst> {
  if (ms === 0) {
    // in one task: a driver round trip between the two could itself outlast `wake.afterMs` on a busy machine
    await page.evaluate(() => {
      ;(window as any).__setVisibility('hidden')
      ;(window as any).__setVisibility('visible')
    })
  } else {
    await page.evaluate(() => (window as any).__setVisibility('hidden'))
    await meanwhile()
    await page.waitForTimeout(ms)
    await page.evaluate(() => (window as any).__setVisibility('visible'))
  }
  return page.evaluate(() => (window as any).__burst as Promise<Burst>)
}
