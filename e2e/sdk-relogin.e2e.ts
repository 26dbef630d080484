/**
 * With the SDK, when the re-login itself cannot simply work: the provider session ended (iframe →
 * interaction required, popup after a real click), the circuit breaker, the provider down, framing
 * refused, popup blocked, an abort during the gate, `uninstall()` mid-flight. Nothing may hang.
 */
import { describe, expect, it } from 'vitest'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import type { Outcome } from './sdk.js'
import {
  ADAPTERS,
  awaitCall,
  call,
  countOf,
  events,
  releaseRelogin,
  sdkState,
  setupSdk,
  startCall,
  startCalls,
  waitForEvent,
} from './sdk.js'

const e = setupE2E({ nginx: false })
const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}
/** Generous: every promise must settle well before this. */
const LIMIT_MS = 15_000

async function settleAll(ids: number[], label: string): Promise<(Outcome | 'pending')[]> {
  const out = await Promise.all(ids.map((id) => awaitCall(e.page, id, LIMIT_MS)))
  const pending = out.flatMap((o, i) => (o === 'pending' ? [i] : []))
  if (pending.length)
    console.log(`[e2e] ${label}: calls still pending after ${LIMIT_MS} ms: ${pending.join(', ')}`)
  return out
}

describe('provider session ended', () => {
  it('iframe strategy: reauth:interaction-required quickly (well before reloginTimeoutMs); a real click on start() completes it in a popup', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: 10_000 } })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const r = await call(e.page, 'fetch', '/api/items')
    expect(r).toMatchObject({ ok: false, name: 'AuthRequiredError', reason: 'unauthorized' })
    const ev = await events(e.page)
    const required = ev.find((x) => x.type === 'reauth:required')
    const interaction = ev.find((x) => x.type === 'reauth:interaction-required')
    // The frame stops on the provider's login form, unreadable, the app still signed out.
    expect(interaction?.reason).toBe('provider-session-unseen')
    const ms = Math.round((interaction?.t ?? 0) - (required?.t ?? 0))
    expect(ms).toBeLessThan(3_000)
    expect(r.ms).toBeLessThan(3_000)

    // a human clicks "Sign in again": start() runs in the click handler → popup → provider form → back
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    await popup.click('#login')
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    // The SDK closed it; WebKit's driver notices a closed window by polling.
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 5_000 })
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(e.stack.idp.counters.interactiveLogins).toBe(1)
    report('sdk-provider-session-ended', { requestMs: r.ms, requiredToInteractionMs: ms, popup: 'ok' })
  })

  it('interactive popup: the user at the provider form longer than reloginTimeoutMs is not cut off; start() resolves once they sign in', async () => {
    const timeoutMs = 500
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: timeoutMs } })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const r = await call(e.page, 'fetch', '/api/items')
    expect(r).toMatchObject({ ok: false, name: 'AuthRequiredError', reason: 'unauthorized' })
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    // The user types a password, does MFA: a timer of the page, set after the flight's own, fires after it.
    await e.page.evaluate((ms) => new Promise((resolve) => setTimeout(resolve, ms)), timeoutMs * 4)
    expect(popup.isClosed()).toBe(false)
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('pending')
    await popup.click('#login')
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    // The SDK closed it; WebKit's driver notices a closed window by polling.
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 5_000 })
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(e.stack.idp.counters.interactiveLogins).toBe(1)
  })

  it("popup strategy: without a gesture 'no-user-gesture'; start() from a page.click opens the popup and signs in", async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'popup' } })
    e.stack.proxy.expireSession()
    const r = await call(e.page, 'fetch', '/api/items', { noGesture: true })
    expect(r).toMatchObject({ ok: false, name: 'AuthRequiredError', reason: 'unauthorized' })
    const ev = await events(e.page)
    expect(ev.find((x) => x.type === 'reauth:interaction-required')?.reason).toBe('no-user-gesture')
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    await popupPromise
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
  })

  it("redirect strategy with sessionStorage full: the redirect cannot be counted, so none is made; interaction-required('too-many-redirects')", async () => {
    await signIn(e.page, e.stack.appUrl)
    const appUrl = e.page.url()
    // Fill the tab's sessionStorage to the browser's own quota: the next setItem throws.
    const full = await e.page.evaluate(() => {
      let n = 0
      for (let size = 1 << 20; size >= 1; ) {
        try {
          sessionStorage.setItem(`fill-${n++}`, 'x'.repeat(size))
        } catch {
          size >>= 1
        }
      }
      try {
        sessionStorage.setItem('probe', '[1]')
        return false
      } catch (error) {
        return (error as Error).name
      }
    })
    expect(full).toBeTruthy()
    await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'redirect' } })
    e.stack.proxy.expireSession()
    const starts = e.stack.proxy.behaviour.counters.signInStarts
    const outcomes = []
    for (let i = 0; i < 4; i++) outcomes.push(await call(e.page, 'fetch', `/api/items?n=${i}`))
    for (const r of outcomes) expect(r).toMatchObject({ ok: false, name: 'AuthRequiredError', status: 401 })
    expect(e.page.url()).toBe(appUrl)
    expect(e.stack.proxy.behaviour.counters.signInStarts).toBe(starts)
    const ev = await events(e.page)
    expect(ev.find((x) => x.type === 'reauth:interaction-required')?.reason).toBe('too-many-redirects')
  })

  it("circuit: the user's own re-logins failing too open it; requests fail fast and send nothing; a re-login closes it", async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { circuit: { failures: 2, cooldownMs: 1_500 } } })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const starts = () => e.stack.proxy.behaviour.counters.signInStarts
    const relogin = () =>
      e.page.evaluate(() =>
        (window as any).__sdk.reauth.relogin().then(
          () => 'ok',
          () => 'failed',
        ),
      )
    const before = starts()
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ reason: 'unauthorized' })
    // The user must sign in: no request goes out, no silent re-login starts, however long.
    const sent = e.stack.proxy.requests.length
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ reason: 'unauthorized' })
    expect(e.stack.proxy.requests.length).toBe(sent)
    expect(starts() - before).toBe(1)
    expect(await relogin()).toBe('failed')
    await waitForEvent(e.page, 'circuit:open')
    expect(await sdkState(e.page)).toBe('circuit-open')
    const fast = await call(e.page, 'fetch', '/api/items')
    expect(fast).toMatchObject({ ok: false, name: 'AuthRequiredError', reason: 'circuit-open' })
    expect(starts() - before).toBe(2)
    // cooldown over, the provider session is back: a re-login closes the circuit
    await e.page.waitForFunction(() => (window as any).__sdk.reauth.state === 'idle', null, {
      timeout: 5_000,
    })
    e.stack.idp.setAutoLogin(true)
    expect(await relogin()).toBe('ok')
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
    const ev = await events(e.page)
    expect(ev.filter((x) => x.type.startsWith('circuit:')).map((x) => x.type)).toEqual([
      'circuit:open',
      'circuit:close',
    ])
    expect(starts() - before).toBe(3)
  })
})

