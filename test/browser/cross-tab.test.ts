import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { currentBrowser } from '../../e2e/driver/index'
import type { Browser, BrowserContext, Page } from '../../e2e/driver/types'
import { bundleInternals, launch, type PageGlobals, type Stack, startStack } from './reauth-harness'

let browser: Browser
let stack: Stack
let context: BrowserContext

beforeAll(async () => {
  stack = await startStack(await bundleInternals())
  browser = await launch()
})
afterAll(async () => {
  await browser?.close()
  await stack?.close()
})
beforeEach(async () => {
  stack.resetLeads()
  context = await browser.newContext()
})
afterEach(async () => {
  await context.close()
})

const openTabs = async (n: number, withoutLocks: boolean): Promise<Page[]> => {
  const pages: Page[] = []
  for (let i = 0; i < n; i++) {
    const p = await context.newPage()
    // Where Web Locks is missing (an insecure http origin): the localStorage lease takes over.
    await p.goto(`${stack.app}/app${withoutLocks ? '?nolocks' : ''}`)
    expect(await p.evaluate(() => 'locks' in navigator)).toBe(!withoutLocks)
    pages.push(p)
  }
  return pages
}

interface FlightResult {
  leader: boolean
  generation: number
}

describe.each([
  ['Web Locks', false],
  ['localStorage lease (navigator.locks deleted)', true],
])(`cross-tab in ${currentBrowser()}: %s`, (_label, withoutLocks) => {
  it('3 tabs × 30 concurrent flights → lead runs exactly once', async () => {
    const pages = await openTabs(3, withoutLocks)
    const startAt = Date.now() + 700
    const all = await Promise.all(
      pages.map((p) =>
        p.evaluate(async (startAt) => {
          const { R } = globalThis as PageGlobals
          const tab = R.createCrossTab({
            enabled: true,
            origin: location.origin,
            profileName: 'oauth2-proxy',
          })
          await new Promise((r) => setTimeout(r, startAt - Date.now()))
          const lead = async () => {
            await fetch('/lead', { method: 'POST' })
            await new Promise((r) => setTimeout(r, 300))
          }
          return Promise.all(Array.from({ length: 30 }, () => tab.flight(lead, AbortSignal.timeout(10_000))))
        }, startAt),
      ),
    )
    const results: FlightResult[] = all.flat()
    expect(results).toHaveLength(90)
    expect(stack.leads()).toBe(1)
    expect(results.filter((r) => r.leader)).toHaveLength(1)
    expect(new Set(results.map((r) => r.generation)).size).toBe(1)
  })

  it('the leader tab is closed mid-flight → one of the waiting tabs takes over and runs lead', async () => {
    const [a, b, c] = (await openTabs(3, withoutLocks)) as [Page, Page, Page]
    const start = (p: Page, hang: boolean) =>
      p.evaluate((hang) => {
        const { R } = globalThis as PageGlobals
        const tab = R.createCrossTab({ enabled: true, origin: location.origin, profileName: 'oauth2-proxy' })
        const lead = async () => {
          await fetch('/lead', { method: 'POST' })
          if (hang) await new Promise(() => {})
          await new Promise((r) => setTimeout(r, 200))
        }
        ;(window as unknown as { __flight: Promise<unknown> }).__flight = tab.flight(
          lead,
          AbortSignal.timeout(20_000),
        )
      }, hang)
    await start(a, true)
    await expect.poll(() => stack.leads()).toBe(1)
    await start(b, false)
    await start(c, false)
    await b.waitForTimeout(300)
    expect(stack.leads()).toBe(1) // b and c wait for a
    await a.close()
    const outcomes = (await Promise.all(
      [b, c].map((p) => p.evaluate(() => (window as unknown as { __flight: Promise<unknown> }).__flight)),
    )) as FlightResult[]
    expect(stack.leads()).toBe(2)
    expect(outcomes.filter((r) => r.leader)).toHaveLength(1)
    expect(outcomes[0]!.generation).toBe(outcomes[1]!.generation)
  })
})
