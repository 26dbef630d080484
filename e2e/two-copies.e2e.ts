/**
 * Two copies of the SDK on one page (two bundles, as an app and a widget that each ship one): the first
 * is installed, the second's `reauth.fetch` and axios adapter are in use. One lost session must cost one
 * re-login, whichever copy meets it first.
 */
import { describe, expect, it } from 'vitest'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'

const e = setupE2E({ nginx: false })

const counters = () => ({
  signInStarts: e.stack.proxy.behaviour.counters.signInStarts,
  callbacks: e.stack.proxy.behaviour.counters.callbacks,
  idpAuthorizeRequests: e.stack.idp.counters.authorizeRequests,
})

// With crossTab on, Web Locks and BroadcastChannel already make the copies wait for each other; with it
// off (or where both are missing) only the page-wide flight registry does.
describe.each([true, false])('crossTab: %s', (crossTab) => {
  it('one installed, the other one’s reauth.fetch and axios in use: 1 re-login for 1 expiry, every request answered', async () => {
    await signIn(e.page, e.stack.appUrl)
    await e.page.waitForFunction(() => 'AjaxReauth' in window)
    await e.page.evaluate(async (crossTab) => {
      const w = window as any
      // A second, independent copy of the same bundle: its own modules, classes and closures.
      const code = await (await fetch('/dist/ajax-reauth.global.js')).text()
      w.Two = new Function(`${code}\n;return AjaxReauth`)()
      const log: string[] = []
      const one = w.AjaxReauth.createReauth({ crossTab }).install()
      const two = w.Two.createReauth({ crossTab })
      for (const [name, r] of [
        ['one', one],
        ['two', two],
      ] as const) {
        r.on('reauth:start', () => log.push(`${name} start`))
        r.on('reauth:success', (ev: { leader: boolean }) => log.push(`${name} success leader=${ev.leader}`))
        r.on('reauth:failure', () => log.push(`${name} failure`))
      }
      w.__axiosTwo = w.axios.create()
      w.Two.axiosReauth(w.__axiosTwo, two)
      w.__copies = { one, two, log }
    }, crossTab)
    expect(await e.page.evaluate(() => (window as any).Two !== (window as any).AjaxReauth)).toBe(true)

    const before = counters()
    e.stack.proxy.expireSession()
    const t0 = Date.now()
    const statuses = await e.page.evaluate(async () => {
      const w = window as any
      const { two } = w.__copies
      const n = 5
      const calls: Promise<number>[] = []
      for (let i = 0; i < n; i++) {
        calls.push(fetch(`/api/items?one=${i}`).then((r) => r.status))
        calls.push(two.fetch(`/api/items?two=${i}`).then((r: Response) => r.status))
        // axios sends through XMLHttpRequest: the first copy's patch meets these.
        calls.push(w.__axiosTwo.get(`/api/items?axios=${i}`).then((r: { status: number }) => r.status))
      }
      return Promise.all(calls.map((p) => p.catch((error: unknown) => String(error))))
    })
    const ms = Date.now() - t0
    const after = counters()
    const log = await e.page.evaluate(() => (window as any).__copies.log as string[])
    const d = {
      signInStarts: after.signInStarts - before.signInStarts,
      callbacks: after.callbacks - before.callbacks,
      idpAuthorizeRequests: after.idpAuthorizeRequests - before.idpAuthorizeRequests,
    }
    report(`sdk-two-copies-crossTab-${crossTab}`, { requests: statuses.length, ms, ...d, log })
    expect(statuses).toEqual(Array(15).fill(200))
    expect(d.signInStarts).toBe(1)
    expect(d.callbacks).toBe(1)
    expect(log.filter((l) => l.endsWith('leader=true'))).toHaveLength(1)
    expect(log.filter((l) => l.endsWith('failure'))).toHaveLength(0)

    // The next expiry, met first by the second copy alone: again one re-login.
    e.stack.proxy.expireSession()
    const again = await e.page.evaluate(async () => {
      const { two } = (window as any).__copies
      const first = await two.fetch('/api/items?after=1').then((r: Response) => r.status)
      const second = await fetch('/api/items?after=2').then((r) => r.status)
      return [first, second]
    })
    expect(again).toEqual([200, 200])
    expect(counters().signInStarts - after.signInStarts).toBe(1)
  })
})