// Issue 24 item 2: after interaction-required, every in-scope request could only fail (behind a
// redirecting front each one would mint a CSRF cookie and hit the provider): none goes out.
describe.each(ADAPTERS)('%s: while the user must sign in', (adapter) => {
  it("requests settle at once with the client's 401 and send nothing; after the sign-in they go out", async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    expect(await call(e.page, adapter, '/api/items')).toMatchObject({ ok: false, status: 401 })
    await waitForEvent(e.page, 'reauth:interaction-required')
    const sent = e.stack.proxy.requests.length
    const ids = await startCalls(
      e.page,
      adapter,
      [1, 2, 3].map((n) => ({ url: `/api/items?n=${n}` })),
    )
    const out = await settleAll(ids, `${adapter} while the user must sign in`)
    const seen = {
      outcomes: out.map((o) => (o === 'pending' ? o : `${o.status}:${o.ok ? 'ok' : o.reason}`)),
      reachedProxy: e.stack.proxy.requests.length - sent,
    }
    report(`sdk-sign-in-required-${adapter}`, seen)
    expect(seen).toEqual({ outcomes: Array(3).fill('401:unauthorized'), reachedProxy: 0 })
    const ev = await events(e.page)
    expect(countOf(ev, 'reauth:required')).toBe(1)
    expect(countOf(ev, 'reauth:interaction-required')).toBe(1)
    expect(countOf(ev, 'reauth:start')).toBe(1)

    // A human clicks "Sign in again": popup → provider form → back; requests go out again.
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    await popup.click('#login')
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 5_000 })
    expect(await call(e.page, adapter, '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
  })
})

