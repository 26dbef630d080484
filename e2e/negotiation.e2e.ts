/**
 * Content negotiation and the SDK's `Accept` (issue #26.3). An upstream that picks HTML or JSON from
 * `Accept` (express's `accepts`, i.e. negotiator, as `res.format()` does) and a GraphQL-over-HTTP server
 * (graphql-http's own negotiation), driven by htmx 2 (sends no `Accept`: the browser's `*\/*`) and Apollo
 * Client 4 (`application/graphql-response+json,application/json;q=0.9`), in real browsers behind the test
 * proxy. Healthy: with `install()` the client sends the same `Accept` and gets the same representation as
 * without the SDK. Lost session (oauth2-proxy's default 403 sign-in page, and `--skip-provider-button`'s
 * 302 to the provider): recovered by one re-login without an `Accept` of the SDK's; what that costs
 * against a bare `fetch`, to which the SDK adds `application/json` (the proxy's Ajax 401), is reported.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import accepts from 'accepts'
import { beforeAll, describe, expect, it } from 'vitest'
import { browserBundle } from './clients/bundle.js'
import { setupE2E, signIn } from './harness.js'
import { report } from './report.js'
import { readBody } from './server/net.js'
import { REPO_ROOT } from './server/upstream.js'

const e = setupE2E()
const ITEMS = [
  { id: 1, name: 'one' },
  { id: 2, name: 'two' },
]
const FRAGMENT = `<ul>${ITEMS.map((i) => `<li>${i.name}</li>`).join('')}</ul>`
const SWAPPED = ITEMS.map((i) => i.name).join('')
const HTML_ROUTE = '/negotiate/items'
const GRAPHQL_ROUTE = '/negotiate/graphql'
const BURST = 5

// CommonJS both, so graphql-http and the schema share one copy of graphql (its ESM build is another realm).
const require = createRequire(import.meta.url)
const { buildSchema } = require('graphql') as typeof import('graphql')
const { createHandler } = require('graphql-http') as typeof import('graphql-http')
const graphql = createHandler({
  schema: buildSchema('type Item { id: Int!, name: String! } type Query { items: [Item!]! }'),
  rootValue: { items: () => ITEMS },
})

async function graphqlRoute(req: IncomingMessage) {
  const raw = (await readBody(req)).toString('utf8')
  const [body, init] = await graphql({
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: { get: (name: string) => [req.headers[name.toLowerCase()]].flat()[0] ?? null },
    body: raw,
    raw: req,
    context: undefined,
  })
  const headers = (init.headers ?? {}) as Record<string, string>
  return { status: init.status, type: headers['content-type'] ?? 'text/plain', body: body ?? '' }
}

/** Apollo Client as an app bundles it (esbuild, production build), exposed as `window.__apollo`. */
const apollo = (): Promise<string> =>
  browserBundle({
    contents: `
          import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client'
          const QUERY = gql\`{ items { id name } }\`
          window.__apollo = async (uri) => {
            const seen = {}
            // window.fetch at call time: the patched one once install() ran.
            const fetch = (input, init) => window.fetch(input, init).then((r) => {
              seen.status = r.status
              seen.type = r.headers.get('content-type')
              return r
            })
            const client = new ApolloClient({ link: new HttpLink({ uri, fetch }), cache: new InMemoryCache() })
            try {
              const r = await client.query({ query: QUERY, fetchPolicy: 'network-only' })
              return { ...seen, data: r.data ?? null, error: null }
            } catch (err) {
              return { ...seen, data: null, error: String(err) }
            }
          }`,
  })

beforeAll(() => {
  e.stack.upstream.routes.set(HTML_ROUTE, async (req) => {
    // What express's res.format() / req.accepts() pick, in the order the route offers them.
    const type = accepts(req).type(['html', 'json'])
    if (type === 'html') return { type: 'text/html; charset=utf-8', body: FRAGMENT }
    if (type === 'json') return { type: 'application/json; charset=utf-8', body: JSON.stringify(ITEMS) }
    return { status: 406, type: 'text/plain', body: 'Not Acceptable' }
  })
  e.stack.upstream.routes.set(GRAPHQL_ROUTE, graphqlRoute)
})

