import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { OAUTH2_FORBIDDEN_PAGE, OAUTH2_SIGN_IN_PAGE } from '../helpers/fixtures'

/** The built IIFE under test (`npm run build`). */
export const BUNDLE = resolve(import.meta.dirname, '../../dist/ajax-reauth.global.js')

export interface TestServer {
  origin: string
  /** Request headers seen per path, in order. */
  seen: { path: string; headers: IncomingMessage['headers'] }[]
  close(): Promise<void>
}

const send = (res: ServerResponse, status: number, type: string | null, body: string | Buffer): void => {
  if (type) res.setHeader('content-type', type)
  res.statusCode = status
  res.end(body)
}

/** A tiny same-origin app: the page, the bundle, and the endpoints the conformance tests hit. */
export const startServer = async (): Promise<TestServer> => {
  const bundle = readFileSync(BUNDLE)
  const seen: TestServer['seen'] = []
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    seen.push({ path, headers: req.headers })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (path.startsWith('/held/')) return held(req, res, url, Buffer.concat(chunks))
      switch (path) {
        case '/':
          return send(
            res,
            200,
            'text/html',
            '<!doctype html><html><head><title>t</title></head><body></body></html>',
          )
        case '/ajax-reauth.global.js':
          return send(res, 200, 'text/javascript', bundle)
        case '/api/json':
          return send(res, 200, 'application/json', '{"ok":true,"n":[1,2,3]}')
        case '/api/text':
          return send(res, 200, 'text/plain', 'plain text body')
        case '/api/fragment':
          return send(res, 200, 'text/html', '<div class="card"><h2>Items</h2></div>')
        case '/api/xml':
          return send(res, 200, 'application/xml', '<root><a>1</a></root>')
        case '/api/redirect':
          res.setHeader('location', '/api/json')
          return send(res, 302, null, '')
        case '/api/big':
          return send(res, 200, 'application/octet-stream', Buffer.alloc(512 * 1024, 97))
        case '/api/slow':
          setTimeout(() => send(res, 200, 'application/json', '{"slow":true}'), 400)
          return
        case '/api/upload':
          return send(
            res,
            200,
            'application/json',
            JSON.stringify({ received: Buffer.concat(chunks).length }),
          )
        case '/api/401':
          return send(res, 401, 'application/json', '{}')
        case '/api/login':
          return send(res, 403, 'text/html; charset=utf-8', OAUTH2_SIGN_IN_PAGE)
        case '/api/to-sign-in':
          res.setHeader('location', '/oauth2/sign_in')
          return send(res, 302, null, '')
        case '/oauth2/sign_in':
          return send(res, 200, 'text/html; charset=utf-8', OAUTH2_SIGN_IN_PAGE)
        case '/oauth2/auth':
          return send(res, 401, 'text/plain', 'Unauthorized')
        default:
          return send(res, 404, 'text/plain', 'not found')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

// ---------------------------------------------------------------------------------------------------------
// /held/*: endpoints of xhr-held.test.ts (requests held by the SDK: timeouts, replayed uploads, json/document
// sign-in pages). A proxy of its own under the prefix /held/oauth2 (profile `oauth2Proxy({ prefix })`), with
// a cookie session: /held/login signs in, /held/oauth2/auth is the probe (202 or 401, delayed on demand).

const heldState = { probeDelayMs: 0 }

const later = (ms: number, fn: () => void): void => {
  if (ms > 0) setTimeout(fn, ms)
  else fn()
}

const held = (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => {
  const path = url.pathname
  const signedIn = /(^|;\s*)held=1(;|$)/.test(req.headers.cookie ?? '')
  const ms = Number(url.searchParams.get('ms') ?? 0)
  const json = (status: number, value: unknown) =>
    send(res, status, 'application/json', JSON.stringify(value))
  switch (path) {
    case '/held/control':
      heldState.probeDelayMs = Number(url.searchParams.get('probeDelay') ?? 0)
      return json(200, heldState)
    case '/held/oauth2/auth':
      return later(heldState.probeDelayMs, () =>
        send(res, signedIn ? 202 : 401, 'text/plain', signedIn ? 'Accepted' : 'Unauthorized'),
      )
    case '/held/login':
      res.setHeader('set-cookie', 'held=1; Path=/; SameSite=Lax')
      return json(200, { signedIn: true })
    case '/held/slow':
      return later(ms, () => json(200, { slow: ms }))
    case '/held/drop':
      // No answer at all: the XHR fails with a network error, which the session probe must confirm.
      req.socket.destroy()
      return
    case '/held/sign-in-page':
      return send(res, 403, 'text/html; charset=utf-8', OAUTH2_SIGN_IN_PAGE)
    case '/held/provider':
      return send(res, 200, 'text/html; charset=utf-8', '<!doctype html><title>Provider sign in</title>')
    case '/held/forbidden-page':
      return send(res, 403, 'text/html; charset=utf-8', OAUTH2_FORBIDDEN_PAGE)
  }
  if (path.startsWith('/held/front/') && !signedIn) {
    // A front like nginx's auth_request: a lost session is sent on to the provider, another origin without
    // CORS, so the XHR fails as a network error (which the session probe confirms).
    res.setHeader('location', `http://localhost:${req.socket.localPort}/held/provider`)
    return send(res, 302, null, '')
  }
  if (path === '/held/front/upload') return json(200, { received: body.length })
  if (!path.startsWith('/held/api/')) return send(res, 404, 'text/plain', 'not found')
  // The proxy's Ajax answer to a lost session; the upstream's answers once signed in.
  if (!signedIn) return json(401, {})
  if (path === '/held/api/upload') return json(200, { received: body.length })
  return later(ms, () => json(200, { ok: true, path }))
}
