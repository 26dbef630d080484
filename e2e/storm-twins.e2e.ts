import { describe, expect, it } from 'vitest'
import { setupE2E } from './harness.js'
import { report } from './report.js'
import { type Bed, sdkStorm } from './scenarios.js'

const e = setupE2E()

/**
 * The emulated twins of e2e/real-storm.e2e.ts's rows (the same `sdkStorm`): what the real binary
 * showed, against what the emulation shows. Chromium only, as the real rows are (vitest.e2e.config.ts runs
 * this file in Chromium alone).
 */
describe('emulated twins of the real-oauth2-proxy storms', () => {
  const lose: Record<string, () => Promise<void>> = {
    drop: async () => void e.stack.proxy.deleteSession(),
    revoke: async () => {
      e.stack.proxy.behaviour.ageSession(120_000)
      expect(e.stack.idp.revokeRefreshTokens()).toBeGreaterThan(0)
    },
  }
  const bed = (base: () => string, loss: keyof typeof lose): Bed => ({
    base,
    lose: lose[loss]!,
    mark: () => {
      const from = e.stack.proxy.requests.length
      return () => ({ records: e.stack.proxy.requests.slice(from) })
    },
  })
  const app = () => e.stack.appUrl
  const nginx = () => {
    if (!e.stack.nginxUrl) throw new Error('nginx is not running')
    return e.stack.nginxUrl
  }
  const twins: [string, () => string, keyof typeof lose, Record<string, unknown>, number | undefined][] = [
    ['defaults', app, 'drop', {}, undefined],
    ['skipProviderButton', app, 'drop', { skipProviderButton: true }, undefined],
    ['apiRoute', app, 'drop', { apiRoutes: [/^\/api\//] }, undefined],
    ['forceJsonErrors', app, 'drop', { forceJsonErrors: true }, undefined],
    ['cookieRefresh (invalid_grant)', app, 'revoke', { cookieRefreshMs: 60_000 }, undefined],
    ['nginx → start, provider 0 ms', nginx, 'drop', {}, 0],
    ['nginx → start, provider 300 ms', nginx, 'drop', {}, 300],
    ['nginx → start, provider 1000 ms', nginx, 'drop', {}, 1000],
    ['nginx → start + csrf per request', nginx, 'drop', { csrfPerRequest: true }, undefined],
    [
      'nginx → start + csrf per request, limit 3',
      nginx,
      'drop',
      { csrfPerRequest: true, csrfPerRequestLimit: 3 },
      undefined,
    ],
  ]
  it.each(twins)('%s: every request gets its data, one re-login', async (name, base, loss, proxy, idpMs) => {
    e.stack.proxy.set(proxy)
    if (idpMs !== undefined)
      e.stack.setLatency({ idp: idpMs ? { ms: idpMs, jitter: idpMs * 0.2, seed: 1 } : null })
    const r = await sdkStorm(e.page, e.context, bed(base, loss), { adapter: 'fetch', n: 20 })
    report(`emulated-storm ${name}`, r)
    expect(r.pending).toBe(0)
    expect(r.outcomes).toEqual({ 200: 20 })
    expect(r.relogins).toBe(1)
    expect(r.reloginStarts).toBe(1)
  })
})
