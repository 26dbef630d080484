/**
 * The SDK's recovery storms against the real oauth2-proxy (issue 21.3): one well-chosen storm per
 * documented deployment and front, the provider at 0 / 300 / 1,000 ms behind the front that sends every
 * failed request to it, CSRF cookies per request with and without a limit, and the client matrix on one
 * deployment. The page-side scenario is `sdkStorm` (e2e/scenarios.ts), the same one storm.e2e.ts runs on
 * the emulated stack: each row here has an emulated twin there. Every request must get its data, with
 * one re-login.
 */
import { describe, expect, it } from 'vitest'
import type { RealE2E } from './harness.js'
import { dropSessionCookie, setupE2E, useDeployment } from './harness.js'
import { report } from './report.js'
import { type Bed, sdkStorm } from './scenarios.js'
import type { Adapter } from './sdk.js'
import type { RealDeployment, RealDeploymentName } from './server/real.js'
import { REAL_DEPLOYMENTS } from './server/real.js'

const e: RealE2E = setupE2E({ proxy: 'real' })
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

type Loss = 'drop' | 'revoke' | 'id-exp' | 'cookie-exp'
const LOSE: Record<Loss, () => Promise<void>> = {
  drop: async () => void (await dropSessionCookie(e.context)),
  // the session is due for refresh after 1 s (--cookie-refresh=1s); the refresh then gets invalid_grant.
  // oauth2-proxy's session age is now truncated to the second minus the creation time (SessionState.Age),
  // up to 1 s less than the time that passed: wait over 2 s.
  revoke: async () => {
    expect(e.stack.idp.revokeRefreshTokens()).toBeGreaterThan(0)
    await sleep(2_200)
  },
  // 4 s ID tokens: wait past the exp of the one the session holds
  'id-exp': () => sleep(5_000),
  // --cookie-expire=3s: the browser drops the cookie
  'cookie-exp': () => sleep(3_500),
}

const bed = (loss: Loss): Bed => ({
  base: () => e.stack.appUrl,
  lose: LOSE[loss],
  mark: () => {
    const from = e.stack.real.requests.length
    return () => ({ records: e.stack.real.requests.slice(from) })
  },
})

interface Row {
  deployment: RealDeploymentName | string
  use: RealDeployment | RealDeploymentName
  loss: Loss
  adapter?: Adapter
  /** Provider latency (ms, ± 20 %). */
  idpMs?: number
  n?: number
  /** JSON-safe `createReauth()` options (a re-login strategy). */
  options?: Record<string, unknown>
}
const CSRF_START: RealDeployment = {
  ...REAL_DEPLOYMENTS.nginxStart,
  flags: REAL_DEPLOYMENTS.csrfPerRequest.flags,
}
const CSRF_START_LIMIT: RealDeployment = {
  ...REAL_DEPLOYMENTS.nginxStart,
  flags: REAL_DEPLOYMENTS.csrfPerRequestLimit.flags,
}
const rows: Row[] = [
  { deployment: 'defaults', use: 'defaults', loss: 'drop' },
  { deployment: 'defaults (XHR)', use: 'defaults', loss: 'drop', adapter: 'xhr' },
  { deployment: 'defaults (axios)', use: 'defaults', loss: 'drop', adapter: 'axios' },
  { deployment: 'defaults (ky)', use: 'defaults', loss: 'drop', adapter: 'ky' },
  { deployment: 'skipProviderButton', use: 'skipProviderButton', loss: 'drop' },
  { deployment: 'apiRoute', use: 'apiRoute', loss: 'drop' },
  { deployment: 'forceJsonErrors', use: 'forceJsonErrors', loss: 'drop' },
  { deployment: 'cookieRefresh (invalid_grant)', use: 'cookieRefresh', loss: 'revoke' },
  { deployment: 'idTokenExpiry', use: 'idTokenExpiry', loss: 'id-exp' },
  { deployment: 'cookieExpire', use: 'cookieExpire', loss: 'cookie-exp' },
  { deployment: 'defaults, popup re-login', use: 'defaults', loss: 'drop', options: { relogin: 'popup' } },
  { deployment: 'nginx → sign_in', use: 'nginx', loss: 'drop' },
  {
    deployment: 'nginx → sign_in, popup re-login',
    use: 'nginx',
    loss: 'drop',
    options: { relogin: 'popup' },
  },
  { deployment: 'nginx → sign_in (XHR)', use: 'nginx', loss: 'drop', adapter: 'xhr' },
  { deployment: 'caddy → sign_in', use: 'caddy', loss: 'drop' },
  { deployment: 'nginx → start, provider 0 ms', use: 'nginxStart', loss: 'drop', idpMs: 0 },
  { deployment: 'nginx → start, provider 300 ms', use: 'nginxStart', loss: 'drop', idpMs: 300 },
  { deployment: 'nginx → start, provider 1000 ms', use: 'nginxStart', loss: 'drop', idpMs: 1000 },
  { deployment: 'nginx → start + csrf per request', use: CSRF_START, loss: 'drop' },
  { deployment: 'nginx → start + csrf per request, limit 3', use: CSRF_START_LIMIT, loss: 'drop' },
]

describe('real oauth2-proxy: a storm of requests at the loss, per deployment', () => {
  it.each(rows.map((r) => [r.deployment, r] as const))(
    '%s: every request gets its data, one re-login',
    async (_name, row) => {
      await useDeployment(e, row.use)
      if (row.idpMs !== undefined)
        e.stack.setLatency({ idp: row.idpMs ? { ms: row.idpMs, jitter: row.idpMs * 0.2, seed: 1 } : null })
      const adapter = row.adapter ?? 'fetch'
      const r = await sdkStorm(e.page, e.context, bed(row.loss), {
        adapter,
        n: row.n ?? 20,
        ...(row.options ? { options: row.options } : {}),
      })
      report(`real-storm ${row.deployment}`, r)
      expect(r.pending).toBe(0)
      expect(r.outcomes).toEqual({ 200: row.n ?? 20 })
      expect(r.relogins).toBe(1)
      expect(r.reloginStarts).toBe(1)
    },
  )
})
