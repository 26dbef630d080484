/**
 * The client matrix (issue #12): every popular HTTP client, bundled at its pinned version, in real
 * Chromium against the test proxy and the real provider, with `reauth.install()` (plus the client's
 * own SDK setup where it has one). Per client: a healthy session looks exactly as without the SDK;
 * a lost session is recovered silently in every proxy mode (one call, then a burst of 20; one re-login
 * each); a lost session re-login cannot save shows the client's own 401 idiom, after one flight.
 * The table in docs/clients.md is generated from this run (UPDATE_CLIENTS_DOC=1 writes it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientsBundle } from './clients/bundle.js'
import type { Seen } from './clients/entry.js'
import { graphqlRoute } from './clients/graphql-server.js'
import { CLIENT_NAMES, type ClientName, CROSS_BROWSER, SETUP } from './clients/names.js'
import { BROWSER, setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import { REPO_ROOT } from './server/upstream.js'

const e = setupE2E()
const ITEMS = {
  items: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  user: 'alice@example.com',
}
const GRAPHQL = '/api/graphql'
const BURST = 20

const FRAGMENT = '<div class="fragment" id="fragment">fragment content</div>'
/** Chromium runs every cell; Firefox and WebKit the ones named in `CROSS_BROWSER`. */
const CELLS: readonly ClientName[] = BROWSER === 'chromium' ? CLIENT_NAMES : CROSS_BROWSER
const GRAPHQL_CLIENTS: readonly ClientName[] = ['graphql-request', 'apollo client', 'urql']

const dataPath = (client: ClientName): string => {
  if (GRAPHQL_CLIENTS.includes(client)) return GRAPHQL
  return client === 'htmx' ? '/api/fragment' : '/api/items'
}
const healthyData = (client: ClientName): unknown => {
  if (client === 'htmx') return FRAGMENT
  // Apollo's cache and urql's document cache ask for `__typename`
  if (client === 'apollo client' || client === 'urql')
    return { items: ITEMS.items.map((item) => ({ __typename: 'Item', ...item })) }
  return client === 'graphql-request' ? { items: ITEMS.items } : ITEMS
}

interface Recorded {
  type: string
  reason?: string
}

/** Sign in, load the clients, and (unless `sdk` is false) create and install the SDK. */
async function open(client: ClientName, base: string, sdk = true): Promise<void> {
  await signIn(e.page, base)
  await e.page.addScriptTag({ content: await clientsBundle() })
  if (client === 'whatwg-fetch polyfill') await e.page.evaluate(() => (window as any).__matrix.polyfill())
  if (sdk) await install()
}

function install(options: Record<string, unknown> = {}): Promise<void> {
  return e.page.evaluate((o) => (window as any).__matrix.install(o), options)
}

function run(client: ClientName, url: string): Promise<Seen> {
  return e.page.evaluate(({ client, url }) => (window as any).__matrix.run(client, url), { client, url })
}

function burst(client: ClientName, url: string): Promise<Seen[]> {
  return e.page.evaluate(({ client, url, count }) => (window as any).__matrix.burst(client, url, count), {
    client,
    url,
    count: BURST,
  })
}

function events(): Promise<Recorded[]> {
  return e.page.evaluate(() => (window as any).__matrix.events() as Recorded[])
}

const count = (list: Recorded[], type: string): number => list.filter((x) => x.type === type).length
const signInStarts = (): number => e.stack.proxy.behaviour.counters.signInStarts
/** Completed sign-ins (the proxy's callback); nginx's error_page sends every lost request to /oauth2/start. */
const callbacks = (): number => e.stack.proxy.behaviour.counters.callbacks

/** Header names whose values differ between two requests the upstream saw. */
function headerDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...names].filter((n) => JSON.stringify(a[n]) !== JSON.stringify(b[n])).sort()
}

const MODES = [
  'default (401 / 403 sign-in page)',
  'skip-provider-button (302 to the provider)',
  'nginx front',
] as const
type Mode = (typeof MODES)[number]

function baseFor(mode: Mode): string {
  if (mode !== 'nginx front') return e.stack.appUrl
  const url = e.stack.nginxUrl
  if (!url) throw new Error('nginx is not running (missing /usr/sbin/nginx)')
  return url
}

