/**
 * The wake-up check (issue #16): a person comes back to a tab whose session died meanwhile, and the
 * app refetches everything on focus. The page is hidden and made visible by overriding
 * `document.visibilityState` and dispatching `visibilitychange` (the same in every browser, no driver
 * support needed); the app's refetch-on-focus handler sends 50 requests in that event (half fetch,
 * half XHR). With the check,
 * the session probe runs first and holds them: 1 re-login, at most 1 CSRF cookie, and no request of the
 * app reaches the proxy with the dead cookie. With a healthy session: 0 re-logins, one probe, and the
 * latency it adds is reported.
 */

import { describe, expect, it } from 'vitest'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import { type Burst, comeBack, installApp } from './scenarios.js'
import { countOf, events, setupSdk } from './sdk.js'

const e = setupE2E()
const N = 50
/** Small in the tests: "a long absence" is then a wait of a few hundred ms. */
const AFTER_MS = 300
const OPTIONS = { wake: { afterMs: AFTER_MS, holdMs: 1500 } }

function counters() {
  const c = e.stack.proxy.behaviour.counters
  return {
    sessionsCreated: c.sessionsCreated,
    callbacks: c.callbacks,
    signInStarts: c.signInStarts,
    csrf: c.csrfCookiesMinted,
  }
}

/** The app's own requests (directly, or as nginx's auth_request subrequest) since record `from`. */
function appRequests(from: number) {
  return e.stack.proxy.requests
    .slice(from)
    .filter((r) => r.path.startsWith('/api/') || (r.originalUri ?? '').startsWith('/api/'))
}
/** Session probes (`/oauth2/auth` itself, not nginx's subrequest for another path) since record `from`. */
function probesSince(from: number) {
  return e.stack.proxy.requests
    .slice(from)
    .filter(
      (r) =>
        r.path.startsWith('/oauth2/auth') && (r.originalUri ?? '/oauth2/auth').startsWith('/oauth2/auth'),
    )
}
/** An app request the proxy turned away: it carried the dead cookie. */
const deadCookie = (from: number): number =>
  appRequests(from).filter((r) => r.status !== null && [302, 401, 403].includes(r.status)).length

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0

const MODES = [
  { mode: 'nginx-front', nginx: true, proxy: { csrfPerRequest: true } },
  { mode: 'skip-provider-button', nginx: false, proxy: { skipProviderButton: true, csrfPerRequest: true } },
] as const

