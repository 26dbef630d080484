import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Delay, Listening } from './net.js'
import { createDelay, readBody } from './net.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css',
}

/** Static roots: URL prefix → directory. */
const STATIC: [string, string][] = [
  ['/dist/', join(REPO_ROOT, 'dist')],
  ['/vendor/ky/', join(REPO_ROOT, 'node_modules/ky/distribution')],
]

export const APP_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ajax-reauth e2e app</title>
<!-- No /favicon.ico request: WebKit asks for it late, and an authenticated request the test did not make
     can refresh an aged session a second time (raw: cookie refresh). -->
<link rel="icon" href="data:,">
<script>window.__sdkError = null</script>
<script src="/dist/ajax-reauth.global.js" onerror="window.__sdkError = 'failed to load /dist/ajax-reauth.global.js'"></script>
<script src="/vendor/axios.min.js"></script>
<script type="module">
  import ky from '/vendor/ky.js'
  window.ky = ky
</script>
</head>
<body>
<h1 id="app">ajax-reauth e2e app</h1>
<p id="path"></p>
<script>document.getElementById('path').textContent = location.pathname + location.search</script>
</body>
</html>
`

export interface UpstreamRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
}

export interface Upstream {
  url: string
  /** Every request that reached the upstream (what the proxy let through). */
  requests: UpstreamRequest[]
  /**
   * When set, the app pages (`/app.html`, `/`) are served with `Content-Security-Policy:
   * frame-ancestors <value>` (e.g. `'none'`): an app that refuses to be framed. Reset to null.
   */
  frameAncestors: string | null
  /**
   * When set, the app's root `/` answers a `302` to this path (an app whose root redirects: `/` →
   * `/app/`). Reset to null.
   */
  rootRedirect: string | null
  /**
   * Extra routes (exact path → answer, any method, status 200 unless given; the handler gets the request),
   * checked before the static files; used by the demo (`demo/server.ts`), the client matrix's GraphQL
   * server and `negotiation.e2e.ts`. Not cleared by `reset()`.
   */
  routes: Map<
    string,
    (req: IncomingMessage) => Promise<{ type: string; body: string | Buffer; status?: number }>
  >
  /** Latency of every answer (API, pages, static files), counted from arrival; `reset()` returns to none. */
  delay: Delay
  reset(): void
}

/**
 * The app behind the proxy: JSON API, an HTML fragment, a stream, a slow endpoint, the app
 * pages and the static SDK / vendor files. `behaviourBundle` serves the behaviour module
 * bundled for browsers (to prove it runs there).
 */
export function startUpstream(listening: Listening, behaviourBundle: () => Promise<string>): Upstream {
  const requests: UpstreamRequest[] = []
  const state = { frameAncestors: null as string | null, rootRedirect: null as string | null }
  const routes: Upstream['routes'] = new Map()
  const delay = createDelay(3)
  listening.setHandler(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream')
    const path = url.pathname
    requests.push({ method: req.method ?? 'GET', path: path + url.search, headers: req.headers })
    await delay.wait()
    const sendJson = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      })
      res.end(JSON.stringify(body))
    }
    const user = req.headers['x-forwarded-email'] ?? null
    if (path === '/api/items') {
      return sendJson(200, {
        items: [
          { id: 1, name: 'one' },
          { id: 2, name: 'two' },
        ],
        user,
      })
    }
    // The upstream's own 401s, with a valid session (issue #10): a wrong password, and one with the
    // very bytes of oauth2-proxy's Ajax 401 (`{}`).
    if (path === '/api/login') {
      await readBody(req)
      return sendJson(401, { error: 'invalid_credentials' })
    }
    if (path === '/api/own-401') {
      await readBody(req)
      return sendJson(401, {})
    }
    // Post/Redirect/Get: the order is placed, the answer is a 303 to an HTML receipt.
    if (path === '/api/orders') {
      await readBody(req)
      res.writeHead(303, { location: '/orders/1/receipt', 'cache-control': 'no-store' })
      return res.end()
    }
    if (path === '/orders/1/receipt') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      return res.end(
        '<!DOCTYPE html><html><head><title>Receipt</title></head><body><h1>Order 1</h1></body></html>',
      )
    }
    // The app's own sign-in page (issue #22.6): titled "Sign in", with a form to /oauth2/start, 200.
    if (path === '/account/sign-in') {
      await readBody(req)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      return res.end(
        '<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Account</h1>' +
          '<form method="post" action="/oauth2/start"><button>Sign in with SSO</button></form></body></html>',
      )
    }
    // A same-origin API that moved: a 302 to `?to=` (a CORS-enabled third party in the tests).
    if (path === '/api/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/', 'cache-control': 'no-store' })
      return res.end()
    }
    // An HTML answer that streams (a live log, server-sent HTML): a chunk every `intervalMs`, `chunks`
    // of them (at most 600), or until the client goes away.
    if (path === '/api/html-stream') {
      const chunks = Math.min(Number(url.searchParams.get('chunks') ?? 600), 600)
      const interval = Math.min(Number(url.searchParams.get('intervalMs') ?? 100), 2000)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.write('<!DOCTYPE html><html><head><title>Live</title></head><body>')
      for (let i = 0; i < chunks; i++) {
        await new Promise((r) => setTimeout(r, interval))
        if (res.destroyed || res.writableEnded) return
        res.write(`<p>line ${i}</p>`)
      }
      return res.end('</body></html>')
    }
    if (path === '/api/echo' || path.endsWith('/api/echo')) {
      const body = (await readBody(req)).toString('utf8')
      return sendJson(200, { method: req.method, url: req.url, headers: req.headers, body })
    }
    if (path === '/api/fragment') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end('<div class="fragment" id="fragment">fragment content</div>')
    }
    if (path === '/api/stream') {
      const chunks = Math.min(Number(url.searchParams.get('chunks') ?? 5), 100)
      const interval = Math.min(Number(url.searchParams.get('intervalMs') ?? 20), 2000)
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
      for (let i = 0; i < chunks; i++) {
        if (res.destroyed) return
        res.write(`${JSON.stringify({ chunk: i })}\n`)
        await new Promise((r) => setTimeout(r, interval))
      }
      return res.end()
    }
    if (path === '/api/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 500), 30_000)
      await new Promise((r) => setTimeout(r, ms))
      return sendJson(200, { slow: true, ms, user })
    }
    if (path === '/' && state.rootRedirect) {
      res.writeHead(302, { location: state.rootRedirect, 'cache-control': 'no-store' })
      return res.end()
    }
    if (path === '/' || path === '/app.html' || path === '/index.html') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...(state.frameAncestors
          ? { 'content-security-policy': `frame-ancestors ${state.frameAncestors}` }
          : {}),
      })
      return res.end(APP_PAGE)
    }
    if (path === '/vendor/axios.min.js')
      return sendFile(res, join(REPO_ROOT, 'node_modules/axios/dist/axios.min.js'))
    if (path === '/vendor/ky.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      return res.end("export { default } from '/vendor/ky/index.js'\nexport * from '/vendor/ky/index.js'\n")
    }
    const route = routes.get(path)
    if (route) {
      const { type, body, status = 200 } = await route(req)
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      return res.end(body)
    }
    if (path === '/__behaviour.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      return res.end(await behaviourBundle())
    }
    for (const [prefix, dir] of STATIC) {
      if (path.startsWith(prefix)) {
        const file = normalize(join(dir, decodeURIComponent(path.slice(prefix.length))))
        if (file.startsWith(dir) && existsSync(file)) return sendFile(res, file)
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  })
  return {
    url: `http://127.0.0.1:${listening.port}`,
    requests,
    routes,
    delay,
    get frameAncestors() {
      return state.frameAncestors
    },
    set frameAncestors(v) {
      state.frameAncestors = v
    },
    get rootRedirect() {
      return state.rootRedirect
    },
    set rootRedirect(v) {
      state.rootRedirect = v
    },
    reset: () => {
      requests.length = 0
      state.frameAncestors = null
      state.rootRedirect = null
      delay.reset()
    },
  }
}

async function sendFile(res: ServerResponse, file: string) {
  const body = await readFile(file)
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
  })
  res.end(body)
}