interface Row {
  healthy?: boolean
  recovered: Partial<Record<Mode, boolean>>
  cannot?: { seen: Seen; flights: number; ok: boolean }
}
const results = new Map<ClientName, Row>(CLIENT_NAMES.map((c) => [c, { recovered: {} }]))

/** The client's own 401 idiom, asserted per client on what it surfaced. */
function expectIdiom(client: ClientName, seen: Seen): void {
  const body = { error: 'auth_required', reason: seen.reason }
  expect(seen.ok).toBe(false)
  expect(seen.status).toBe(401)
  expect(seen.reason).not.toBeNull()
  // graphql-request keeps a body that is not GraphQL as text; urql keeps only its message, htmx
  // swaps nothing by default (what the element holds stays, the body is on the XHR)
  if (client === 'graphql-request') expect(JSON.parse((seen.data as { body: string }).body)).toEqual(body)
  else if (client === 'urql') expect(seen.data).toBeNull()
  else if (client === 'htmx') expect([seen.data, seen.idiom.body]).toEqual(['before', body])
  else expect(seen.data).toEqual(body)
  if (client.startsWith('jquery')) expect(seen.idiom).toEqual({ textStatus: 'error', responseJSON: true })
  else if (client === 'superagent') expect(seen.idiom).toEqual({ errStatus: 401 })
  else if (client.startsWith('axios'))
    expect(seen.idiom).toMatchObject({
      isAxiosError: true,
      code: 'ERR_BAD_REQUEST',
      authRequiredError: client.endsWith('axiosReauth()'),
    })
  else if (client === 'ofetch')
    expect([seen.error, seen.idiom]).toEqual(['FetchError', { onResponseError: 1, requests: 1 }])
  else if (client === 'wretch') expect(seen.idiom).toEqual({ unauthorizedCatcher: 1, sameError: true })
  else if (client.startsWith('ky')) expect([seen.error, seen.idiom]).toEqual(['HTTPError', { retries: 0 }])
  else if (client === 'graphql-request') expect(seen.idiom).toEqual({ clientError: true })
  else if (client === 'tanstack query-core') expect(seen.idiom).toEqual({ attempts: 4 })
  else if (client === 'htmx') {
    expect(seen.idiom.responseError).toBe(1)
    expect(seen.idiom.events).not.toContain('htmx:afterSwap')
  } else if (client.startsWith('angular')) expect(seen.idiom).toEqual({ httpErrorResponse: true })
  else if (client === 'apollo client')
    expect([seen.error, seen.idiom]).toEqual(['ServerError', { serverError: true }])
  else if (client === 'urql')
    expect([seen.error, seen.idiom]).toEqual([
      'CombinedError',
      { combinedError: true, networkError: 'Unauthorized', graphQLErrors: 0 },
    ])
  else if (client === 'rtk query') expect(seen.idiom).toEqual({ errorStatus: 401 })
  else if (client === 'redaxios' || client === 'whatwg-fetch polyfill') expect(seen.idiom).toEqual({})
  else throw new Error(`no idiom for ${client}`)
}

beforeAll(() => {
  e.stack.upstream.routes.set(GRAPHQL, graphqlRoute)
})

