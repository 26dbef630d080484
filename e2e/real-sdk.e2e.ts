/**
 * The SDK against the real oauth2-proxy binary (scripts/oauth2-proxy.version), issue 21 items 5 and 3:
 * what the real binary shows the SDK, per documented deployment and front. The emulated twins of these
 * scenarios are in sdk-session.e2e.ts (not-allowed) and the storm / latency / relogin files.
 */
import { describe, expect, it } from 'vitest'
import type { RealE2E } from './harness.js'
import { dropSessionCookie, setupE2E, signIn, useDeployment } from './harness.js'
import { report } from './report.js'
import { comeBack, installApp } from './scenarios.js'
import type { Adapter } from './sdk.js'
import { call, countOf, events, setupSdk } from './sdk.js'
import type { RealDeployment, RealFront } from './server/real.js'

const e: RealE2E = setupE2E({ proxy: 'real' })

const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}

/** Fail-fast memory off and the circuit out of reach: only the not-allowed outcome can stop a loop. */
const NO_MEMORY = { circuit: { failures: 100, cooldownMs: 0 } }
/** The real binary's documented denial: alice@example.com is outside the allowed domain. */
const DENY = { 'email-domain': 'example.org' }
/** Adapters here: the two the browser implements (axios and ky translate over them, see sdk.ts). */
const REAL_ADAPTERS: Adapter[] = ['fetch', 'xhr']

const outcomes = async (adapter: Adapter, n: number): Promise<string[]> => {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await call(e.page, adapter, '/api/items')
    out.push(r.ok ? String(r.status) : `${r.status}:${r.reason}`)
  }
  return out
}

/** The SDK's own re-logins: `/oauth2/start` with `rd` = the page's path, encoded (data requests' carry theirs). */
const sdkRelogins = (from: number): number =>
  e.stack.real.requests.slice(from).filter((q) => q.path === '/oauth2/start?rd=%2Fapp.html').length

const callbackStatuses = (from: number): (number | null)[] =>
  e.stack.real.requests
    .slice(from)
    .filter((q) => q.path.startsWith('/oauth2/callback'))
    .map((q) => q.status)

interface NotAllowedCase {
  name: string
  front: RealFront
  flags: Record<string, string | boolean>
  /** What the data request sees once the user is refused: the proxy's 403, or a redirect of the front. */
  relogins: number
}
const notAllowedCases: NotAllowedCase[] = [
  { name: 'direct: the 403 error page', front: 'direct', flags: {}, relogins: 0 },
  {
    name: 'direct, --force-json-errors: 403 {}',
    front: 'direct',
    flags: { 'force-json-errors': true },
    relogins: 0,
  },
  { name: 'nginx → /oauth2/sign_in', front: 'nginx', flags: {}, relogins: 1 },
  { name: 'nginx (ingress style) → /oauth2/start', front: 'nginx-start', flags: {}, relogins: 1 },
  { name: 'Caddy forward_auth → /oauth2/sign_in', front: 'caddy', flags: {}, relogins: 1 },
]

describe.each(REAL_ADAPTERS)('real oauth2-proxy, sdk %s: signed in but not allowed', (adapter) => {
  it.each(notAllowedCases.map((c) => [c.name, c] as const))(
    "%s: every call ends as 'not-allowed'; at most one re-login, never a loop",
    async (_name, c) => {
      const allowed: RealDeployment = { front: c.front, flags: c.flags }
      await useDeployment(e, allowed)
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter, options: NO_MEMORY })
      // (behind nginx and Caddy the app gets no user header: the fronts' recipes do not pass it)
      expect(await call(e.page, adapter, '/api/items')).toMatchObject({
        ok: true,
        data: { items: ITEMS.items },
      })
      // The same cookie secret: the session still decodes, and now fails the email check.
      await useDeployment(e, { front: c.front, flags: { ...c.flags, ...DENY } })
      const from = e.stack.real.requests.length
      const calls = await outcomes(adapter, 4)
      const ev = await events(e.page)
      const relogins = sdkRelogins(from)
      const callbacks = callbackStatuses(from)
      report(`real-not-allowed-${c.front}${c.flags['force-json-errors'] ? '-json' : ''}-${adapter}`, {
        calls,
        relogins,
        callbacks,
        events: ev.map((x) => (x.reason ? `${x.type}(${x.reason})` : x.type)),
      })
      expect(calls).toEqual(Array(4).fill('401:not-allowed'))
      expect(relogins).toBe(c.relogins)
      expect(callbacks).toEqual(Array(c.relogins).fill(403))
      expect(countOf(ev, 'reauth:start')).toBe(c.relogins)
      expect(countOf(ev, 'reauth:interaction-required')).toBe(0)
      expect(countOf(ev, 'reauth:required')).toBe(1)
      if (c.relogins > 0) {
        const failure = ev.filter((x) => x.type === 'reauth:failure')
        expect(failure).toHaveLength(1)
        expect(failure[0]?.error).toMatch(/^AuthRequiredError: .*not-allowed/)
      }
      expect(await e.page.locator('iframe[data-ajax-reauth]').count()).toBe(0)
    },
  )
})

