/**
 * The callback page (`callbackPath`) with the callback entry's script file alone
 * (`dist/ajax-reauth-callback.global.min.js`, well under 1 KB): the hidden iframe and the popup each
 * load that page and its one script, and nothing of the app. Without `callbackPath` they load the app
 * page and everything it loads (counted and printed for the README's figures).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import { call, events, ITEMS, setupSdk } from './sdk.js'

const e = setupE2E({ nginx: false })
const CALLBACK_PATH = '/reauth-callback.html'
const CALLBACK_SCRIPT = '/dist/ajax-reauth-callback.global.min.js'
const CALLBACK_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signed in</title><link rel="icon" href="data:,">
<script src="${CALLBACK_SCRIPT}"></script></head><body>Signed in.</body></html>`

beforeAll(() => {
  e.stack.upstream.routes.set(CALLBACK_PATH, async () => ({
    type: 'text/html; charset=utf-8',
    body: CALLBACK_PAGE,
  }))
})

/** Record the callback messages the page gets (the script's postMessage, from the iframe or the popup). */
const listenForCallbackMessages = (page: typeof e.page) =>
  page.evaluate(() => {
    const w = window as any
    w.__callbackMessages = []
    window.addEventListener('message', (event) => {
      if (event.data?.source === 'ajax-reauth' && event.data.kind === 'callback')
        w.__callbackMessages.push(new URL(event.data.href).pathname)
    })
  })
const callbackMessages = (page: typeof e.page): Promise<string[]> =>
  page.evaluate(() => (window as any).__callbackMessages)

/** The paths the upstream served from `from` on (the app's own requests and the re-login window's). */
const servedSince = (from: number): string[] => e.stack.upstream.requests.slice(from).map((r) => r.path)

describe('callback page', () => {
  it('iframe: the callback page and its one script are all the re-login loads of the app', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { callbackPath: CALLBACK_PATH } })
    await listenForCallbackMessages(e.page)
    e.stack.proxy.expireSession()
    const from = e.stack.upstream.requests.length
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
    const served = servedSince(from)
    // The re-login's: the page and its script; then the replay.
    expect(served).toEqual([CALLBACK_PATH, CALLBACK_SCRIPT, '/api/items'])
    expect(await callbackMessages(e.page)).toEqual([CALLBACK_PATH])
    const ev = await events(e.page)
    expect(ev.filter((x) => x.type === 'reauth:success')).toHaveLength(1)
    report('callback-page-iframe', { withCallbackPath: served.length - 1 })
  })

  it('iframe without callbackPath: the app page boots inside it (counted for the README)', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch' })
    e.stack.proxy.expireSession()
    const from = e.stack.upstream.requests.length
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
    const served = servedSince(from).filter((p) => !p.startsWith('/api/'))
    expect(served[0]).toBe('/app.html')
    expect(served.length).toBeGreaterThan(2)
    report('callback-page-iframe', { withoutCallbackPath: served })
  })

  it('popup from a click: the callback page closes it, loading nothing else', async () => {
    await signIn(e.page, e.stack.appUrl)
    await setupSdk(e.page, { adapter: 'fetch', options: { relogin: 'popup', callbackPath: CALLBACK_PATH } })
    e.stack.proxy.expireSession()
    expect(await call(e.page, 'fetch', '/api/items', { noGesture: true })).toMatchObject({
      ok: false,
      reason: 'unauthorized',
    })
    await listenForCallbackMessages(e.page)
    const from = e.stack.upstream.requests.length
    const popupPromise = e.context.waitForEvent('page')
    await e.page.click('#signin-again')
    const popup = await popupPromise
    await e.page.waitForFunction(() => (window as any).__startResult !== 'pending', null, { timeout: 10_000 })
    expect(await e.page.evaluate(() => (window as any).__startResult)).toBe('ok')
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 5_000 }).catch(() => undefined)
    expect(popup.isClosed()).toBe(true)
    expect(servedSince(from)).toEqual([CALLBACK_PATH, CALLBACK_SCRIPT])
    expect(await callbackMessages(e.page)).toEqual([CALLBACK_PATH])
    expect(await call(e.page, 'fetch', '/api/items')).toMatchObject({ ok: true, data: ITEMS })
  })
})
