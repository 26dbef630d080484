/**
 * Drives the demo (`npm run demo`) in Chromium: expire the session, make a request, watch the silent
 * re-login bring the data, check counters and log, save a screenshot (e2e/.output/demo.png).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Demo } from '../demo/server.js'
import { startDemo } from '../demo/server.js'
import { report } from './report.js'
import { launchChromium } from './server/browser.js'
import { REPO_ROOT } from './server/upstream.js'

let demo: Demo
let browser: Browser
let context: BrowserContext
let page: Page

beforeAll(async () => {
  demo = await startDemo()
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  page = await context.newPage()
})
afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await demo?.stop()
})

const text = async (id: string) => (await page.textContent(`#${id}`))?.trim() ?? ''
const logLines = () => page.$$eval('#log li', (lis) => lis.map((li) => li.textContent ?? ''))
/**
 * Waits for a log entry whose text starts with `prefix`, anywhere in the log: the demo logs some
 * events 100 ms late (the "replayed" summary), so the newest entry is not always the last click's.
 */
const waitForLog = (prefix: string) =>
  page.waitForFunction(
    (p) => [...document.querySelectorAll('#log li .text')].some((t) => t.textContent?.startsWith(p)),
    prefix,
  )

it('expire → request → silent re-login → data; counters and log tell the story; screenshot', async () => {
  await page.goto(demo.url)
  await page.waitForURL(demo.pageUrl)
  await page.waitForFunction(() => (window as any).demo?.ready === true)
  expect(await text('sdk-state')).toBe('on')

  await page.click('#btn-fetch')
  await page.waitForFunction(() => document.getElementById('c-ok')?.textContent === '1')

  await page.click('#btn-expire')
  await waitForLog('expired')
  await page.click('#btn-axios')
  await page.waitForFunction(() => document.getElementById('c-ok')?.textContent === '2')
  expect(await text('c-failed')).toBe('0')
  expect(await text('c-relogins')).toBe('1')
  const lines = await logLines()
  expect(lines.some((l) => l.includes('required') && l.includes('unauthorized'))).toBe(true)
  expect(lines.some((l) => l.includes('success') && l.includes('session renewed'))).toBe(true)
  expect(lines.some((l) => /axios.*200 · 2 items/.test(l))).toBe(true)
  // the replayed summary comes 100 ms after the replay: wait for it, so the next loss starts clean
  await waitForLog('1 request sent again')

  // a burst after another loss: one re-login for all 50
  await page.click('#btn-delete')
  await waitForLog('deleted')
  await page.click('#btn-burst')
  await page.waitForFunction(
    () => [...document.querySelectorAll('#log li')].some((li) => li.textContent?.includes('50 ok')),
    null,
    { timeout: 20_000 },
  )
  expect(await text('c-ok')).toBe('52')
  expect(await text('c-relogins')).toBe('2')

  // without the SDK the same loss reaches the app as a raw failure
  await page.click('.switch')
  expect(await text('sdk-state')).toBe('off')
  await page.click('#btn-expire')
  // the first 'expired' entry is already in the log: wait for the second
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('#log li .text')].filter((t) => t.textContent?.startsWith('expired'))
        .length === 2,
  )
  await page.click('#btn-fetch')
  await page.waitForFunction(() => document.getElementById('c-failed')?.textContent === '1')
  expect(await text('last-error-type')).toBe('HttpStatusError')
  expect(await text('last-error-message')).toContain('403')

  // SDK back on: the next request recovers
  await page.click('.switch')
  await page.click('#btn-ky')
  await page.waitForFunction(() => document.getElementById('c-ok')?.textContent === '53')
  // the proxy counters are polled every second
  await page.waitForFunction(() => Number(document.getElementById('c-signin-starts')?.textContent) >= 4)
  const counters = {
    ok: await text('c-ok'),
    failed: await text('c-failed'),
    relogins: await text('c-relogins'),
    signInStarts: await text('c-signin-starts'),
    csrfMinted: await text('c-csrf'),
  }
  report('demo', counters)
  expect(counters).toMatchObject({ ok: '53', failed: '1', relogins: '3' })

  mkdirSync(join(REPO_ROOT, 'e2e/.output'), { recursive: true })
  await page.screenshot({ path: join(REPO_ROOT, 'e2e/.output/demo.png'), fullPage: true })
})
