/**
 * `ajax-reauth doctor` (a child process, no browser) against the real stack in every mode it offers:
 * the test proxy's default, --skip-provider-button, --api-route, CSRF cookie per request (with and
 * without a limit), the real nginx front, each profile emulation, signed in with a page that refuses
 * framing, a cross-origin page, a site without a proxy, a closed port.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ProfileName } from '../src/testing/behaviour/index.js'
import { answers, BUILT, doctor, finding, ids, report } from './doctor-cli.js'
import { freePort } from './server/net.js'
import { nginxAvailable } from './server/nginx.js'
import type { Stack } from './server/stack.js'
import { startStack } from './server/stack.js'

let stack: Stack
beforeAll(async () => {
  stack = await startStack()
})
afterAll(async () => {
  await stack?.stop()
})
beforeEach(() => {
  stack.reset()
})
const api = () => `${stack.appUrl}/api/items`
const admin = async (action: string, body?: unknown) => {
  const res = await fetch(`${stack.appUrl}/__admin/${action}`, {
    method: 'POST',
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  })
  expect(res.status).toBe(200)
}
/** What the doctor sent to the proxy: GET only, within budget, never the page that clears the session. */
const assertPolite = () => {
  const sent = stack.proxy.requests
  expect(sent.length).toBeGreaterThan(0)
  expect(sent.length).toBeLessThanOrEqual(20)
  expect(sent.every((r) => r.method === 'GET')).toBe(true)
  expect(sent.some((r) => r.path.startsWith('/oauth2/sign_in'))).toBe(false)
}