describe.each(CELLS)('%s', (client) => {
  it('healthy session: what the app sees is identical to native; only Accept differs', async () => {
    await open(client, e.stack.appUrl, false)
    const path = dataPath(client)
    const native = [await run(client, path), await run(client, '/api/missing')]
    await install()
    const guarded = [await run(client, path), await run(client, '/api/missing')]
    expect(native[0]).toMatchObject({ ok: true, data: healthyData(client) })
    expect(native[1]).toMatchObject({ ok: false, status: 404 })
    expect(guarded).toEqual(native)
    // (urql sends a query as a GET within the URL limit: `?query=…`)
    const seen = e.stack.upstream.requests.filter((r) => r.path.split('?')[0] === path)
    expect(seen).toHaveLength(2)
    const diff = headerDiff(seen[0]!.headers, seen[1]!.headers)
    expect(diff.filter((n) => n !== 'accept')).toEqual([])
    // No X-Requested-With of the SDK's own (oauth2-proxy reads Accept alone); jQuery sends its own.
    expect(seen[1]!.headers['x-requested-with']).toBe(seen[0]!.headers['x-requested-with'])
    expect(await events()).toEqual([])
    results.get(client)!.healthy = true
  })

  it.each(MODES)(
    'lost session, %s: one call, then a burst of 20, silently recovered; one re-login each',
    async (mode) => {
      if (mode.startsWith('skip')) e.stack.proxy.set({ skipProviderButton: true })
      const base = baseFor(mode)
      await open(client, base)
      const path = dataPath(client)
      const before = callbacks()

      e.stack.proxy.expireSession()
      const t0 = performance.now()
      const single = await run(client, path)
      const singleMs = Math.round(performance.now() - t0)
      expect(single).toMatchObject({ ok: true, data: healthyData(client) })
      const afterSingle = await events()

      e.stack.proxy.expireSession()
      const many = await burst(client, path)
      const all = await events()
      report(`clients-${client}-${mode.split(' ')[0]}`, {
        single: single.ok,
        singleMs,
        burst: many.filter((s) => s.ok).length,
        relogins: callbacks() - before,
        reasons: all.filter((x) => x.type === 'reauth:required').map((x) => x.reason),
      })
      expect(many.filter((s) => !s.ok)).toEqual([])
      expect(count(afterSingle, 'reauth:start')).toBe(1)
      expect(count(all, 'reauth:start')).toBe(2)
      expect(count(all, 'reauth:success')).toBe(2)
      expect(callbacks() - before).toBe(2)
      results.get(client)!.recovered[mode] = true
    },
  )

  it("re-login impossible (provider session ended): the client's own 401 idiom, one flight", async () => {
    await open(client, e.stack.appUrl)
    const before = signInStarts()
    e.stack.proxy.expireSession()
    e.stack.idp.endSessions()
    const seen = await run(client, dataPath(client))
    const ev = await events()
    const flights = count(ev, 'reauth:start')
    const row = results.get(client)!
    row.cannot = { seen, flights, ok: false }
    report(`clients-${client}-cannot`, { seen, flights, relogins: signInStarts() - before })
    expectIdiom(client, seen)
    expect(count(ev, 'reauth:interaction-required')).toBe(flights)
    expect(flights).toBe(1)
    expect(signInStarts() - before).toBe(1)
    row.cannot.ok = true
  })
})

/** One htmx request through `__matrix.htmx` (its events in `idiom.events`). */
function htmxCall(url: string, call: Record<string, unknown> = {}): Promise<Seen> {
  return e.page.evaluate(({ url, call }) => (window as any).__matrix.htmx(url, call), { url, call })
}
const FORM = { verb: 'post', values: { note: 'hello' } }

// Issue #26 items 1 and 2, with htmx itself: the app's htmx events are its XHR's events (request
// and upload alike, as `htmx:xhr:*`), so a replay or an abort at the gate shows there first.
describe('htmx: the events the app sees', () => {
  it.each(['skip-provider-button (302 to the provider)', 'nginx front'] as const)(
    'lost session, %s: a GET and a POST replayed with the events of a healthy request, swapped once',
    async (mode) => {
      if (mode.startsWith('skip')) e.stack.proxy.set({ skipProviderButton: true })
      await open('htmx', baseFor(mode), false)
      const native = [await htmxCall('/api/fragment'), await htmxCall('/api/fragment', FORM)]
      await install()
      e.stack.proxy.expireSession()
      const lostGet = await htmxCall('/api/fragment')
      e.stack.proxy.expireSession()
      const lostPost = await htmxCall('/api/fragment', FORM)
      const ev = await events()
      report(`clients-htmx-replay-${mode.split(' ')[0]}`, { native, lostGet, lostPost })
      expect(native[0]).toMatchObject({ ok: true, data: FRAGMENT })
      expect(native[1]!.idiom.events).toContain('htmx:afterSwap')
      expect([lostGet, lostPost]).toEqual(native)
      expect(count(ev, 'reauth:success')).toBe(2)
      const posts = e.stack.upstream.requests.filter((r) => r.method === 'POST' && r.path === '/api/fragment')
      // the native POST and the replay: the lost attempt ended at the proxy
      expect(posts).toHaveLength(2)
    },
  )

  it.each(['get', 'post'] as const)(
    'a %s aborted (htmx:abort) while held for the re-login: the events of a native abort in flight',
    async (verb) => {
      const call = verb === 'get' ? { abortAfterMs: 0 } : { ...FORM, abortAfterMs: 0 }
      await open('htmx', e.stack.appUrl, false)
      const native = await htmxCall('/api/slow?ms=5000', call)
      await install({ heldRelogin: true })
      e.stack.proxy.expireSession()
      await e.page.evaluate(() => (window as any).__matrix.startFlight('/api/items'))
      const held = await htmxCall('/api/fragment', call)
      const kickoff = await e.page.evaluate(() => (window as any).__matrix.releaseFlight())
      report(`clients-htmx-abort-held-${verb}`, { native, held })
      expect(native.idiom.events).toContain('htmx:xhr:abort')
      expect(held).toEqual(native)
      expect(e.stack.upstream.requests.filter((r) => r.path === '/api/fragment')).toEqual([])
      // the flight failed (the held re-login did nothing): the lost fetch got the synthetic 401
      expect(kickoff).toBe(401)
    },
  )
})