describe.each(MODES)('wake-up check, $mode', ({ mode, nginx, proxy }) => {
  const base = (): string => {
    const url = nginx ? e.stack.nginxUrl : e.stack.appUrl
    if (!url) throw new Error('nginx is not running (missing /usr/sbin/nginx)')
    return url
  }

  it(`session expired while hidden: ${N} refetches on focus → 1 re-login, ≤ 1 CSRF cookie, 0 requests with the dead cookie, all get their data`, async () => {
    e.stack.proxy.set(proxy)
    await signIn(e.page, base())
    await setupSdk(e.page, { adapter: 'fetch', options: OPTIONS })
    await installApp(e.page, N)
    const before = counters()
    const from = e.stack.proxy.requests.length
    const burst = await comeBack(e.page, AFTER_MS + 200, () => void e.stack.proxy.expireSession())
    const after = counters()
    const ev = await events(e.page)
    const result = {
      ok: burst.outcomes.filter((o) => o.status === 200 && o.items).length,
      reLogins: after.sessionsCreated - before.sessionsCreated,
      signInStarts: after.signInStarts - before.signInStarts,
      csrfCookiesMinted: after.csrf - before.csrf,
      deadCookieRequests: deadCookie(from),
      probes: probesSince(from).length,
      required: ev.filter((x) => x.type === 'reauth:required').map((x) => x.reason),
      starts: countOf(ev, 'reauth:start'),
      msToLastAnswer: Math.max(...burst.outcomes.map((o) => o.ms)),
    }
    report(`wake-expired-${mode}`, result)
    expect(result.ok).toBe(N)
    expect(result.reLogins).toBe(1)
    expect(result.csrfCookiesMinted).toBeLessThanOrEqual(1)
    expect(result.deadCookieRequests).toBe(0)
    expect(result.required).toEqual(['session-check'])
    expect(result.starts).toBe(1)
  })

  it(`healthy session: ${N} refetches on focus → 0 re-logins, one probe; the latency it adds is reported`, async () => {
    e.stack.proxy.set(proxy)
    await signIn(e.page, base())
    await setupSdk(e.page, { adapter: 'fetch', options: OPTIONS })
    await installApp(e.page, N)
    // warm the connections, as an app that ran before the break would have
    await comeBack(e.page, 0)
    const before = counters()
    const rounds: {
      check: Burst
      plain: Burst
      probes: number
      probesWithoutCheck: number
      holdMs: number | null
    }[] = []
    for (let round = 0; round < 3; round++) {
      const from = e.stack.proxy.requests.length
      const check = await comeBack(e.page, AFTER_MS + 200)
      const probes = probesSince(from).length
      // how long the requests were held: from the visibilitychange to the probe's answer
      const holdMs = await e.page.evaluate<number | null, number>(async (shownAt) => {
        // WebKit adds the entry a little after the answer: poll for this round's
        for (let i = 0; i < 50; i++) {
          const probe = performance
            .getEntriesByType('resource')
            .find((x) => x.name.endsWith('/oauth2/auth') && x.startTime >= shownAt - 1) as
            | PerformanceResourceTiming
            | undefined
          if (probe) return Math.round(probe.responseEnd - shownAt)
          await new Promise((r) => setTimeout(r, 20))
        }
        return null
      }, check.shownAt)
      // the same return, too short for a check: the baseline
      const mid = e.stack.proxy.requests.length
      const plain = await comeBack(e.page, 0)
      const extra = probesSince(mid)
      if (extra.length) {
        // what sent it: the records around it and the page's SDK events
        console.log(
          `[e2e] wake-healthy-${mode}: probe without a check`,
          JSON.stringify(extra),
          JSON.stringify(await events(e.page)),
        )
      }
      rounds.push({ check, plain, probes, probesWithoutCheck: extra.length, holdMs })
    }
    const after = counters()
    const ev = await events(e.page)
    const ms = (b: Burst) => b.outcomes.map((o) => o.ms)
    const med = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f))
    const result = {
      ok: rounds
        .flatMap((r) => [...r.check.outcomes, ...r.plain.outcomes])
        .filter((o) => o.status === 200 && o.items).length,
      reLogins: after.sessionsCreated - before.sessionsCreated,
      probesPerCheck: rounds.map((r) => r.probes),
      probesWithoutCheck: rounds.map((r) => r.probesWithoutCheck),
      holdMs: rounds.map((r) => r.holdMs),
      firstAnswerMs: {
        check: med((r) => Math.min(...ms(r.check))),
        none: med((r) => Math.min(...ms(r.plain))),
      },
      medianMs: { check: med((r) => median(ms(r.check))), none: med((r) => median(ms(r.plain))) },
      lastMs: { check: med((r) => Math.max(...ms(r.check))), none: med((r) => Math.max(...ms(r.plain))) },
      required: countOf(ev, 'reauth:required'),
    }
    report(`wake-healthy-${mode}`, result)
    expect(result.ok).toBe(2 * 3 * N)
    expect(result.reLogins).toBe(0)
    expect(result.probesPerCheck).toEqual([1, 1, 1])
    expect(result.probesWithoutCheck).toEqual([0, 0, 0])
    expect(result.required).toBe(0)
  })
})

it('two tabs come back online at once: one probe in the browser', async () => {
  await signIn(e.page, e.stack.appUrl)
  const second = await e.context.newPage()
  await second.goto(`${e.stack.appUrl}/app.html`)
  const pages = [e.page, second]
  for (const p of pages) await setupSdk(p, { adapter: 'fetch', options: OPTIONS })
  const from = e.stack.proxy.requests.length
  const answers = await Promise.all(
    pages.map((p) =>
      p.evaluate(() => {
        window.dispatchEvent(new Event('online'))
        return fetch('/api/items').then((r) => r.status)
      }),
    ),
  )
  // give a late second probe the time to show up
  await e.page.waitForTimeout(300)
  const probes = probesSince(from).length
  report('wake-online-two-tabs', { answers, probes })
  expect(answers).toEqual([200, 200])
  expect(probes).toBe(1)
})
