import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { currentBrowser } from '../../e2e/driver/index'
import type { Browser } from '../../e2e/driver/types'
import { launch as launchNamed } from '../../e2e/server/browser'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The SDK's internals under test, bundled as `window.R` (kept out of the public index). */
export const bundleInternals = async (): Promise<string> => {
  const out = await build({
    stdin: {
      contents: `export { createCrossTab } from './src/cross-tab'\nexport * from './src/relogin'\n`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    globalName: 'R',
    platform: 'browser',
    target: 'es2020',
    write: false,
  })
  return out.outputFiles[0]!.text
}

/** The browser of this vitest project (`TEST_BROWSER`), through the driver interface. */
export const launch = (): Promise<Browser> => launchNamed(currentBrowser())

const html = (body: string, headers: Record<string, string> = {}) => ({ status: 200, body, headers })

/**
 * Two origins: the app behind a fake oauth2-proxy on http://localhost:<p1>, and a fake identity
 * provider on http://127.0.0.1:<p2>. `/oauth2/start?mode=…&rd=…` picks how the provider answers.
 */
export interface Stack {
  app: string
  provider: string
  /** POSTs to the app's `/lead` (how many times a flight's lead ran, across tabs). */
  leads: () => number
  resetLeads: () => void
  close: () => Promise<void>
}

const listen = (host: string, handler: http.RequestListener): Promise<http.Server> =>
  new Promise((resolve) => {
    const server = http.createServer(handler)
    server.listen(0, host, () => resolve(server))
  })

export const startStack = async (bundle: string): Promise<Stack> => {
  let leads = 0
  let appOrigin = ''
  let providerOrigin = ''
  // `?nolocks`: Web Locks removed before any script runs (an insecure origin has none), so the
  // localStorage lease takes over. `?autorun=popup`: the page itself starts the popup strategy at
  // load, outside any user gesture (no driver evaluate involved).
  const NO_LOCKS = '<script>delete Navigator.prototype.locks</script>'
  const AUTORUN_POPUP = `<script>addEventListener('load', () => {
  window.__result = R.popupStrategy({
    signal: AbortSignal.timeout(5000),
    error: new Error('x'),
    url: location.origin + '/oauth2/start?mode=silent&rd=%2Flanding',
    returnTo: '/landing',
    isLanding: () => true,
  }).then(
    () => ({ outcome: 'ok' }),
    (e) => ({ outcome: e.reason, active: navigator.userActivation ? navigator.userActivation.isActive : null }),
  )
})</script>`
  let head = ''
  const page = (title: string, extra = '') =>
    `<!doctype html><html><head><title>${title}</title>${head}<script src="/reauth.js"></script></head><body><button id="go">go</button>${extra}</body></html>`

  const app = await listen('localhost', (req, res) => {
    const url = new URL(req.url ?? '/', appOrigin)
    const send = ({
      status,
      body,
      headers,
    }: {
      status: number
      body: string
      headers: Record<string, string>
    }) => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...headers,
      })
      res.end(body)
    }
    head = `${url.searchParams.has('nolocks') ? NO_LOCKS : ''}${url.searchParams.get('autorun') === 'popup' ? AUTORUN_POPUP : ''}`
    const rd = url.searchParams.get('rd') ?? '/'
    const safeRd = rd.startsWith('/') && !rd.startsWith('//') && !rd.startsWith('/\\') ? rd : '/'
    switch (url.pathname) {
      case '/reauth.js':
        res.writeHead(200, { 'content-type': 'text/javascript' })
        return res.end(bundle)
      case '/lead':
        leads++
        res.writeHead(204)
        return res.end()
      case '/oauth2/start': {
        const mode = url.searchParams.get('mode') ?? 'silent'
        if (mode === 'proxy-sign-in') {
          res.writeHead(302, { location: '/oauth2/sign_in' })
          return res.end()
        }
        const to = `${providerOrigin}/authorize?mode=${mode}&rd=${encodeURIComponent(safeRd)}`
        res.writeHead(302, { location: to, 'set-cookie': '_oauth2_proxy_csrf=x; Path=/; SameSite=Lax' })
        return res.end()
      }
      case '/oauth2/callback':
        res.writeHead(302, { location: safeRd, 'set-cookie': '_oauth2_proxy=fresh; Path=/; SameSite=Lax' })
        return res.end()
      case '/oauth2/sign_in':
        return send(html('<title>Sign In</title><form action="/oauth2/start"></form>'))
      case '/cb.html':
        return send(html(page('callback', '<script>R.handleReauthCallback()</script>')))
      case '/cb-slow.html':
        // Its `load` waits for a slow image: the callback message is all the parent can go by.
        return send(html(page('callback', '<img src="/slow"><script>R.handleReauthCallback()</script>')))
      case '/slow':
        setTimeout(() => {
          res.writeHead(404)
          res.end()
        }, 3000)
        return
      case '/landing-denied':
        return send(html(page('landing'), { 'x-frame-options': 'DENY' }))
      default:
        return send(html(page('app')))
    }
  })
  appOrigin = `http://localhost:${(app.address() as AddressInfo).port}`

  const provider = await listen('127.0.0.1', (req, res) => {
    const url = new URL(req.url ?? '/', providerOrigin)
    const mode = url.searchParams.get('mode')
    const back = `${appOrigin}/oauth2/callback?rd=${encodeURIComponent(url.searchParams.get('rd') ?? '/')}`
    const login = '<!doctype html><title>Provider sign in</title><form><input name="user"></form>'
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' }
    switch (mode) {
      case 'silent':
        res.writeHead(302, { location: back })
        return res.end()
      case 'hang':
        return // never answers
      case 'xfo':
        res.writeHead(200, { ...headers, 'x-frame-options': 'DENY' })
        return res.end(login)
      case 'frame-ancestors':
        res.writeHead(200, { ...headers, 'content-security-policy': "frame-ancestors 'none'" })
        return res.end(login)
      case 'foreign-callback':
        // A page on another origin that imitates the SDK's callback message.
        res.writeHead(200, headers)
        return res.end(
          `${login}<script>parent.postMessage({source:'ajax-reauth',v:1,kind:'callback',href:location.href},'*')</script>`,
        )
      case 'user-signs-in':
        // The user takes a moment, then the provider sends them back.
        res.writeHead(200, headers)
        return res.end(`${login}<script>setTimeout(()=>location.href=${JSON.stringify(back)},400)</script>`)
      default:
        res.writeHead(200, headers)
        return res.end(login)
    }
  })
  providerOrigin = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`

  const stop = (s: http.Server) =>
    new Promise<void>((r) => {
      s.closeAllConnections()
      s.close(() => r())
    })
  return {
    app: appOrigin,
    provider: providerOrigin,
    leads: () => leads,
    resetLeads: () => {
      leads = 0
    },
    close: async () => {
      await Promise.all([stop(app), stop(provider)])
    },
  }
}

/** The global the test pages see. */
export type PageGlobals = typeof globalThis & {
  R: typeof import('../../src/relogin') & typeof import('../../src/cross-tab')
}
