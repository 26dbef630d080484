import { describe, expect, it } from 'vitest'
import type { E2E } from './harness.js'
import { BROWSER, setupE2E, signIn, TRANSPORT } from './harness.js'
import { viaFetch } from './probes.js'

/**
 * The bed over HTTPS (e2e/server/tls-front.ts): in the `plain` projects this file checks `h2`, in the
 * `-h1-tls` / `-h2` projects their own transport. What production has and the plain bed had not:
 * a secure context on https, the negotiated protocol, and oauth2-proxy's default cookies
 * (`--cookie-secure=true`, `SameSite=Lax`) and a `__Host-` cookie name.
 */
const transport = TRANSPORT === 'plain' ? 'h2' : TRANSPORT
const wire = transport === 'h2' ? { alpn: 'h2', nginx: 'HTTP/2.0' } : { alpn: 'http/1.1', nginx: 'HTTP/1.1' }
// WebKitGTK leaves the navigation entry's `nextHopProtocol` empty (its fetch entries have it)
const documentAlpn = BROWSER === 'webkit' ? '' : wire.alpn

async function pageTransport(e: E2E) {
  await e.page.evaluate(async (third) => {
    // an entry is added once its body is read
    await (await fetch('/api/items')).text()
    await (await fetch(`${third}/simple/x`)).text()
  }, e.stack.thirdPartyUrl)
  return e.page.evaluate(() => ({
    secure: window.isSecureContext,
    protocol: location.protocol,
    document: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
    resources: (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((r) => r.initiatorType === 'fetch')
      .map((r) => ({ path: new URL(r.name).pathname, hop: r.nextHopProtocol })),
  }))
}

describe(`over ${transport}`, () => {
  const e = setupE2E({ transport })

  it('the app, the provider and the third party are https origins on the negotiated protocol', async () => {
    expect(e.stack.appUrl).toMatch(/^https:\/\/localhost:\d+$/)
    expect(e.stack.idpUrl).toMatch(/^https:\/\/localhost:\d+$/)
    expect(e.stack.thirdPartyUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(e.stack.nginxUrl).toMatch(/^https:\/\/localhost:\d+$/)
    await signIn(e.page, e.stack.appUrl)
    const seen = await pageTransport(e)
    expect(seen).toMatchObject({ secure: true, protocol: 'https:', document: documentAlpn })
    // same-origin entries always say; a cross-origin one without Timing-Allow-Origin may be ''
    expect(seen.resources.find((r) => r.path === '/api/items')?.hop).toBe(wire.alpn)
    const log = await e.stack.front?.log()
    const routes = new Set(log?.map((l) => l.route))
    expect([...routes].sort()).toEqual(['app', 'idp', 'third-party'])
    expect(new Set(log?.map((l) => l.protocol))).toEqual(new Set([wire.nginx]))
    expect(log?.every((l) => /^TLSv1\.[23]$/.test(l.tls))).toBe(true)
    // the provider's own cookies are Secure too (it trusts the front's X-Forwarded-Proto)
    const idpCookies = (await e.context.cookies(e.stack.idpUrl)).filter((c) => c.name.startsWith('_session'))
    expect(idpCookies.length).toBeGreaterThan(0)
    expect(idpCookies.every((c) => c.secure)).toBe(true)
  })

  it('the auth_request front answers over the same transport, its sign-in redirect stays https', async () => {
    const base = e.stack.nginxUrl as string
    await signIn(e.page, base)
    const seen = await pageTransport(e)
    expect(seen).toMatchObject({ secure: true, protocol: 'https:', document: documentAlpn })
    e.stack.proxy.expireSession()
    const r = await viaFetch(e.page, '/api/items', { redirect: 'manual' })
    expect(r).toMatchObject({ type: 'opaqueredirect' })
    await e.page.goto(`${base}/api/items`)
    await e.page.waitForURL(`${base}/api/items`)
    expect(e.page.url()).toBe(`${base}/api/items`)
  })

  it("the session and CSRF cookies are oauth2-proxy's defaults: Secure, HttpOnly, SameSite=Lax", async () => {
    // the CSRF cookie as /oauth2/start sets it (an opaque redirect: the browser stores it, goes nowhere)
    await e.page.goto(`${e.stack.appUrl}/oauth2/sign_in`)
    const start = await viaFetch(e.page, '/oauth2/start?rd=%2Fapp.html', { redirect: 'manual' })
    expect(start).toMatchObject({ type: 'opaqueredirect' })
    const csrf = (await e.context.cookies(e.stack.appUrl)).find((c) => c.name === '_oauth2_proxy_csrf')
    expect(csrf).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' })
    await signIn(e.page, e.stack.appUrl)
    const session = (await e.context.cookies(e.stack.appUrl)).find((c) => c.name === '_oauth2_proxy')
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(await viaFetch(e.page, '/api/items')).toMatchObject({ status: 200 })
  })
})

describe(`a __Host- session cookie over ${transport}`, () => {
  const e = setupE2E({ transport, nginx: false, proxy: { cookieName: '__Host-oauth2_proxy' } })

  it('the browser keeps it and sends it back: sign-in, an API call, the lost session as a 401', async () => {
    await signIn(e.page, e.stack.appUrl)
    const names = (await e.context.cookies(e.stack.appUrl)).map((c) => c.name)
    expect(names).toContain('__Host-oauth2_proxy')
    const json = { headers: { accept: 'application/json' } }
    expect(await viaFetch(e.page, '/api/items', json)).toMatchObject({ status: 200 })
    e.stack.proxy.expireSession()
    expect(await viaFetch(e.page, '/api/items', json)).toMatchObject({ status: 401 })
  })
})
