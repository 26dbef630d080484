import { expect, it } from 'vitest'
import { setupE2E, signIn } from './harness.js'

const e = setupE2E({ nginx: false })

it('the built SDK loads on /app.html and exposes window.AjaxReauth.createReauth', async () => {
  await signIn(e.page, e.stack.appUrl)
  const loaded = await e.page.evaluate(() => ({
    error: (window as any).__sdkError as string | null,
    createReauth: typeof (window as any).AjaxReauth?.createReauth,
  }))
  expect(loaded).toEqual({ error: null, createReauth: 'function' })
})

it('the admin API switches the proxy over HTTP (for e2e:serve and out-of-process drivers)', async () => {
  await signIn(e.page, e.stack.appUrl)
  const post = async (action: string, body?: unknown) => {
    const r = await fetch(`${e.stack.appUrl}/__admin/${action}`, {
      method: 'POST',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    return (await r.json()) as Record<string, any>
  }
  expect(await post('set', { skipProviderButton: true, apiRoutes: ['^/api/'] })).toEqual({ ok: true })
  expect(await post('expire-session')).toEqual({ sessions: 1 })
  const items = await e.page.evaluate(async () => (await fetch('/api/items')).status)
  expect(items).toBe(401)
  const state = await post('state')
  expect(state.options).toMatchObject({ skipProviderButton: true, apiRoutes: ['/^\\/api\\//'] })
  expect(state.counters).toMatchObject({ sessionsCreated: 1, sessionsCleared: 1, jsonUnauthorized: 1 })
  expect(await post('reset')).toEqual({ ok: true })
  expect(e.stack.proxy.behaviour.options.skipProviderButton).toBe(false)
})