describe('doctor: test proxy (oauth2-proxy 7.x behaviour)', () => {
  it('default: 401 to JSON, 403 sign-in page to */*, works together (exit 0)', async () => {
    const { run, r } = await report(api())
    expect(run.code).toBe(0)
    expect(r).toMatchObject({ schema: 1, verdict: 'ok', proxy: { name: 'oauth2-proxy', version: 'v7.15.2' } })
    expect(answers(r)).toEqual({
      page: '403-page',
      fetch: '403-page',
      json: '401',
      xrw: '403-page',
      sdk: '401',
    })
    expect(finding(r, 'fetch-default-accept').fix?.proxy).toBe('--api-route=^/api/')
    expect(finding(r, 'iframe-relogin').evidence.join('\n')).toContain('(ports do not count)')
    expect(r.options).toBe("createReauth({ proxy: 'oauth2-proxy' })")
    assertPolite()
  })

  it('plain words: the same run without --json', async () => {
    const run = await doctor(['doctor', api()])
    expect(run.code).toBe(0)
    expect(run.out).toContain('proxy: oauth2-proxy v7.15.2')
    expect(run.out).toMatch(/^ {2}Accept: application\/json \+ X-Requested-With +401$/m)
    expect(run.out).toMatch(/^ {2}page load +403 403-page$/m)
    expect(run.out.trim().split('\n').at(-1)).toMatch(
      /^ok: the deployment and createReauth\(\{ proxy: 'oauth2-proxy' \}\) work together \(\d+ requests\)$/,
    )
    expect(run.err).toBe('')
  })

  it('--skip-provider-button: page loads go to the provider with a CSRF cookie (exit 0, its cost named)', async () => {
    stack.proxy.set({ skipProviderButton: true })
    const { run, r } = await report(api())
    expect(run.code).toBe(0)
    expect(answers(r)).toMatchObject({
      page: 'redirect-to-provider',
      fetch: 'redirect-to-provider',
      sdk: '401',
    })
    expect(r.answers.find((a) => a.request === 'page')?.location).toMatch(
      new RegExp(`^${stack.idpUrl}/auth\\?`),
    )
    expect(finding(r, 'skip-provider-button').summary).toContain('mints a CSRF cookie')
    expect(stack.proxy.behaviour.counters.providerRedirects).toBeGreaterThan(0)
  })

  it('--api-route (set through /__admin/set): every request kind gets 401 (exit 0)', async () => {
    await admin('set', { apiRoutes: ['^/api/'] })
    const { run, r } = await report(api())
    expect(run.code).toBe(0)
    expect(new Set(Object.values(answers(r)))).toEqual(new Set(['401']))
    expect(ids(r)).not.toContain('fetch-default-accept')
  })

  it('--cookie-csrf-per-request without a limit: the 8 KB burst and the limit flag (exit 1)', async () => {
    stack.proxy.set({ csrfPerRequest: true })
    const { run, r } = await report(api())
    expect(run.code).toBe(1)
    const f = finding(r, 'csrf-per-request-unlimited')
    expect(f.severity).toBe('warn')
    const bytes = Number(/adds (\d+) bytes/.exec(f.summary)?.[1])
    expect(bytes).toBeGreaterThan(300)
    expect(f.summary).toContain(`${Math.floor((8192 - 10) / bytes)} of them reach nginx's 8 KB header line`)
    expect(f.fix?.proxy).toMatch(/^--cookie-csrf-per-request-limit=\d \(7\.11\+\)$/)
    expect(stack.proxy.behaviour.counters.csrfCookiesMinted).toBeGreaterThanOrEqual(2)
  })

  it('--cookie-csrf-per-request-limit=2: measured from the cookies it clears (exit 0)', async () => {
    stack.proxy.set({ csrfPerRequest: true, csrfPerRequestLimit: 2 })
    const { run, r } = await report(api())
    expect(run.code).toBe(0)
    expect(finding(r, 'csrf-per-request').summary).toContain('--cookie-csrf-per-request-limit=2')
    expect(stack.proxy.behaviour.counters.csrfCookiesCleared).toBeGreaterThan(0)
  })

  it('signed in (--cookie), app page refuses framing: the iframe re-login cannot land (exit 1)', async () => {
    stack.upstream.frameAncestors = "'none'"
    const value = await stack.proxy.behaviour.sessions.create(
      { user: { user: 'alice', email: 'alice@example.com' }, accessToken: 'e2e' },
      3600_000,
    )
    const { run, r } = await report(api(), '--cookie', `_oauth2_proxy=${value}`)
    expect(run.code).toBe(1)
    const f = finding(r, 'landing-frame-blocked')
    expect(f.evidence[0]).toContain("frame-ancestors 'none'")
    expect(f.fix?.options).toContain("callbackPath: '/reauth-callback.html'")
    expect(ids(r)).not.toContain('cookie-not-signed-in')
    expect(run.out).not.toContain(value)
    // the signed-in requests reached the upstream
    expect(stack.upstream.requests.some((q) => q.path === '/api/items')).toBe(true)
  })

  it('signed in, framing allowed: exit 0 and the landing page is checked', async () => {
    const value = await stack.proxy.behaviour.sessions.create(
      { user: { user: 'alice', email: 'alice@example.com' }, accessToken: 'e2e' },
      3600_000,
    )
    const { run, r } = await report(api(), '--cookie', `_oauth2_proxy=${value}`)
    expect(run.code).toBe(0)
    expect(ids(r)).not.toContain('landing-not-checked')
    expect(ids(r)).not.toContain('landing-frame-blocked')
  })
})

