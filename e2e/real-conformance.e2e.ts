/**
 * Conformance: one matrix of requests (page load / fetch / `Accept: application/json` /
 * `X-Requested-With` × session state × deployment and front, plus the `/oauth2/*` endpoints) sent to
 * the real oauth2-proxy and to the project's emulations: the e2e test proxy (with its real nginx
 * front) and `ajax-reauth/testing`'s msw handlers. Every difference in what the SDK reads is either
 * fixed in the emulation or listed in docs/emulation.md's table; a row that no longer matches a
 * difference fails too. Node only: no browser (the browser's part is in real-proxy.e2e.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getResponse } from 'msw'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OAuth2ProxyHandlersOptions } from '../src/testing/index.js'
import { oauth2ProxyHandlers } from '../src/testing/index.js'
import type { Cell, DeploymentId, Difference, Fingerprint, State } from './conformance.js'
import { cells, deliberateRows, differences, fingerprint, rowMatches } from './conformance.js'
import { report } from './report.js'
import { NodeJar, nodeSignIn, tamper } from './server/node-browser.js'
import type { FlagValue, RealDeployment, RealStack } from './server/real.js'
import type { Stack } from './server/stack.js'
import { startStack } from './server/stack.js'
import { REPO_ROOT } from './server/upstream.js'

const REAL: Record<DeploymentId, RealDeployment> = {
  defaults: {},
  'skip-provider-button': { flags: { 'skip-provider-button': true } },
  'api-route': { flags: { 'api-route': ['^/api/'] } },
  'force-json-errors': { flags: { 'force-json-errors': true } },
  'csrf-per-request': { flags: { 'skip-provider-button': true, 'cookie-csrf-per-request': true } },
  'csrf-per-request-limit': {
    flags: {
      'skip-provider-button': true,
      'cookie-csrf-per-request': true,
      'cookie-csrf-per-request-limit': 2,
    },
  },
  nginx: { front: 'nginx' },
  'nginx-start': { front: 'nginx-start' },
  caddy: { front: 'caddy' },
}
/** How each state is reached on the real binary: flags on top of the deployment's. */
const STATE_FLAGS: Record<State, Record<string, FlagValue>> = {
  valid: {},
  none: {},
  tampered: {},
  expired: { 'cookie-expire': '1s' },
  'refresh-failed': { 'cookie-refresh': '1s' },
  'id-token-expired': { 'cookie-refresh': '1s' },
  'not-allowed': { 'email-domain': 'example.org' },
}