// ky 2.1 wraps the CORS TypeError in its NetworkError and retries it (GET) before any hook sees it (issue 22.5).
// The rest of the file (ky 2's hooks, the table) is Chromium's: the other browsers run CROSS_BROWSER.
if (BROWSER === 'chromium') {
  describe('ky 2 with kyReauth() hooks only (no install, no fetch option)', () => {
    const ky2 = (method: string, url: string, json?: unknown): Promise<Seen> =>
      e.page.evaluate(({ method, url, json }) => (window as any).__matrix.ky2Hooks(method, url, json), {
        method,
        url,
        json,
      })
    const open2 = async (base: string): Promise<void> => {
      await signIn(e.page, base)
      await e.page.addScriptTag({ content: await clientsBundle() })
      await e.page.evaluate(() => (window as any).__matrix.install({}, false))
    }

    // The nginx front answers any lost request with a 302 to /oauth2/start, then the provider: a CORS
    // TypeError whatever Accept says (ky's .json() makes oauth2-proxy itself answer 401 {}).
    it('lost session behind the nginx front: a GET and a POST recovered, one re-login each, no ky retry', async () => {
      await open2(baseFor('nginx front'))
      const before = callbacks()
      e.stack.proxy.expireSession()
      const starts = signInStarts()
      const get = await ky2('GET', '/api/items')
      expect(get).toMatchObject({ ok: true, data: ITEMS, idiom: { retries: 0 } })
      // the lost GET and the re-login's own /oauth2/start: no ky retry minted another
      const getStarts = signInStarts() - starts
      expect(getStarts).toBe(2)
      e.stack.proxy.expireSession()
      const post = await ky2('POST', '/api/echo', { n: 1 })
      expect(post).toMatchObject({
        ok: true,
        data: { method: 'POST', body: '{"n":1}' },
        idiom: { retries: 0 },
      })
      const ev = await events()
      report('clients-ky2-hooks-only-nginx', {
        getStarts,
        relogins: callbacks() - before,
        ev,
      })
      expect(ev.filter((x) => x.type === 'reauth:required').map((x) => x.reason)).toEqual([
        'network-error',
        'network-error',
      ])
      expect(count(ev, 'reauth:success')).toBe(2)
      expect(callbacks() - before).toBe(2)
      // the POST reached the app once: its replay (the lost one ended at the proxy)
      expect(
        e.stack.upstream.requests.filter((r) => r.method === 'POST' && r.path === '/api/echo'),
      ).toHaveLength(1)
    })

    it("re-login impossible (nginx front): ky's own HTTPError 401, no ky retry, one flight", async () => {
      await open2(baseFor('nginx front'))
      e.stack.proxy.expireSession()
      e.stack.idp.endSessions()
      const seen = await ky2('GET', '/api/items')
      const ev = await events()
      expect(seen).toMatchObject({ ok: false, status: 401, error: 'HTTPError', reason: 'network-error' })
      expect(seen.idiom).toEqual({ retries: 0 })
      expect(count(ev, 'reauth:start')).toBe(1)
    })
  })
}

