import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import type { ReauthOptions } from '../src/options'
import { azureEasyAuth } from '../src/profiles'
import { profileFactories } from '../src/profiles/names'
import {
  autheliaHandlers,
  azureEasyAuthHandlers,
  cloudflareAccessHandlers,
  type EmulatedReloginContext,
  googleIapHandlers,
  type OAuth2ProxyMode,
  oauth2ProxyHandlers,
  type ProxyEmulation,
  pomeriumHandlers,
} from '../src/testing'
import { ORIGIN, stubPage } from './helpers/page'

// Dogfooding: the real SDK (`reauth.fetch`) against the `ajax-reauth/testing` emulations.
const server = setupServer()
const app = http.all(`${ORIGIN}/*`, ({ request }) =>
  HttpResponse.json({ ok: true, path: new URL(request.url).pathname }),
)
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
beforeEach(() => stubPage())
afterEach(() => {
  server.resetHandlers()
  vi.unstubAllGlobals()
})
afterAll(() => server.close())

interface Run {
  reauth: Reauth
  reasons: string[]
  successes: () => number
}

const start = <B>(
  emulation: ProxyEmulation<B>,
  options: Omit<ReauthOptions, 'relogin' | 'crossTab'> = {},
  relogin: (ctx: EmulatedReloginContext) => Promise<void> = emulation.relogin,
): Run => {
  server.use(...emulation.handlers, app)
  const reauth = createReauth({ ...options, crossTab: false, relogin, reloginTimeoutMs: 2000 })
  const reasons: string[] = []
  let successes = 0
  reauth.onReauthRequired((e) => reasons.push(e.reason))
  reauth.on('reauth:success', () => successes++)
  return { reauth, reasons, successes: () => successes }
}

describe('oauth2-proxy emulation: lost session → one re-login → replayed', () => {
  const cases: { mode: OAuth2ProxyMode; accept: string | undefined; reason: string }[] = [
    { mode: 'sign-in-page', accept: undefined, reason: 'unauthorized' },
    // An app's `*/*` is extended with `application/json` (one Accept policy for every adapter): the
    // proxy sees an Ajax request. An Accept without JSON (`text/plain`) is left alone.
    { mode: 'sign-in-page', accept: '*/*', reason: 'unauthorized' },
    { mode: 'sign-in-page', accept: 'text/plain', reason: 'login-page' },
    { mode: 'redirect-to-provider', accept: undefined, reason: 'unauthorized' },
    { mode: 'redirect-to-provider', accept: '*/*', reason: 'unauthorized' },
    { mode: 'redirect-to-provider', accept: 'text/plain', reason: 'network-error' },
    // A GET goes out with redirect: 'manual' (issue #23): outside a browser the front's 302 to
    // /oauth2/start is seen with its Location, before anything follows it to the provider.
    { mode: 'nginx-front', accept: undefined, reason: 'sign-in-redirect' },
    { mode: 'nginx-front', accept: '*/*', reason: 'sign-in-redirect' },
    { mode: 'nginx-front', accept: 'text/plain', reason: 'sign-in-redirect' },
    { mode: 'ajax-401', accept: undefined, reason: 'unauthorized' },
    { mode: 'ajax-401', accept: '*/*', reason: 'unauthorized' },
    { mode: 'ajax-401', accept: 'text/plain', reason: 'unauthorized' },
  ]
  for (const { mode, accept, reason } of cases) {
    it(`${mode}, Accept ${accept ?? "the SDK's application/json"}: ${reason}`, async () => {
      const proxy = oauth2ProxyHandlers({ mode })
      const run = start(proxy)
      const init: RequestInit = accept ? { headers: { accept } } : {}
      expect((await run.reauth.fetch('/api/items', init)).status).toBe(200)
      proxy.session.expire()
      const res = await run.reauth.fetch('/api/items', init)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ ok: true, path: '/api/items' })
      expect(run.reasons).toEqual([reason])
      expect(run.successes()).toBe(1)
      expect(proxy.session.counters).toMatchObject({ logins: 1 })
      expect(proxy.session.counters.lostSession).toBeGreaterThanOrEqual(1)
    })
  }

  it('parallel requests on a lost session share one re-login and are all replayed', async () => {
    const proxy = oauth2ProxyHandlers({ mode: 'sign-in-page' })
    const run = start(proxy)
    proxy.session.expire()
    const all = await Promise.all(['/api/a', '/api/b', '/api/c'].map((p) => run.reauth.fetch(p)))
    expect(all.map((r) => r.status)).toEqual([200, 200, 200])
    expect(run.successes()).toBe(1)
    expect(proxy.session.counters).toMatchObject({ logins: 1, signInStarts: 1 })
  })

  it('a re-login written with fetch (Sec-Fetch-Mode: navigate, redirects followed) works through msw', async () => {
    const proxy = oauth2ProxyHandlers({ mode: 'redirect-to-provider' })
    const viaFetch = async ({ url, signal }: EmulatedReloginContext) => {
      const init: RequestInit = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } }
      if (signal) init.signal = signal
      const res = await fetch(url, init)
      if (!res.ok) throw new Error(`re-login failed: ${res.status}`)
    }
    const run = start(proxy, {}, viaFetch)
    proxy.session.end()
    expect((await run.reauth.fetch('/api/items')).status).toBe(200)
    expect(proxy.session.counters).toMatchObject({ logins: 1, signInStarts: 1 })
  })

  it('a re-login that cannot sign in resolves the request with the synthetic 401', async () => {
    const proxy = oauth2ProxyHandlers({ mode: 'sign-in-page' })
    const run = start(proxy, {}, async () => {})
    proxy.session.expire()
    const res = await run.reauth.fetch('/api/items')
    expect([res.status, res.headers.get('x-ajax-reauth')]).toEqual([401, 'unauthorized'])
    expect(proxy.session.counters.logins).toBe(0)
  })
})

describe('profile emulations: lost session → one re-login → replayed', () => {
  const cases = [
    { proxy: 'pomerium', make: () => pomeriumHandlers() },
    { proxy: 'authelia', make: () => autheliaHandlers() },
    { proxy: 'google-iap', make: () => googleIapHandlers() },
    { proxy: 'cloudflare-access', make: () => cloudflareAccessHandlers() },
    { proxy: 'azure-easy-auth', make: () => azureEasyAuthHandlers({ action: '401' }) },
    { proxy: 'azure-easy-auth', make: () => azureEasyAuthHandlers({ action: 'redirect' }) },
  ] as const
  for (const c of cases) {
    it(`${c.proxy}${c.proxy === 'azure-easy-auth' ? ' (session ended: full sign-in)' : ''}`, async () => {
      const emulation = c.make()
      const run = start(emulation, { proxy: profileFactories[c.proxy]() })
      expect((await run.reauth.fetch('/api/items')).status).toBe(200)
      emulation.session.end()
      const res = await run.reauth.fetch('/api/items')
      expect(res.status).toBe(200)
      expect(run.reasons).toHaveLength(1)
      expect(run.successes()).toBe(1)
      expect(emulation.session.counters).toMatchObject({ logins: 1, signInStarts: 1 })
    })
  }

  it('azure-easy-auth: an expired session within the grace is renewed by /.auth/refresh, no sign-in', async () => {
    const emulation = azureEasyAuthHandlers({ action: '401' })
    const run = start(emulation, { proxy: azureEasyAuth() })
    emulation.session.expire()
    expect((await run.reauth.fetch('/api/items')).status).toBe(200)
    expect(run.successes()).toBe(1)
    expect(emulation.session.counters).toMatchObject({ refreshes: 1, logins: 0, signInStarts: 0 })
  })
})