describe.runIf(nginxAvailable())('doctor: real nginx auth_request front', () => {
  it('redirects Ajax to /oauth2/start → provider: the nginx / ingress-nginx / Traefik fix (exit 1)', async () => {
    const { run, r } = await report(`${stack.nginxUrl}/api/items`)
    expect(run.code).toBe(1)
    expect(r.proxy.name).toBe('oauth2-proxy')
    expect(answers(r).sdk).toBe('redirect-to-provider')
    const f = finding(r, 'ajax-redirect')
    expect(f.summary).toContain("nginx turns /oauth2/auth's 401 into a redirect")
    expect(f.evidence[0]).toMatch(/\[sdk\] → 302 → 302 http:\/\/localhost:\d+\/auth\?/)
    expect(f.fix?.nginx).toContain('if ($oauth2_page_load = 0) { return 401; }')
    expect(f.fix?.ingressNginx).toContain('WITHOUT auth-signin')
    expect(f.fix?.traefik).toContain('errors middleware')
    expect(stack.proxy.requests.some((q) => q.originalUri === '/api/items')).toBe(true)
  })

  it('with CSRF cookies per request, each background request mints one (exit 1)', async () => {
    stack.proxy.set({ csrfPerRequest: true })
    const { run, r } = await report(`${stack.nginxUrl}/api/items`)
    expect(run.code).toBe(1)
    expect(finding(r, 'csrf-burst').summary).toContain('every background request without a session mints one')
  })

  it('a cross-origin API (page on the nginx origin): its 401 carries no CORS headers (exit 1)', async () => {
    const { run, r } = await report(api(), '--origin', stack.nginxUrl!)
    expect(run.code).toBe(1)
    expect(r.origin).toBe(stack.nginxUrl)
    const f = finding(r, 'cors-unreadable')
    expect(f.severity).toBe('error')
    expect(f.evidence[0]).toContain('ACAO: -')
    expect(r.options).toContain(`scope: { origins: ['same-origin', '${stack.appUrl}'] }`)
  })
})

describe('doctor: profile emulations', () => {
  it.each([
    ['pomerium', 0, 'createReauth({ proxy: pomerium() })'],
    ['authelia', 0, 'createReauth({ proxy: authelia() })'],
    ['google-iap', 0, "createReauth({ proxy: googleIap(), relogin: 'popup' })"],
    ['cloudflare-access', 0, 'createReauth({ proxy: cloudflareAccess() })'],
    ['azure-easy-auth', 1, 'createReauth({ proxy: azureEasyAuth() })'],
  ] as const)('%s (via /__admin/profile): detected, exit %i', async (name, code, options) => {
    await admin('profile', { name })
    const { run, r } = await report(api())
    expect(run.code).toBe(code)
    expect(r.proxy.name).toBe(name)
    expect(r.proxy.evidence.length).toBeGreaterThan(0)
    expect(r.options).toBe(options)
    expect(answers(r).sdk).toBe(name === 'azure-easy-auth' ? 'redirect-to-provider' : '401')
    expect(stack.proxy.profile?.counters.lostSession).toBeGreaterThan(0)
    if (name === 'azure-easy-auth') expect(finding(r, 'ajax-redirect').fix?.proxy).toContain('Return401')
    if (name === 'google-iap') expect(ids(r)).toContain('popup-relogin')
  })

  it('azure-easy-auth with Return401: exit 0', async () => {
    stack.proxy.useProfile('azure-easy-auth' satisfies ProfileName, { easyAuthAction: '401' })
    const { run, r } = await report(api(), '--proxy', 'azure-easy-auth')
    expect(run.code).toBe(0)
    expect(answers(r).fetch).toBe('401')
    expect(r.proxy.fromFlag).toBe(true)
  })
})

describe('doctor: could not check (exit 2, one line)', () => {
  it('a site without a proxy (the third-party API)', async () => {
    const run = await doctor(['doctor', `${stack.thirdPartyUrl}/api/items`])
    expect(run.code).toBe(2)
    expect(run.out).toBe('')
    expect(run.err.trim()).toBe(
      `ajax-reauth doctor ${stack.thirdPartyUrl}/api/items: could not check: ${stack.thirdPartyUrl}/api/items answered 200 without a session: not behind an authenticating proxy (or a route that skips authentication)`,
    )
  })

  it('an unreachable host (a closed port)', async () => {
    const port = await freePort()
    const run = await doctor(['doctor', `http://127.0.0.1:${port}/api/items`, '--timeout', '3000'])
    expect(run.code).toBe(2)
    expect(run.err.trim().split('\n')).toHaveLength(1)
    expect(run.err).toContain(`could not check: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}`)
    expect(run.err).not.toMatch(/\n\s+at /)
  })
})

describe.runIf(existsSync(BUILT))('doctor: the built bin (dist/cli.js)', () => {
  it('runs as an executable with its shebang', async () => {
    const run = await doctor(['doctor', api()], 'built')
    expect(run.code).toBe(0)
    expect(run.out).toContain('proxy: oauth2-proxy v7.15.2')
  })
})