/** Sign in, load htmx and Apollo Client into the app page, and install the SDK unless `sdk` is false. */
async function open(sdk: false | Record<string, unknown> = {}): Promise<void> {
  await signIn(e.page, e.stack.appUrl)
  await e.page.addScriptTag({
    content: readFileSync(join(REPO_ROOT, 'node_modules/htmx.org/dist/htmx.min.js'), 'utf8'),
  })
  await e.page.addScriptTag({ content: await apollo() })
  if (sdk) await install(sdk)
}

function install(options: Record<string, unknown>): Promise<void> {
  return e.page.evaluate((o) => {
    const w = window as any
    w.__required = []
    const reauth = w.AjaxReauth.createReauth(o)
    reauth.on('reauth:required', (ev: any) => w.__required.push(ev.reason))
    reauth.install()
  }, options)
}

interface HtmxSeen {
  status: number
  type: string | null
  /** The response body htmx got, and the text it swapped in. */
  html: string
  swapped: string
  errors: number
}

/** `count` htmx GETs at once, each swapping into its own target (htmx.ajax). */
function htmxGet(url: string, count = 1): Promise<HtmxSeen[]> {
  return e.page.evaluate(
    ({ url, count }) => {
      const w = window as any
      const one = async (): Promise<HtmxSeen> => {
        const target = document.createElement('div')
        document.body.append(target)
        const seen = { status: 0, type: null as string | null, html: '', swapped: '', errors: 0 }
        target.addEventListener('htmx:afterRequest', (ev: any) => {
          seen.status = ev.detail.xhr.status
          seen.type = ev.detail.xhr.getResponseHeader('content-type')
          seen.html = ev.detail.xhr.responseText
        })
        target.addEventListener('htmx:responseError', () => seen.errors++)
        await w.htmx.ajax('GET', url, { target, swap: 'innerHTML', source: target })
        seen.swapped = target.textContent ?? ''
        return seen
      }
      return Promise.all(Array.from({ length: count }, one))
    },
    { url, count },
  )
}

interface ApolloSeen {
  status: number
  type: string | null
  data: unknown
  error: string | null
}

function apolloQuery(url: string, count = 1): Promise<ApolloSeen[]> {
  return e.page.evaluate(
    ({ url, count }) => Promise.all(Array.from({ length: count }, () => (window as any).__apollo(url))),
    { url, count },
  )
}

/** `BURST` bare `fetch` calls at once (no Accept of the app's), their statuses. */
const fetchBurst = (url: string): Promise<number[]> =>
  e.page.evaluate(
    ({ url, count }) => Promise.all(Array.from({ length: count }, () => fetch(url).then((r) => r.status))),
    { url, count: BURST },
  )

/** The `Accept` of each request the upstream got on `path`, in order. */
const acceptsSeen = (path: string): unknown[] =>
  e.stack.upstream.requests.filter((q) => q.path === path).map((q) => q.headers.accept ?? null)

describe('healthy session: the same Accept and the same representation as without the SDK', () => {
  it('htmx (no Accept of its own) gets the HTML fragment from a negotiating route, as natively', async () => {
    await open(false)
    const [native] = await htmxGet(HTML_ROUTE)
    await install({})
    const [withSdk] = await htmxGet(HTML_ROUTE)
    expect(native).toMatchObject({ status: 200, html: FRAGMENT, swapped: SWAPPED })
    expect(native!.type).toMatch(/^text\/html/)
    expect(withSdk).toEqual(native)
    const [nativeAccept, sdkAccept] = acceptsSeen(HTML_ROUTE)
    expect(sdkAccept).toBe(nativeAccept)
  })

  it('Apollo Client gets application/graphql-response+json from graphql-http, as natively', async () => {
    await open(false)
    const [native] = await apolloQuery(GRAPHQL_ROUTE)
    await install({})
    const [withSdk] = await apolloQuery(GRAPHQL_ROUTE)
    expect(native).toMatchObject({
      status: 200,
      data: { items: ITEMS.map((i) => expect.objectContaining(i)) },
    })
    expect(native!.type).toMatch(/^application\/graphql-response\+json/)
    expect(withSdk).toEqual(native)
    const [nativeAccept, sdkAccept] = acceptsSeen(GRAPHQL_ROUTE)
    expect(nativeAccept).toBe('application/graphql-response+json,application/json;q=0.9')
    expect(sdkAccept).toBe(nativeAccept)
  })
})