describe('while the user must sign in, in two tabs', () => {
  it('the user signs in from the other tab: this one hears reauth:success (leader: false) and sends again', async () => {
    await signIn(e.page, e.stack.appUrl)
    const second = await e.context.newPage()
    await second.goto(`${e.stack.appUrl}/app.html`)
    await setupSdk(e.page, { adapter: 'fetch' })
    await setupSdk(second, { adapter: 'fetch' })
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    // Each tab finds the session lost; its silent re-login meets the provider's login form.
    for (const page of [e.page, second]) {
      expect(await call(page, 'fetch', '/api/items')).toMatchObject({ ok: false, status: 401 })
      await waitForEvent(page, 'reauth:interaction-required')
    }
    const sent = e.stack.proxy.requests.length
    expect(await call(second, 'fetch', '/api/items')).toMatchObject({ ok: false, status: 401 })
    expect(e.stack.proxy.requests.length).toBe(sent)

    // A human clicks "Sign in again" in the first tab: popup → provider form → back.
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await popup.waitForURL(/\/interaction\//)
    await popup.click('#login')
    await waitForEvent(second, 'reauth:success')
    const ev = await events(second)
    expect(ev.filter((x) => x.type === 'reauth:success').map((x) => x.leader)).toEqual([false])
    expect(await call(second, 'fetch', '/api/items')).toMatchObject({ ok: true, status: 200, data: ITEMS })
    expect(countOf(ev, 'reauth:start')).toBe(1)
  })
})

describe('nothing hangs', () => {
  it('provider down (connection refused): the request settles, interaction/failure reported', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { reloginTimeoutMs: 8_000 } })
    e.stack.setIdpDown(true)
    e.stack.proxy.expireSession()
    const ids = [
      await startCall(e.page, 'fetch', '/api/items'),
      await startCall(e.page, 'xhr', '/api/items'),
      await startCall(e.page, 'fetch', '/api/items?b=1'),
    ]
    const out = await settleAll(ids, 'provider-down')
    const ev = await events(e.page)
    report('sdk-provider-down', {
      outcomes: out.map((o) => (o === 'pending' ? o : o.ok ? o.status : `${o.status}:${o.reason}`)),
      ms: out.map((o) => (o === 'pending' ? null : o.ms)),
      events: ev.map((x) => (x.reason ? `${x.type}(${x.reason})` : x.type)),
    })
    expect(out.filter((o) => o === 'pending')).toEqual([])
    for (const o of out) expect(o).toMatchObject({ ok: false, status: 401, reason: 'unauthorized' })
    expect(countOf(ev, 'reauth:failure')).toBe(1)
    expect(countOf(ev, 'reauth:start')).toBe(1)
  })

  it("the app's pages refuse framing (frame-ancestors 'none'): the session is renewed anyway, the probe confirms it, the data arrives", async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch' })
    e.stack.upstream.frameAncestors = "'none'"
    e.stack.proxy.expireSession()
    const id = await startCall(e.page, 'fetch', '/api/items')
    const [out] = await settleAll([id], 'frame-ancestors')
    const ev = await events(e.page)
    report('sdk-frame-ancestors-none', {
      outcome: out === 'pending' ? out : out?.ok ? out.status : `${out?.status}:${out?.reason}`,
      sessionsCreated: e.stack.proxy.behaviour.counters.sessionsCreated,
      events: ev.map((x) => (x.reason ? `${x.type}(${x.reason})` : x.type)),
    })
    expect(out).not.toBe('pending')
    // the callback did set a new session cookie (2 = the test's sign-in + the iframe's)
    expect(e.stack.proxy.behaviour.counters.sessionsCreated).toBe(2)
    expect(out).toMatchObject({ ok: true, status: 200, data: ITEMS })
  })

  it('popup blocked: start() outside a user gesture settles at once', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'popup' } })
    e.stack.proxy.expireSession()
    const r = await call(e.page, 'fetch', '/api/items', { noGesture: true })
    expect(r).toMatchObject({ ok: false, reason: 'unauthorized' })
    const started = await e.page.evaluate(
      (limit) =>
        Promise.race([
          // consume Playwright's emulated gesture first: this start() runs outside any user gesture
          Promise.resolve(window.open('about:blank', '_blank')?.close()).then(() => new Promise(() => {})),
          (window as any).__start().then(
            () => 'resolved',
            (err: Error) => `rejected: ${err.name}`,
          ),
          new Promise((res) => setTimeout(() => res('pending'), limit)),
        ]),
      LIMIT_MS,
    )
    expect(started).toBe('rejected: InteractionRequiredError')
    expect(
      e.context.pages().filter((p) => p.url().includes('/oauth2/') || p.url().startsWith(e.stack.idpUrl)),
    ).toEqual([])
    const ev = await events(e.page)
    // start() without a gesture rejects at once and starts no flight: no second event, no loop
    expect(ev.filter((x) => x.type === 'reauth:interaction-required').map((x) => x.reason)).toEqual([
      'no-user-gesture',
    ])
  })

  describe.each(ADAPTERS)('%s', (adapter) => {
    it('abort during the gate and in the queue rejects at once; the rest get the data after the re-login', async () => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter, relogin: 'held' })
      e.stack.proxy.expireSession()
      // both sent in the same task: both get the 401 and wait in the queue for the held re-login
      const [queued, queuedAbortable] = (await startCalls(e.page, adapter, [
        { url: '/api/items?q=1' },
        { url: '/api/items?q=2', init: { abortable: true } },
      ])) as [number, number]
      // reauth:required fires once per episode: wait until the proxy answered both, then for the verdicts
      await waitForEvent(e.page, 'reauth:required', 1, 10_000)
      for (let i = 0; i < 100; i++) {
        const answered = e.stack.proxy.requests.filter(
          (q) => /^\/api\/items\?q=[12]$/.test(q.path) && q.answeredAt !== null,
        )
        if (answered.length >= 2) break
        await new Promise((r) => setTimeout(r, 50))
      }
      await new Promise((r) => setTimeout(r, 200))
      expect(await sdkState(e.page)).toBe('reauthenticating')
      const gated = await startCall(e.page, adapter, '/api/items?g=1', { abortable: true })
      const gatedKept = await startCall(e.page, adapter, '/api/items?g=2')
      // abort the two abortable ones while the flight is held
      await e.page.evaluate(() => {
        for (const c of (window as any).__controllers) c.abort()
      })
      const [a1, a2] = await settleAll([queuedAbortable, gated], `abort-${adapter}`)
      const brief = (o: Outcome | 'pending' | undefined) =>
        !o || o === 'pending' ? o : o.ok ? o.status : `${o.name} after ${o.ms} ms`
      report(`sdk-abort-${adapter}`, { queuedAbortable: brief(a1), gated: brief(a2) })
      for (const a of [a1, a2]) {
        expect(a).toMatchObject({ ok: false })
        if (a && a !== 'pending' && !a.ok) expect(['AbortError', 'CanceledError']).toContain(a.name)
      }
      await releaseRelogin(e.page)
      const [k1, k2] = await settleAll([queued, gatedKept], `abort-${adapter}-kept`)
      expect(k1).toMatchObject({ ok: true, data: ITEMS })
      expect(k2).toMatchObject({ ok: true, data: ITEMS })
      // the aborted gated request never reached the network
      expect(e.stack.upstream.requests.filter((q) => q.path === '/api/items?g=1')).toHaveLength(0)
    })

    it('uninstall() mid-flight settles every held request', async () => {
      await signIn(e.page, e.stack.appUrl)
      await setupSdk(e.page, { adapter, relogin: 'held' })
      e.stack.proxy.expireSession()
      const queued = await startCall(e.page, adapter, '/api/items?q=1')
      await e.page.waitForFunction(() => (window as any).__sdk.reauth.state === 'reauthenticating')
      await e.page.waitForFunction(
        () => (window as any).__sdk.events.filter((x: any) => x.type === 'reauth:required').length >= 1,
      )
      const gated = await startCall(e.page, adapter, '/api/items?g=1')
      const before = (await events(e.page)).length
      await e.page.evaluate(() => (window as any).__sdk.reauth.uninstall())
      const out = await settleAll([queued, gated], `uninstall-${adapter}`)
      const after = (await events(e.page)).slice(before)
      report(`sdk-uninstall-${adapter}`, {
        outcomes: out.map((o) => (o === 'pending' ? o : o.ok ? o.status : `${o.name}:${o.reason}`)),
        ms: out.map((o) => (o === 'pending' ? null : o.ms)),
        eventsAfterUninstall: after.map((x) => (x.error ? `${x.type}(${x.error})` : x.type)),
      })
      expect(out.filter((o) => o === 'pending')).toEqual([])
      // settled promptly, not by the re-login timeout (reloginTimeoutMs 10 s), and no new flight began
      for (const o of out) if (o !== 'pending') expect(o.ms).toBeLessThan(3_000)
      expect(after.filter((x) => x.type === 'reauth:start')).toEqual([])
      expect(await sdkState(e.page)).toBe('idle')
    })
  })
})
