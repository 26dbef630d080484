import { describe, expect, it } from 'vitest'
import { analyze } from '../../src/doctor/analyze.js'
import { parseSetCookie, sameSite, siteOf } from '../../src/doctor/cookies.js'
import { formatReport, verdictLine } from '../../src/doctor/format.js'
import type { DoctorInput } from '../../src/doctor/run.js'
import { collect } from '../../src/doctor/run.js'
import type { DoctorReport } from '../../src/doctor/types.js'
import type { Handler } from './memory.js'
import { APP, behind, IDP, memorySend, nginxFront, oauth2, profile, provider } from './memory.js'

const URL_ = `${APP}/api/items`

async function doctor(handlers: Handler[], input: Partial<DoctorInput> = {}) {
  const send = memorySend(...handlers)
  const obs = await collect({ url: URL_, ...input }, send)
  return { report: analyze(obs), obs, sent: send.sent }
}
const ids = (r: DoctorReport) => r.findings.map((f) => f.id)
const finding = (r: DoctorReport, id: string) => {
  const f = r.findings.find((x) => x.id === id)
  if (!f) throw new Error(`no finding ${id} in ${ids(r).join(', ')}`)
  return f
}
const answer = (r: DoctorReport, request: string) => r.answers.find((a) => a.request === request)?.answer

describe('cookies', () => {
  it('parses Set-Cookie attributes and sizes', () => {
    const c = parseSetCookie(
      '_oauth2_proxy=abc; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None; Domain=.example.com',
    )
    expect(c).toMatchObject({
      name: '_oauth2_proxy',
      value: 'abc',
      bytes: 19,
      sameSite: 'None',
      secure: true,
    })
    expect(c).toMatchObject({ httpOnly: true, domain: '.example.com', deletes: true })
    expect(parseSetCookie('a=b; samesite=lax').sameSite).toBe('Lax')
  })
  it('approximates schemeful sites: ports never count, IPs are their own site', () => {
    expect(sameSite(new URL('http://localhost:1'), new URL('http://localhost:2'))).toBe(true)
    expect(sameSite(new URL('http://localhost:1'), new URL('http://127.0.0.1:1'))).toBe(false)
    expect(siteOf(new URL('https://app.example.com'))).toBe('https://example.com')
    expect(siteOf(new URL('https://a.b.example.co.uk'))).toBe('https://example.co.uk')
    expect(sameSite(new URL('https://app.example.com'), new URL('http://auth.example.com'))).toBe(false)
    expect(sameSite(new URL('https://a.azurewebsites.net'), new URL('https://b.azurewebsites.net'))).toBe(
      false,
    )
  })
})