/** One line of what the app sees when re-login cannot save the request. */
function surfaced(client: ClientName, row: Row): string {
  const c = row.cannot
  if (!c) return 'not run'
  const { seen } = c
  const shape: Record<string, string> = {
    status: '`fetch` resolves a `Response`',
    error: '`fail` callback (`textStatus` `error`)',
    response: 'rejects with its response object',
    'htmx:responseError': '`htmx:responseError` (`detail.xhr`)',
    'rtk query': '`initiate()` resolves `{ error: { status, data } }`',
  }
  const i = seen.idiom
  const parts = [shape[seen.error ?? ''] ?? `\`${seen.error}\``, `status ${seen.status}`]
  const parsed = seen.data && typeof seen.data === 'object' && 'error' in seen.data
  if (parsed && client !== 'apollo client') parts.push('JSON body parsed')
  if (seen.data && typeof seen.data === 'object' && 'body' in seen.data) parts.push('JSON body as text')
  if (client === 'htmx' && i.responseError) parts.push('JSON body in `xhr.responseText`, nothing swapped')
  if (client === 'urql')
    parts.push(`on \`error.response\`, \`networkError\` "${i.networkError}", body not kept`)
  if (client === 'apollo client' && parsed) parts.push('JSON body as text in `bodyText`')
  if (seen.reason) parts.push(`\`authRequiredReason()\` → \`${seen.reason}\``)
  if (client.startsWith('jquery') && i.responseJSON) parts.push('`responseJSON`')
  if (i.clientError) parts.push('`ClientError`')
  if (i.authRequiredError) parts.push('also an `AuthRequiredError` (`isAuthRequiredError`)')
  if (i.onResponseError) parts.push('`onResponseError` ran')
  if (i.unauthorizedCatcher) parts.push('`.unauthorized()` ran')
  if (typeof i.retries === 'number') parts.push(`${i.retries} ky retries`)
  if (typeof i.attempts === 'number') parts.push(`${i.attempts} query attempts`)
  parts.push(`${c.flights} re-login flight${c.flights === 1 ? '' : 's'}`)
  return `${c.ok ? '' : '✗ '}${parts.join(', ')}`
}

function table(): string {
  const lines = [
    '# HTTP clients',
    '',
    'Generated by `e2e/clients.e2e.ts` (real Chromium, the test proxy and a real OpenID provider; each',
    'client bundled at the version in `package.json`). "Recovers silently": a lost session in that proxy',
    'mode is re-established in a hidden iframe and the call (and a burst of 20 calls) gets its data, with',
    'one re-login each. "When it cannot": the provider session has ended too, so the iframe cannot sign',
    'in (`reauth:interaction-required`); this is what the app gets, in the default mode. The reason',
    'depends on how the proxy answered: behind a front that redirects Ajax to `/oauth2/start` (the',
    'nginx front here, ingress-nginx) the same call gets the same status and body with the reason',
    '`network-error` (the CORS failure, confirmed by the probe; see the ky 2 hooks-only tests of',
    '`e2e/clients.e2e.ts` and `e2e/sdk-session.e2e.ts`).',
    '',
    `The ${CROSS_BROWSER.join(' and ')} rows run in Firefox ESR and WebKitGTK too (same file, same checks).`,
    'GraphQL clients talk to a real GraphQL server (graphql-http); `authRequiredReason()` reads what',
    'each client hands the app (RTK Query: `meta.response` in `transformErrorResponse`).',
    '',
    '| client | healthy session as native | recovers silently | what the app sees when it cannot | setup needed |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const client of CLIENT_NAMES) {
    const row = results.get(client)!
    const modes = MODES.map((m) => `${row.recovered[m] ? '✓' : '✗'} ${m.split(' (')[0]}`).join(', ')
    lines.push(
      `| ${client} | ${row.healthy ? '✓' : '✗'} | ${modes} | ${surfaced(client, row)} | ${SETUP[client]} |`,
    )
  }
  return `${lines.join('\n')}\n`
}

if (BROWSER === 'chromium') {
  afterAll(() => {
    const out = join(REPO_ROOT, 'e2e/.output')
    if (!existsSync(out)) mkdirSync(out, { recursive: true })
    writeFileSync(join(out, 'clients.md'), table())
  })

  describe('docs/clients.md', () => {
    it('matches this run (UPDATE_CLIENTS_DOC=1 rewrites it)', () => {
      const file = join(REPO_ROOT, 'docs/clients.md')
      const now = table()
      if (process.env.UPDATE_CLIENTS_DOC) {
        mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true })
        writeFileSync(file, now)
      }
      expect(existsSync(file) ? readFileSync(file, 'utf8') : '').toBe(now)
    })
  })
}
