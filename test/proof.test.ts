/**
 * "A lost session is proven before it costs anything": an upstream's own 401, a Post/Redirect/Get to an
 * HTML page, a plain network failure, with a valid session, never start a re-login or a replay.
 */
import fc from 'fast-check'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth } from '../src/client'
import { APP_FRAGMENT } from './helpers/fixtures'
import { ORIGIN, stubPage } from './helpers/page'

let signedIn = true
let probes = 0
const orders: string[] = []
const server = setupServer(
  http.get(`${ORIGIN}/oauth2/auth`, () => {
    probes++
    return new HttpResponse(null, { status: signedIn ? 202 : 401 })
  }),
  http.post(`${ORIGIN}/api/login`, () =>
    HttpResponse.json({ error: 'invalid_credentials', message: 'wrong password' }, { status: 401 }),
  ),
  http.post(`${ORIGIN}/api/orders`, async ({ request }) => {
    orders.push(await request.text())
    return new HttpResponse(null, { status: 303, headers: { location: `${ORIGIN}/orders/1/receipt` } })
  }),
  http.get(
    `${ORIGIN}/orders/1/receipt`,
    () => new HttpResponse(APP_FRAGMENT, { headers: { 'content-type': 'text/html; charset=utf-8' } }),
  ),
  http.get(`${ORIGIN}/api/down`, () => HttpResponse.error()),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  signedIn = true
  probes = 0
  orders.length = 0
})
afterEach(() => {
  vi.unstubAllGlobals()
  server.resetHandlers()
})

const make = () => {
  const relogins = vi.fn(async () => {})
  const reauth = createReauth({ crossTab: false, relogin: relogins })
  const required = vi.fn()
  reauth.onReauthRequired(required)
  return { reauth, relogins, required }
}

describe('with a valid session, the upstream answers for itself', () => {
  it("an upstream's own 401 to a POST: the app gets that 401 and its body, one POST, no re-login", async () => {
    const { reauth, relogins, required } = make()
    let posts = 0
    server.use(
      http.post(`${ORIGIN}/api/login`, () => {
        posts++
        return HttpResponse.json({ error: 'invalid_credentials' }, { status: 401 })
      }),
    )
    const res = await reauth.fetch('/api/login', { method: 'POST', body: 'user=a&password=b' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'invalid_credentials' })
    expect(posts).toBe(1)
    expect(probes).toBe(1)
    expect(relogins).not.toHaveBeenCalled()
    expect(required).not.toHaveBeenCalled()
  })

  it('ten such 401s are ten upstream answers: no re-login, no replay', async () => {
    const { reauth, relogins } = make()
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => reauth.fetch('/api/login', { method: 'POST' }).then((r) => r.status)),
    )
    expect(statuses).toEqual(Array(10).fill(401))
    expect(relogins).not.toHaveBeenCalled()
  })

  it('Post/Redirect/Get: POST → 303 → HTML receipt is one order and no re-login', async () => {
    const { reauth, relogins } = make()
    const res = await reauth.fetch('/api/orders', { method: 'POST', body: 'sku=42' })
    expect(res.status).toBe(200)
    expect(res.redirected).toBe(true)
    expect(await res.text()).toBe(APP_FRAGMENT)
    expect(orders).toEqual(['sku=42'])
    expect(relogins).not.toHaveBeenCalled()
  })

  it('a plain network failure stays the native TypeError and starts nothing', async () => {
    const { reauth, relogins, required } = make()
    const error = await reauth.fetch('/api/down').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(relogins).not.toHaveBeenCalled()
    expect(required).not.toHaveBeenCalled()
  })

  it('a probe that answers neither signed-in nor signed-out (500) proves nothing: the 401 is handed back', async () => {
    server.use(http.get(`${ORIGIN}/oauth2/auth`, () => new HttpResponse('oops', { status: 500 })))
    const { reauth, relogins } = make()
    const res = await reauth.fetch('/api/login', { method: 'POST' })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_credentials' })
    expect(relogins).not.toHaveBeenCalled()
  })

  it('property: while the probe says signed in, no response shape starts a flight or a replay', async () => {
    const shape = fc.record({
      status: fc.constantFrom(200, 201, 204, 301, 302, 303, 400, 401, 403, 404, 409, 422, 500, 503),
      type: fc.constantFrom('json', 'html', 'text', 'empty', 'sign-in-html'),
      body: fc.constantFrom('', '{}', '{"error":"x"}', '<html><title>Receipt</title></html>', 'nope'),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
    })
    await fc.assert(
      fc.asyncProperty(shape, async ({ status, type, body, method }) => {
        let hits = 0
        server.use(
          http.all(`${ORIGIN}/api/any`, () => {
            hits++
            const headers: Record<string, string> =
              type === 'json'
                ? { 'content-type': 'application/json' }
                : type === 'html'
                  ? { 'content-type': 'text/html' }
                  : type === 'text'
                    ? { 'content-type': 'text/plain' }
                    : {}
            if (status >= 300 && status < 400) headers.location = `${ORIGIN}/orders/1/receipt`
            return new HttpResponse(status === 204 ? null : body, { status, headers })
          }),
        )
        const { reauth, relogins } = make()
        await reauth.fetch('/api/any', { method, body: method === 'GET' ? null : 'x' }).catch(() => {})
        expect(relogins).not.toHaveBeenCalled()
        // A GET goes out with redirect: 'manual' (issue #23): its own redirect is sent again as the app sent
        // it, one extra request (once per URL), never a replay.
        expect(hits).toBe(method === 'GET' && status >= 300 && status < 400 ? 2 : 1)
      }),
      { numRuns: 60 },
    )
  })
})