describe('oauth2-proxy', () => {
  it('default: 401 to the SDK, 403 page to fetch: works, suggests --api-route', async () => {
    const { report, sent } = await doctor([behind(oauth2()), provider()])
    expect(report.verdict).toBe('ok')
    expect(report.proxy).toMatchObject({ name: 'oauth2-proxy', version: 'v7.15.2' })
    expect(answer(report, 'sdk')).toBe('401')
    expect(answer(report, 'json')).toBe('401')
    expect(answer(report, 'fetch')).toBe('403-page')
    expect(answer(report, 'page')).toBe('403-page')
    expect(finding(report, 'fetch-default-accept').fix?.proxy).toBe('--api-route=^/api/')
    expect(finding(report, 'session-cookie').summary).toContain('SameSite=Lax, not Secure, host-only')
    expect(finding(report, 'iframe-relogin').severity).toBe('info')
    expect(report.options).toBe("createReauth({ proxy: 'oauth2-proxy' })")
    expect(sent.every((x) => x.method === 'GET')).toBe(true)
    expect(sent.length).toBeLessThanOrEqual(20)
    // never the page that clears the session cookie
    expect(sent.some((x) => x.url.includes('/oauth2/sign_in'))).toBe(false)
  })

  it('plain words: the answers, each finding with its fix, one verdict line last', async () => {
    const { report } = await doctor([behind(nginxFront()), provider()])
    const text = formatReport(report)
    expect(text).toMatch(
      /^ {2}the SDK's headers \(JSON \+ X-Requested-With\) +302 → 302 redirect-to-provider http:\/\/localhost:9000\/authorize/m,
    )
    expect(text).toContain('  ! [warn] ajax-redirect: ')
    expect(text).toContain('      fix (nginx):\n        # nginx (auth_request)')
    expect(text.split('\n').at(-1)).toBe(verdictLine(report))
    expect(verdictLine(report)).toMatch(/^needs a change: 1 finding above \(\d+ requests\)$/)
  })

  it('--skip-provider-button: reported with its cost, still works with the SDK', async () => {
    const { report } = await doctor([behind(oauth2({ skipProviderButton: true })), provider()])
    expect(report.verdict).toBe('ok')
    expect(answer(report, 'page')).toBe('redirect-to-provider')
    expect(answer(report, 'sdk')).toBe('401')
    expect(finding(report, 'skip-provider-button').summary).toContain('mints a CSRF cookie')
    expect(report.answers.find((a) => a.request === 'fetch')?.csrfCookies).toBe(1)
  })

  it('--api-route: every kind of request gets the 401', async () => {
    const { report } = await doctor([behind(oauth2({ apiRoutes: [/^\/api\//] })), provider()])
    expect(report.verdict).toBe('ok')
    expect(report.answers.map((a) => a.answer)).toEqual(['401', '401', '401', '401', '401'])
    expect(ids(report)).not.toContain('fetch-default-accept')
  })

  it('nginx auth_request front: redirects Ajax, the fix is nginx / ingress-nginx / Traefik', async () => {
    const { report } = await doctor([behind(nginxFront()), provider()])
    expect(report.verdict).toBe('change')
    expect(answer(report, 'sdk')).toBe('redirect-to-provider')
    const f = finding(report, 'ajax-redirect')
    expect(f.severity).toBe('warn')
    expect(f.fix?.nginx).toContain('return 401')
    expect(f.fix?.ingressNginx).toContain('auth-signin')
    expect(f.fix?.traefik).toContain('forwardAuth')
    expect(f.fix?.proxy).toBeUndefined()
    expect(f.evidence[0]).toMatch(/\[sdk\] → 302 → 302 http:\/\/localhost:9000\/authorize/)
  })

  it('--cookie-csrf-per-request without a limit: the burst that reaches 8 KB', async () => {
    const { report } = await doctor([behind(oauth2({ csrfPerRequest: true })), provider()])
    expect(report.verdict).toBe('change')
    const f = finding(report, 'csrf-per-request-unlimited')
    const bytes = Number(/adds (\d+) bytes/.exec(f.summary)?.[1])
    expect(bytes).toBeGreaterThan(300)
    expect(f.summary).toContain(`${Math.floor((8192 - 10) / bytes)} of them reach nginx's 8 KB`)
    expect(f.fix?.proxy).toMatch(/^--cookie-csrf-per-request-limit=\d+/)
  })

  it('counts the session cookie given with --cookie in the burst', async () => {
    const cookie = `_oauth2_proxy=${'x'.repeat(2000)}`
    const { report } = await doctor([behind(oauth2({ csrfPerRequest: true })), provider()], { cookie })
    const f = finding(report, 'csrf-per-request-unlimited')
    const bytes = Number(/adds (\d+) bytes/.exec(f.summary)?.[1])
    expect(f.summary).toContain(`${Math.floor((8192 - 10 - 2016) / bytes)} of them`)
  })

  it('--cookie-csrf-per-request-limit: the limit is measured, not flagged', async () => {
    const { report } = await doctor([
      behind(oauth2({ csrfPerRequest: true, csrfPerRequestLimit: 2 })),
      provider(),
    ])
    expect(report.verdict).toBe('ok')
    expect(finding(report, 'csrf-per-request').summary).toContain('--cookie-csrf-per-request-limit=2')
  })

  it('nginx front + CSRF per request: each background request mints one', async () => {
    const { report } = await doctor([behind(nginxFront({ csrfPerRequest: true })), provider()])
    const f = finding(report, 'csrf-burst')
    expect(f.summary).toContain('every background request without a session mints one')
    expect(f.fix?.nginx).toContain('return 401')
  })

  it('SameSite=None without Secure is refused by browsers', async () => {
    const { report } = await doctor([behind(oauth2({ cookieSameSite: 'None' })), provider()])
    expect(finding(report, 'cookie-samesite-none-insecure').severity).toBe('error')
    expect(report.verdict).toBe('change')
  })

  it('https without Secure cookies', async () => {
    const https = 'https://app.example.com'
    const { report } = await doctor([behind(oauth2(), https), provider()], {
      url: `${https}/api/items`,
    })
    expect(finding(report, 'cookie-not-secure').fix?.proxy).toBe('--cookie-secure=true')
  })
})

describe('re-login in a hidden iframe', () => {
  it('a provider on another site: popup, or SameSite=None proxy cookies', async () => {
    const idp = 'https://login.other-idp.com'
    const app = 'https://app.example.com'
    const p = oauth2({ cookieSecure: true }, idp)
    const { report } = await doctor([behind(p, app), provider(idp)], { url: `${app}/api/items` })
    const f = finding(report, 'iframe-cross-site-provider')
    expect(f.fix?.options).toContain("relogin: 'popup'")
    expect(f.fix?.proxy).toContain('--cookie-samesite=none')
    expect(report.options).toContain("relogin: 'popup'")
    expect(report.verdict).toBe('change')
  })

  it('a same-site provider that refuses framing is only a note', async () => {
    const { report } = await doctor([behind(oauth2()), provider(IDP, [['X-Frame-Options', 'DENY']])])
    expect(finding(report, 'provider-framing').summary).toContain('X-Frame-Options: DENY')
    expect(report.verdict).toBe('ok')
  })

  it('signed in: a landing page that refuses framing breaks every silent re-login', async () => {
    const p = oauth2()
    const value = await p.sessions.create(
      { user: { user: 'alice', email: 'a@example.com' }, accessToken: 't' },
      3600_000,
    )
    const cookie = `_oauth2_proxy=${value}`
    const page: [string, string][] = [['Content-Security-Policy', "frame-ancestors 'none'"]]
    const { report } = await doctor([behind(p, APP, page), provider()], { cookie })
    const f = finding(report, 'landing-frame-blocked')
    expect(f.severity).toBe('error')
    expect(f.fix?.options).toContain('callbackPath')
    expect(ids(report)).not.toContain('cookie-not-signed-in')
    expect(ids(report)).not.toContain('landing-not-checked')
    // the cookie given never appears in the report
    expect(JSON.stringify(report)).not.toContain(value)
  })

  it('a --cookie that is not a session is said so', async () => {
    const { report } = await doctor([behind(oauth2()), provider()], { cookie: '_oauth2_proxy=nope' })
    expect(finding(report, 'cookie-not-signed-in').summary).toContain('401')
  })
})

describe('cross-origin API', () => {
  it('a 401 without CORS headers is unreadable', async () => {
    const page = 'http://localhost:3000'
    const { report } = await doctor([behind(oauth2()), behind(oauth2(), page), provider()], { origin: page })
    const f = finding(report, 'cors-unreadable')
    expect(f.severity).toBe('error')
    expect(f.fix?.nginx).toContain('always')
    expect(f.fix?.options).toContain(`origins: ['same-origin', '${APP}']`)
    expect(report.options).toContain(APP)
  })

  it('a 401 with ACAO + ACAC is readable', async () => {
    const page = 'http://localhost:3000'
    const cors: Handler = async (req) => {
      const r = await behind(oauth2())(req)
      if (!r) return null
      return {
        ...r,
        headers: [
          ...r.headers,
          ['Access-Control-Allow-Origin', page],
          ['Access-Control-Allow-Credentials', 'true'],
        ],
      }
    }
    const { report } = await doctor([cors, behind(oauth2(), page), provider()], { origin: page })
    expect(finding(report, 'cross-origin-api').severity).toBe('info')
    expect(ids(report)).not.toContain('cors-unreadable')
  })
})

describe('other proxies', () => {
  it.each([
    ['pomerium', 'ok'],
    ['authelia', 'ok'],
    ['google-iap', 'ok'],
    ['cloudflare-access', 'ok'],
    ['azure-easy-auth', 'change'],
  ] as const)('%s is detected (%s)', async (name, verdict) => {
    const { report } = await doctor([behind(profile(name)), provider()])
    expect(report.proxy.name).toBe(name)
    expect(report.verdict).toBe(verdict)
    expect(answer(report, 'sdk')).toBe(name === 'azure-easy-auth' ? 'redirect-to-provider' : '401')
    expect(report.options).toContain(`proxy: '${name}'`)
  })

  it('Easy Auth: the fix is Return401, which the doctor then accepts', async () => {
    const redirecting = await doctor([behind(profile('azure-easy-auth')), provider()])
    expect(finding(redirecting.report, 'ajax-redirect').fix?.proxy).toContain('Return401')
    const { report } = await doctor([behind(profile('azure-easy-auth', '401')), provider()], {
      proxy: 'azure-easy-auth',
    })
    expect(report.verdict).toBe('ok')
    expect(answer(report, 'fetch')).toBe('401')
  })

  it('Google IAP re-signs in through a popup', async () => {
    const { report } = await doctor([behind(profile('google-iap')), provider()])
    expect(finding(report, 'popup-relogin').fix?.options).toBe("relogin: 'popup'")
    expect(report.options).toBe("createReauth({ proxy: 'google-iap', relogin: 'popup' })")
  })

  it('--proxy that contradicts the answers is flagged', async () => {
    const { report } = await doctor([behind(oauth2()), provider()], { proxy: 'pomerium' })
    expect(finding(report, 'proxy-mismatch').fix?.options).toBe("proxy: 'oauth2-proxy'")
  })
})

describe('a front that redirects to /oauth2/sign_in (Traefik errors middleware)', () => {
  it('is a redirect to sign-in, and the sign-in page itself is never requested', async () => {
    const p = oauth2()
    const traefik: Handler = async (req) => {
      const u = new URL(req.url)
      if (u.origin !== APP || u.pathname.startsWith('/oauth2/')) return behind(p)(req)
      const auth = await p.handle({ ...req, url: `${APP}/oauth2/auth` })
      if ('status' in auth && auth.status === 401)
        return { status: 302, headers: [['Location', `/oauth2/sign_in?rd=${u.pathname}`]], body: '' }
      return behind(p)(req)
    }
    const { report, sent } = await doctor([traefik, provider()])
    expect(answer(report, 'sdk')).toBe('redirect-to-sign-in')
    expect(finding(report, 'ajax-redirect').fix?.traefik).toContain('errors middleware')
    expect(sent.some((x) => new URL(x.url).pathname === '/oauth2/sign_in')).toBe(false)
  })
})

describe('could not check', () => {
  it('no proxy: every request passed', async () => {
    const open: Handler = async () => ({
      status: 200,
      headers: [['Content-Type', 'application/json']],
      body: '{}',
    })
    const { report } = await doctor([open])
    expect(report.verdict).toBe('unknown')
    expect(report.failure?.kind).toBe('no-proxy')
    expect(report.failure?.message).toContain('not behind an authenticating proxy')
  })

  it('an unknown 401 is not a known proxy', async () => {
    const h: Handler = async () => ({ status: 401, headers: [['WWW-Authenticate', 'Basic']], body: '' })
    const { report } = await doctor([h])
    expect(report.failure?.message).toContain('not behind a known proxy')
  })

  it('unreachable', async () => {
    const { report, sent } = await doctor([])
    expect(report.failure).toEqual({ kind: 'unreachable', message: 'ECONNREFUSED localhost:4180' })
    expect(sent).toHaveLength(1)
  })

  it('a redirect loop', async () => {
    const loop: Handler = async (req) => ({
      status: 302,
      headers: [['Location', new URL(req.url).pathname === '/a' ? '/b' : '/a']],
      body: '',
    })
    const { report } = await doctor([loop])
    expect(report.failure?.kind).toBe('redirect-loop')
    expect(report.failure?.message).toContain('/api/items → /a → /b → /a')
  })
})
