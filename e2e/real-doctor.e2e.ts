/**
 * `ajax-reauth doctor` against the real oauth2-proxy binary in each documented deployment (issue 21.6,
 * 24.7): what it sees, the fix it prints, and, where it asks for a change, the printed fix applied (the
 * flag, or the nginx / Caddy configuration on a fresh real nginx / Caddy) until it exits 0. No browser.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { answers, finding, ids, report } from './doctor-cli.js'
import { report as reportRow } from './report.js'
import { type CaddyFront, startCaddy } from './server/caddy.js'
import { type NginxFront, type NginxSignIn, startNginx } from './server/nginx.js'
import { REAL_DEPLOYMENTS, type RealDeploymentName, type RealStack } from './server/real.js'
import { startStack } from './server/stack.js'

let stack: RealStack
beforeAll(async () => {
  stack = await startStack({ proxy: 'real' })
})
afterAll(async () => {
  await stack?.stop()
})
beforeEach(async () => {
  await stack.reset()
})

const api = () => `${stack.appUrl}/api/items`
const ports = () => ({
  proxyPort: stack.real.hopPort,
  upstreamPort: Number(new URL(stack.upstream.url).port),
})

/** The doctor's fix for nginx, applied as its comments say: the `map` in http { }, the location in server { }. */
const applyNginxFix = (fix: string) => (conf: string) => {
  const map = /^map .*$/m.exec(fix)?.[0]
  const location = /^location @oauth2_signin \{[\s\S]*?^\}/m.exec(fix)?.[0]
  if (!map || !location) throw new Error(`not an nginx fix: ${fix}`)
  const patched = conf
    .replace(/^ {2}server \{/m, `  ${map}\n\n  server {`)
    .replace(/^ {4}location @oauth2_signin \{[\s\S]*?^ {4}\}/m, location)
  if (patched === conf || !patched.includes('$oauth2_page_load'))
    throw new Error('the nginx fix did not apply')
  return patched
}

/** The doctor's fix for Caddy: its `handle_response @error { … }` instead of the recipe's. */
const applyCaddyFix = (fix: string) => (conf: string) => {
  const block = /^\thandle_response @error \{[\s\S]*?^\t\}/m.exec(fix)?.[0]
  if (!block) throw new Error(`not a Caddy fix: ${fix}`)
  const patched = conf.replace(/handle_response @error \{[\s\S]*?\n\t\t\t\}/, block.trim())
  if (patched === conf) throw new Error('the Caddy fix did not apply')
  return patched
}

describe('doctor: real oauth2-proxy, deployments that work with the SDK as they are', () => {
  const ok: RealDeploymentName[] = [
    'defaults',
    'skipProviderButton',
    'apiRoute',
    'forceJsonErrors',
    'csrfPerRequestLimit',
    'cookieRefresh',
    'idTokenExpiry',
  ]
  it.each(ok)('%s: exit 0, the proxy named (and its version, from its sign-in page)', async (name) => {
    await stack.real.configure(name)
    const { run, r } = await report(api())
    reportRow(`real-doctor-${name}`, { code: run.code, answers: answers(r), findings: ids(r) })
    expect(run.code).toBe(0)
    expect(r.proxy.name).toBe('oauth2-proxy')
    // the version is in the sign-in page's footer: named where a lost session shows that page
    if (Object.values(answers(r)).includes('403-page')) expect(r.proxy.version).toBe(stack.real.version)
    expect(answers(r).sdk).toBe('401')
  })
})

describe('doctor: real oauth2-proxy, deployments that need a change, and the change applied', () => {
  it('--cookie-csrf-per-request without a limit: the limit flag (exit 1); with it, exit 0', async () => {
    await stack.real.configure('csrfPerRequest')
    const before = await report(api())
    expect(before.run.code).toBe(1)
    const f = finding(before.r, 'csrf-per-request-unlimited')
    const limit = /--cookie-csrf-per-request-limit=(\d+)/.exec(f.fix?.proxy ?? '')?.[1]
    expect(limit).toBeDefined()
    await stack.real.configure({
      flags: { ...REAL_DEPLOYMENTS.csrfPerRequest.flags, 'cookie-csrf-per-request-limit': Number(limit) },
    })
    const after = await report(api())
    reportRow('real-doctor-csrfPerRequest', {
      before: { code: before.run.code, findings: ids(before.r), fix: f.fix?.proxy },
      after: { code: after.run.code, findings: ids(after.r) },
    })
    expect(after.run.code).toBe(0)
    expect(finding(after.r, 'csrf-per-request').summary).toContain(`--cookie-csrf-per-request-limit=${limit}`)
  })

  const nginxFronts: [RealDeploymentName, NginxSignIn, string][] = [
    ['nginx', 'docs-sign-in', 'redirect-to-sign-in'],
    ['nginxStart', 'ingress-start', 'redirect-to-provider'],
  ]
  it.each(nginxFronts)(
    '%s: nginx turns the 401 into a redirect (exit 1); the printed nginx fix on real nginx: exit 0',
    async (name, signIn, answer) => {
      await stack.real.configure(name)
      const before = await report(api())
      expect(before.run.code).toBe(1)
      expect(answers(before.r).sdk).toBe(answer)
      const f = finding(before.r, 'ajax-redirect')
      expect(f.summary).toContain("nginx turns /oauth2/auth's 401 into a redirect")
      expect(f.fix?.caddy).toBeUndefined()
      let fixed: NginxFront | null = null
      try {
        fixed = await startNginx({ ...ports(), signIn, patch: applyNginxFix(f.fix?.nginx ?? '') })
        const after = await report(`${fixed.url}/api/items`)
        reportRow(`real-doctor-${name}`, {
          before: { code: before.run.code, answers: answers(before.r), findings: ids(before.r) },
          after: { code: after.run.code, answers: answers(after.r), findings: ids(after.r) },
        })
        expect(after.run.code).toBe(0)
        expect(answers(after.r)).toMatchObject({ sdk: '401', json: '401', fetch: '401' })
        // page loads keep the redirect to sign in
        expect(answers(after.r).page).toBe('redirect-to-provider')
      } finally {
        await fixed?.stop()
      }
    },
  )

  it("caddy: forward_auth's redir (exit 1); the printed Caddy fix on Debian's Caddy: exit 0", async () => {
    await stack.real.configure('caddy')
    const before = await report(api())
    expect(before.run.code).toBe(1)
    expect(answers(before.r).sdk).toBe('redirect-to-sign-in')
    const f = finding(before.r, 'ajax-redirect')
    expect(f.summary).toContain("Caddy turns /oauth2/auth's 401 into a redirect")
    expect(f.fix?.nginx).toBeUndefined()
    expect(f.fix?.caddy).toContain('respond 401')
    let fixed: CaddyFront | null = null
    try {
      fixed = await startCaddy({ ...ports(), patch: applyCaddyFix(f.fix?.caddy ?? '') })
      const after = await report(`${fixed.url}/api/items`)
      reportRow('real-doctor-caddy', {
        before: { code: before.run.code, answers: answers(before.r), findings: ids(before.r) },
        after: { code: after.run.code, answers: answers(after.r), findings: ids(after.r) },
      })
      expect(after.run.code).toBe(0)
      expect(answers(after.r)).toMatchObject({ sdk: '401', json: '401', fetch: '401' })
      expect(answers(after.r).page).toBe('redirect-to-sign-in')
    } finally {
      await fixed?.stop()
    }
  })

  it('caddy: the naive fix (respond @ajax 401 written before redir) still redirects: Caddy orders redir first', async () => {
    const naive = `\thandle_response @error {
\t\t@ajax not header Accept *text/html*
\t\trespond @ajax 401
\t\tredir * /oauth2/sign_in?rd={scheme}://{hostport}{uri}
\t}`
    let fixed: CaddyFront | null = null
    try {
      fixed = await startCaddy({ ...ports(), patch: applyCaddyFix(naive) })
      const { run, r } = await report(`${fixed.url}/api/items`)
      expect(run.code).toBe(1)
      expect(answers(r).sdk).toBe('redirect-to-sign-in')
    } finally {
      await fixed?.stop()
    }
  })
})