const TESTING_APP = 'http://app.test'
const TESTING_LOGIN = 'http://login.test'
const TESTING: Partial<Record<DeploymentId, OAuth2ProxyHandlersOptions>> = {
  defaults: {},
  'skip-provider-button': { mode: 'redirect-to-provider' },
  'api-route': { proxy: { apiRoutes: [/^\/api\//] } },
  'force-json-errors': { mode: 'ajax-401' },
  'csrf-per-request': { mode: 'redirect-to-provider', csrfPerRequest: true },
  'csrf-per-request-limit': { mode: 'redirect-to-provider', csrfPerRequest: true, csrfPerRequestLimit: 2 },
  'nginx-start': { mode: 'nginx-front' },
}

const ALL = cells()
const real = new Map<string, Fingerprint>()
let realStack: RealStack
let emulated: Stack

beforeAll(async () => {
  realStack = await startStack({ proxy: 'real' })
  emulated = await startStack({ nginx: true })
}, 60_000)
afterAll(async () => {
  await Promise.allSettled([realStack?.stop(), emulated?.stop()])
})

/** Sessions minted once on the real binary (cookies are self-contained: re-sending one is the same request). */
async function realCookies() {
  const s = realStack
  s.idp.setTokens({ idTokenTtl: 2, refreshTokens: false })
  const idTokenExpiring = await nodeSignIn(s.urls.direct)
  const mintedAt = Date.now()
  s.idp.setTokens({ idTokenTtl: 3600, refreshTokens: true })
  const valid = await nodeSignIn(s.urls.direct)
  expect(s.idp.revokeRefreshTokens()).toBeGreaterThan(0)
  // older than --cookie-expire=1s / --cookie-refresh=1s, and past the 2 s ID token's exp
  await new Promise((r) => setTimeout(r, Math.max(0, mintedAt + 2_500 - Date.now())))
  return { valid, idTokenExpiring }
}

function realCookieFor(state: State, c: { valid: string; idTokenExpiring: string }): string | null {
  if (state === 'none') return null
  if (state === 'tampered') return tamper(c.valid)
  if (state === 'id-token-expired') return c.idTokenExpiring
  return c.valid
}

const send = (url: string, headers: Record<string, string>, cookie: string | null) =>
  fetch(url, { headers: { ...headers, ...(cookie ? { cookie } : {}) }, redirect: 'manual' })

describe('conformance', () => {
  it('the real binary answers the whole matrix', async () => {
    const cookies = await realCookies()
    const groups = new Map<string, Cell[]>()
    for (const c of ALL)
      groups.set(`${c.deployment}/${c.state}`, [...(groups.get(`${c.deployment}/${c.state}`) ?? []), c])
    const origins = { app: Object.values(realStack.urls), provider: [realStack.idpUrl] }
    for (const group of groups.values()) {
      const { deployment, state } = group[0] as Cell
      const spec = REAL[deployment]
      await realStack.real.configure({ ...spec, flags: { ...spec.flags, ...STATE_FLAGS[state] } })
      const cookie = realCookieFor(state, cookies)
      for (const c of group)
        real.set(c.id, await fingerprint(await send(realStack.appUrl + c.path, c.headers, cookie), origins))
    }
    // every answer: e2e/.output/conformance-real.json (what docs/emulation.md's tables are read from)
    mkdirSync(join(REPO_ROOT, 'e2e/.output'), { recursive: true })
    writeFileSync(
      join(REPO_ROOT, 'e2e/.output/conformance-real.json'),
      `${JSON.stringify({ version: realStack.real.version, answers: Object.fromEntries(real) }, null, 2)}\n`,
    )
    report('conformance-real', { version: realStack.real.version, cells: real.size })
    expect(real.size).toBe(ALL.length)
  }, 180_000)

  it('the e2e test proxy (and its real nginx front) matches the real binary, or docs/emulation.md says why not', async () => {
    const diffs: Difference[] = []
    const s = emulated
    const origins = { app: [s.appUrl, s.nginxUrl ?? ''], provider: [s.idpUrl] }
    for (const c of ALL) {
      const r = real.get(c.id)
      if (!r) throw new Error(`no real answer for ${c.id}`)
      const fp = await e2eAnswer(s, c, origins)
      if (fp) diffs.push(...differences(c.id, 'e2e', r, fp))
    }
    expectListed('e2e', diffs)
  }, 180_000)

  it('ajax-reauth/testing handlers match the real binary, or docs/emulation.md says why not', async () => {
    const diffs: Difference[] = []
    for (const c of ALL) {
      const r = real.get(c.id)
      if (!r) throw new Error(`no real answer for ${c.id}`)
      const fp = await testingAnswer(c)
      if (fp) diffs.push(...differences(c.id, 'testing', r, fp))
    }
    expectListed('testing', diffs)
  })
})

const E2E_OPTIONS: Partial<Record<DeploymentId, Parameters<Stack['proxy']['set']>[0]>> = {
  defaults: {},
  'skip-provider-button': { skipProviderButton: true },
  'api-route': { apiRoutes: [/^\/api\//] },
  'force-json-errors': { forceJsonErrors: true },
  'csrf-per-request': { skipProviderButton: true, csrfPerRequest: true },
  'csrf-per-request-limit': { skipProviderButton: true, csrfPerRequest: true, csrfPerRequestLimit: 2 },
  'nginx-start': {},
}

/** The e2e test proxy's answer to one cell (prepared from scratch: its sessions live server-side). */
async function e2eAnswer(s: Stack, c: Cell, origins: { app: string[]; provider: string[] }) {
  const options = E2E_OPTIONS[c.deployment]
  if (!options) return null // no such front in the emulated stack: see docs/emulation.md
  s.reset()
  s.proxy.set(options)
  const base = c.deployment === 'nginx-start' ? (s.nginxUrl ?? '') : s.appUrl
  if (c.state === 'id-token-expired') s.idp.setTokens({ idTokenTtl: 2, refreshTokens: false })
  let cookie = c.state === 'none' ? null : await nodeSignIn(s.appUrl, new NodeJar())
  if (c.state === 'tampered' && cookie) cookie = tamper(cookie)
  if (c.state === 'expired') s.proxy.expireSession()
  if (c.state === 'refresh-failed') {
    s.proxy.set({ cookieRefreshMs: 1_000 })
    s.idp.revokeRefreshTokens()
    s.proxy.behaviour.ageSession(3_000)
  }
  // the proxy's clock 3 s ahead: the session is due for refresh and its 2 s ID token expired
  if (c.state === 'id-token-expired') s.proxy.set({ cookieRefreshMs: 1_000, now: () => Date.now() + 3_000 })
  if (c.state === 'not-allowed') s.proxy.set({ notAllowedEmails: ['alice@example.com'] })
  return fingerprint(await send(base + c.path, c.headers, cookie), origins)
}

/** `ajax-reauth/testing`'s answer to one cell, through msw's `getResponse` (no server). */
async function testingAnswer(c: Cell): Promise<Fingerprint | null> {
  const options = TESTING[c.deployment]
  if (!options) return null
  const p = oauth2ProxyHandlers({
    ...options,
    baseUrl: TESTING_APP,
    loginOrigin: TESTING_LOGIN,
    signedIn: c.state !== 'none',
  })
  await p.session.reset()
  if (c.state === 'tampered') await p.session.tamper()
  if (c.state === 'expired') await p.session.expire()
  if (c.state === 'refresh-failed' || c.state === 'id-token-expired') {
    p.behaviour.set({ cookieRefreshMs: 1_000 })
    p.behaviour.ageSession(3_000)
  }
  if (c.state === 'not-allowed') p.behaviour.set({ notAllowedEmails: ['alice@example.com'] })
  const res = await getResponse(p.handlers, new Request(TESTING_APP + c.path, { headers: c.headers }))
  const origins = { app: [TESTING_APP], provider: [TESTING_LOGIN] }
  // undefined: the emulation let the request through to the app's own handlers
  const passed = new Response(JSON.stringify({ items: [] }), {
    headers: { 'content-type': 'application/json' },
  })
  return fingerprint(res ?? passed, origins)
}

function expectListed(emulation: Difference['emulation'], diffs: Difference[]) {
  const rows = deliberateRows().filter((r) => r.emulation === emulation || r.emulation === '*')
  const unlisted = diffs.filter((d) => !rows.some((r) => rowMatches(r, d)))
  const stale = rows.filter((r) => !diffs.some((d) => rowMatches(r, d)))
  report(`conformance-${emulation}`, { differences: diffs.length, unlisted, stale: stale.map((r) => r.cell) })
  expect(unlisted).toEqual([])
  expect(stale).toEqual([])
}