describe.each(REAL_ADAPTERS)('real oauth2-proxy, sdk %s: the session dies at the ID token exp', (adapter) => {
  it('recovered silently: one re-login, the data, no request lost', async () => {
    await useDeployment(e, 'idTokenExpiry')
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    expect(await call(e.page, adapter, '/api/items')).toMatchObject({ ok: true, data: ITEMS })
    // ID tokens live 4 s (the deployment): wait until the session's has expired.
    await new Promise((r) => setTimeout(r, 5_000))
    const from = e.stack.real.requests.length
    const r = await call(e.page, adapter, '/api/items')
    const ev = await events(e.page)
    report(`real-id-token-exp-${adapter}`, {
      outcome: r.ok ? r.status : `${r.status}:${r.reason}`,
      ms: r.ms,
      relogins: sdkRelogins(from),
      callbacks: callbackStatuses(from),
      events: ev.map((x) => (x.reason ? `${x.type}(${x.reason})` : x.type)),
    })
    expect(r).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(countOf(ev, 'reauth:required')).toBe(1)
    expect(countOf(ev, 'reauth:success')).toBe(1)
    expect(sdkRelogins(from)).toBe(1)
    expect(callbackStatuses(from)).toEqual([302])
  })
})

/**
 * The wake-up check (wake.e2e.ts's scenario) on the real binary: the session cookie goes while the tab is
 * hidden, the app refetches 20 requests on focus; the check's probe holds them, one re-login, and no app
 * request reaches the proxy with the dead cookie. Behind nginx → /oauth2/start with CSRF cookies per
 * request (every request turned away would mint one), and with --skip-provider-button.
 */
describe('real oauth2-proxy: the wake-up check', () => {
  const N = 20
  const deployments: [string, RealDeployment][] = [
    [
      'nginx → start + csrf per request',
      { front: 'nginx-start', flags: { 'cookie-csrf-per-request': true } },
    ],
    [
      'skip-provider-button + csrf per request',
      { flags: { 'skip-provider-button': true, 'cookie-csrf-per-request': true } },
    ],
  ]
  it.each(deployments)(
    '%s: 1 re-login, ≤ 1 CSRF cookie, no request with the dead cookie',
    async (name, d) => {
      await useDeployment(e, d)
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter: 'fetch', options: { wake: { afterMs: 300, holdMs: 1500 } } })
      await installApp(e.page, N)
      const from = e.stack.real.requests.length
      const burst = await comeBack(e.page, 500, async () => void (await dropSessionCookie(e.context)))
      const records = e.stack.real.requests.slice(from)
      const app = records.filter(
        (r) => r.path.startsWith('/api/') || (r.originalUri ?? '').startsWith('/api/'),
      )
      const ev = await events(e.page)
      const result = {
        ok: burst.outcomes.filter((o) => o.status === 200 && o.items).length,
        relogins: sdkRelogins(from),
        csrfMinted: records.reduce((n, r) => n + r.csrfMinted, 0),
        deadCookieRequests: app.filter((r) => r.status !== null && [302, 401, 403].includes(r.status)).length,
        required: ev.filter((x) => x.type === 'reauth:required').map((x) => x.reason),
        starts: countOf(ev, 'reauth:start'),
        msToLastAnswer: Math.max(...burst.outcomes.map((o) => o.ms)),
      }
      report(`real-wake ${name}`, result)
      expect(result.ok).toBe(N)
      expect(result.relogins).toBe(1)
      expect(result.starts).toBe(1)
      expect(result.csrfMinted).toBeLessThanOrEqual(1)
      expect(result.deadCookieRequests).toBe(0)
      expect(result.required).toEqual(['session-check'])
    },
  )
})
