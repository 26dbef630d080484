import { oauth2ProxyHandlers } from 'ajax-reauth/testing'
import axios from 'axios'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApi } from '../src/api.js'

const APP = 'http://app.test'

// The app's own backend, as the app's tests already mock it.
const items = [{ id: 1, name: 'one' }]
const appHandlers = [
  http.get(`${APP}/api/items`, () => HttpResponse.json(items)),
  http.post(`${APP}/api/items`, async ({ request }) => {
    const { name } = (await request.json()) as { name: string }
    return HttpResponse.json({ id: items.length + 1, name }, { status: 201 })
  }),
]

// In Node, use axios' fetch adapter: a redirect it cannot follow fails with ERR_NETWORK, as the
// browser's XHR adapter does (axios' Node http adapter reports no ERR_NETWORK).
axios.defaults.adapter = 'fetch'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

// The SDK is a browser SDK: in Node it needs a page (`window`, `location`) to know its origin.
beforeEach(() => {
  vi.stubGlobal('window', globalThis)
  vi.stubGlobal('location', new URL(`${APP}/app/`))
})
afterEach(() => vi.unstubAllGlobals())

for (const mode of ['sign-in-page', 'redirect-to-provider', 'nginx-front', 'ajax-401'] as const) {
  describe(`behind oauth2-proxy (${mode})`, () => {
    it('recovers a lost session with one re-login and replays the request', async () => {
      const proxy = oauth2ProxyHandlers({ baseUrl: APP, mode })
      // Proxy handlers first: they answer for the proxy, or let the request through to yours.
      server.use(...proxy.handlers, ...appHandlers)
      const api = createApi({ relogin: proxy.relogin, baseURL: `${APP}/api` })

      expect(await api.listItems()).toEqual(items)
      proxy.session.expire()
      expect(await api.listItems()).toEqual(items)
      expect(await api.addItem('two')).toEqual({ id: 2, name: 'two' })

      expect(proxy.session.counters.logins).toBe(1)
      expect(proxy.session.counters.lostSession).toBeGreaterThanOrEqual(1)
    })
  })
}

it('shows a 401 the app can handle when re-login fails', async () => {
  const proxy = oauth2ProxyHandlers({ baseUrl: APP, mode: 'sign-in-page' })
  server.use(...proxy.handlers, ...appHandlers)
  const api = createApi({
    relogin: () => Promise.reject(new Error('user closed the dialog')),
    baseURL: `${APP}/api`,
  })
  proxy.session.end()
  await expect(api.listItems()).rejects.toMatchObject({
    name: 'AuthRequiredError',
    response: { status: 401 },
  })
  expect(proxy.session.counters.logins).toBe(0)
})
