/**
 * `npm run demo -- --real` in Chromium: the demo page on the real oauth2-proxy binary. Expire (a new
 * cookie secret: the browser's cookie no longer validates) → request → silent re-login → data.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Demo } from '../demo/server.js'
import { startDemo } from '../demo/server.js'
import { report } from './report.js'
import { launchChromium } from './server/browser.js'

let demo: Demo
let browser: Browser
let context: BrowserContext
let page: Page

beforeAll(async () => {
  demo = await startDemo({ real: true })
  browser = await launchChromium()
  context = await browser.newContext()
  page = await context.newPage()
})
afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await demo?.stop()
})

const text = async (id: string) => (await page.textContent(`#${id}`))?.trim() ?? ''

it('on the real binary: expire → request → silent re-login → data', async () => {
  await page.goto(demo.url)
  await page.waitForURL(demo.pageUrl)
  await page.waitForFunction(() => (window as any).demo?.ready === true)
  expect(await page.textContent('#origin-line')).toContain('oauth2-proxy v')

  await page.click('#btn-fetch')
  await page.waitForFunction(() => document.getElementById('c-ok')?.textContent === '1')
  await page.click('#btn-expire')
  await page.waitForFunction(() =>
    document.querySelector('#log li .text')?.textContent?.startsWith('expired'),
  )
  await page.click('#btn-axios')
  await page.waitForFunction(() => document.getElementById('c-ok')?.textContent === '2')
  expect(await text('c-failed')).toBe('0')
  expect(await text('c-relogins')).toBe('1')
  const stack = demo.stack
  if (stack.kind !== 'real') throw new Error('not the real stack')
  report('real-demo', { counters: stack.real.counters, idp: stack.idp.counters })
  expect(stack.real.counters.callbacks).toBe(2) // the first sign-in and the silent re-login
})