describe('healthy session: where the app asked for no type, the SDK asks for JSON', () => {
  it("a bare fetch (no Accept) goes out with the SDK's application/json: a data request", async () => {
    await open({})
    const type = await e.page.evaluate(
      (url) => fetch(url).then((r) => r.headers.get('content-type')),
      HTML_ROUTE,
    )
    expect(acceptsSeen(HTML_ROUTE).at(-1)).toBe('application/json')
    expect(type).toMatch(/^application\/json/)
  })

  it('htmx with the SDK sends its HX-Request and no Accept of the SDK’s: the marker of a hypermedia request', async () => {
    await open({})
    await htmxGet(HTML_ROUTE)
    const last = e.stack.upstream.requests.filter((q) => q.path === HTML_ROUTE).at(-1)
    expect(last?.headers['hx-request']).toBe('true')
    expect(last?.headers.accept ?? '*/*').toBe('*/*')
  })
})

const MODES = {
  'default (403 sign-in page)': {},
  'skip-provider-button (302 to the provider)': { skipProviderButton: true },
} as const

/** What the proxy, the provider and the probe saw while `fn` ran. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; cost: Record<string, number> }> {
  const c0 = { ...e.stack.proxy.behaviour.counters }
  const r0 = e.stack.proxy.requests.length
  const i0 = e.stack.idp.requests.length
  const result = await fn()
  const c1 = e.stack.proxy.behaviour.counters
  const proxied = e.stack.proxy.requests.slice(r0)
  return {
    result,
    cost: {
      proxyRequests: proxied.length,
      probes: proxied.filter((r) => r.path.startsWith('/oauth2/auth')).length,
      jsonUnauthorized: c1.jsonUnauthorized - c0.jsonUnauthorized,
      signInPages: c1.signInPages - c0.signInPages,
      csrfCookiesMinted: c1.csrfCookiesMinted - c0.csrfCookiesMinted,
      idpAuthorize: e.stack.idp.requests.slice(i0).filter((r) => r.path === '/auth').length,
      callbacks: c1.callbacks - c0.callbacks,
    },
  }
}

const required = (): Promise<string[]> => e.page.evaluate(() => (window as any).__required as string[])

/** Each client's burst, and the check that it got what it gets in a healthy session. */
const CLIENTS: Record<string, { burst: () => Promise<{ status: number }[]>; check: (r: unknown[]) => void }> =
  {
    htmx: {
      burst: () => htmxGet(HTML_ROUTE, BURST),
      check: (seen) => {
        for (const one of seen)
          expect(one).toMatchObject({ status: 200, html: FRAGMENT, swapped: SWAPPED, errors: 0 })
      },
    },
    'Apollo Client': {
      burst: () => apolloQuery(GRAPHQL_ROUTE, BURST),
      check: (seen) => {
        for (const one of seen as ApolloSeen[]) {
          expect(one).toMatchObject({ status: 200, error: null })
          expect(one.type).toMatch(/^application\/graphql-response\+json/)
        }
      },
    },
  }

describe('lost session behind the proxy: recovered without an Accept of the SDK', () => {
  for (const [client, { burst, check }] of Object.entries(CLIENTS)) {
    for (const [mode, proxy] of Object.entries(MODES)) {
      it(`${client}, ${mode}: ${BURST} calls at once, all recovered by one re-login`, async () => {
        await open({})
        e.stack.proxy.set(proxy)
        e.stack.proxy.expireSession()
        const { result, cost } = await measured(burst)
        const reasons = await required()
        report(`negotiation ${client} ${mode}`, { accept: 'default (none added)', ...cost, reasons })
        check(result)
        expect(cost.callbacks).toBe(1)
        expect(reasons).toHaveLength(1)
        // No Accept of the SDK's: the proxy never answered its Ajax 401.
        expect(cost.jsonUnauthorized).toBe(0)
      })

      // For the cost comparison: a bare fetch is a data request, the SDK adds its application/json, and
      // the proxy answers its Ajax 401.
      it(`fetch (no Accept: the SDK's application/json), ${mode}: the same, through the proxy's 401`, async () => {
        await open({})
        e.stack.proxy.set(proxy)
        e.stack.proxy.expireSession()
        const { result, cost } = await measured(() => fetchBurst('/api/items'))
        const reasons = await required()
        expect(result).toEqual(Array(BURST).fill(200))
        report(`negotiation fetch ${mode}`, { accept: 'application/json (the SDK’s)', ...cost, reasons })
        expect(cost.callbacks).toBe(1)
        expect(reasons).toEqual(['unauthorized'])
        expect(cost.jsonUnauthorized).toBeGreaterThan(0)
      })
    }
  }
})
