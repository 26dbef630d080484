import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { OAuth2ProxyOptions } from '../../src/testing/behaviour/index.js'
import { createOAuth2ProxyBehaviour } from '../../src/testing/behaviour/index.js'
import type { Idp } from './idp.js'
import { startIdp } from './idp.js'
import type { Latency, Listening } from './net.js'
import { listen } from './net.js'
import type { NginxFront } from './nginx.js'
import { nginxAvailable, startNginx } from './nginx.js'
import { createOidcClient } from './oidc-client.js'
import type { TestProxy } from './proxy.js'
import { startProxy } from './proxy.js'
import type { RealStack, RealStackOptions } from './real.js'
import { startRealStack } from './real.js'
import type { ThirdParty } from './third-party.js'
import { startThirdParty } from './third-party.js'
import type { TlsMaterial, Transport } from './tls.js'
import { tlsMaterial } from './tls.js'
import type { TlsFront } from './tls-front.js'
import { startTlsFront } from './tls-front.js'
import type { Upstream } from './upstream.js'
import { REPO_ROOT, startUpstream } from './upstream.js'

export interface StackOptions {
  /** Start the nginx front (default: when /usr/sbin/nginx exists). `true` fails if it is missing. */
  nginx?: boolean
  /** Initial oauth2-proxy options (what `reset()` returns to). */
  proxy?: Partial<OAuth2ProxyOptions>
  /** Initial latency of the servers (what `reset()` returns to; default none). */
  latency?: StackLatency
  /**
   * The provider's site. `'same'` (default): `http://localhost:<p2>`, the app's site on another port.
   * `'cross'`: `http://127.0.0.1:<p2>`, another site, as Google, Entra ID or Okta are to an app: its
   * `SameSite=Lax` cookies are third-party in a frame of the app (e2e/cross-site.e2e.ts).
   */
  idpSite?: 'same' | 'cross'
  /**
   * How the browser reaches the app, the provider and the third-party API (default `plain`, or
   * `E2E_TRANSPORT` through the harness): `h1-tls` / `h2` put real nginx terminating TLS (HTTP/1.1
   * only / with HTTP/2) in front of each, and serve the auth_request front over the same; every
   * `*Url` is then `https://…` (certificates: `stack.tls`, a test CA made with openssl).
   */
  transport?: Transport
}

/**
 * Latency per server (`null`: answer at once). `proxy` delays every answer of the test proxy (its own
 * and the forwarded ones, also nginx's `auth_request` subrequests and its `/oauth2/` hops); `idp` every
 * answer of the provider, including the token endpoint the proxy calls during a callback; `upstream`
 * every answer of the app server (behind the proxy and behind nginx).
 */
export interface StackLatency {
  proxy?: Latency | null
  idp?: Latency | null
  upstream?: Latency | null
}

export interface Stack {
  /** The emulated stack (the test proxy); `'real'` is the real binary's `RealStack`. */
  kind: 'emulated'
  transport: Transport
  /** The test CA and leaf (null with `plain`): launch the browser with `browserTls(stack.tls)`. */
  tls: TlsMaterial | null
  /** The TLS terminator in front of the proxy, the provider and the third party (null with `plain`). */
  front: TlsFront | null
  /** The app behind the test proxy: http://localhost:<p1> (https://localhost:<front port> over TLS). */
  appUrl: string
  /** The OpenID provider: http://localhost:<p2> (same site, another origin); `idpSite: 'cross'`: http://127.0.0.1:<p2>; https over TLS. */
  idpUrl: string
  /** The third-party API: http://127.0.0.1:<p3> (cross-site; https over TLS). */
  thirdPartyUrl: string
  /** The app behind real nginx + auth_request: http(s)://localhost:<p4>; null when nginx is missing. */
  nginxUrl: string | null
  proxy: TestProxy
  idp: Idp
  upstream: Upstream
  thirdParty: ThirdParty
  nginx: NginxFront | null
  /**
   * Take the OpenID provider off the network (true: every connection to it is reset, as if it were
   * down) or bring it back. `reset()` brings it back.
   */
  setIdpDown(down: boolean): void
  /**
   * Set the latency of some servers (the others keep theirs); each server's jitter generator is
   * reseeded, so the same calls in the same order get the same delays.
   *
   * @example
   * stack.setLatency({ idp: { ms: 300, jitter: 60 }, upstream: { ms: 30, jitter: 20 } })
   */
  setLatency(latency: StackLatency): void
  /** Every switch, counter and session back to the start state (call before each test). */
  reset(): void
  stop(): Promise<void>
}

/** Default oauth2-proxy options of the stack: app assets skip auth, like a real SPA deployment's. */
export const STACK_PROXY_DEFAULTS: Partial<OAuth2ProxyOptions> = {
  skipAuthRoutes: [/^\/dist\//, /^\/vendor\//, /^\/__behaviour\.js$/, /^\/favicon\.ico$/],
}

let bundle: Promise<string> | null = null
/** The behaviour module bundled for browsers (esbuild, platform browser: any Node API fails the build). */
function behaviourBundle(): Promise<string> {
  bundle ??= import('esbuild').then(async ({ build }) => {
    const out = await build({
      entryPoints: [join(REPO_ROOT, 'src/testing/behaviour/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
    })
    return out.outputFiles[0]?.text ?? ''
  })
  return bundle
}

/**
 * Start the whole test bed on random free ports. Everything started is stopped by `stop()`,
 * and by `startStack` itself when a later part fails to start. `{ proxy: 'real' }` starts the
 * real oauth2-proxy binary instead of the emulation (`real.ts`, e2e/README.md "The real stack").
 */
export function startStack(options: RealStackOptions): Promise<RealStack>
export function startStack(options?: StackOptions): Promise<Stack>
export function startStack(options?: StackOptions | RealStackOptions): Promise<Stack | RealStack>
export function startStack(options: StackOptions | RealStackOptions = {}): Promise<Stack | RealStack> {
  return isReal(options) ? startRealStack(options) : startEmulatedStack(options)
}

function isReal(options: StackOptions | RealStackOptions): options is RealStackOptions {
  return options.proxy === 'real'
}

async function startEmulatedStack(options: StackOptions): Promise<Stack> {
  const started: { close(): Promise<void> }[] = []
  let nginx: NginxFront | null = null
  let front: TlsFront | null = null
  const idpHost = options.idpSite === 'cross' ? '127.0.0.1' : 'localhost'
  let tls: TlsMaterial | null = null
  const transport = options.transport ?? 'plain'
  try {
    const open = async (name: string): Promise<Listening> => {
      const l = await listen(name)
      started.push(l)
      return l
    }
    const [proxyL, idpL, upstreamL, thirdL] = [
      await open('proxy'),
      await open('idp'),
      await open('upstream'),
      await open('third-party'),
    ]
    const wantNginx = options.nginx ?? nginxAvailable()
    if (options.nginx === true && !nginxAvailable())
      throw new Error('nginx requested but /usr/sbin/nginx is missing')
    if (transport !== 'plain' && !nginxAvailable())
      throw new Error(`transport ${transport} needs nginx, and /usr/sbin/nginx is missing`)
    if (transport !== 'plain') tls = await tlsMaterial()
    const nginxTls = tls ? { chain: tls.chain, key: tls.key, http2: transport === 'h2' } : undefined
    if (nginxTls) {
      front = await startTlsFront({
        tls: nginxTls,
        http2: nginxTls.http2,
        routes: [
          { name: 'app', host: 'localhost', backendPort: proxyL.port },
          { name: 'idp', host: idpHost, backendPort: idpL.port },
          { name: 'third-party', host: '127.0.0.1', backendPort: thirdL.port },
        ],
      })
    }
    const appUrl = front?.urls.app ?? `http://localhost:${proxyL.port}`

    const upstream = startUpstream(upstreamL, behaviourBundle)
    const secret = randomBytes(32).toString('hex')
    // nginx's port is only known once it runs; the IdP client needs its callback up front, so the
    // proxy starts first, then nginx, then the IdP with both callbacks.
    let idp: Idp | null = null
    const idpUrl = front?.urls.idp ?? `http://${idpHost}:${idpL.port}`
    const behaviour = createOAuth2ProxyBehaviour(
      {
        cookieSecret: secret,
        ...STACK_PROXY_DEFAULTS,
        // oauth2-proxy's default (`--cookie-secure=true`) where the browser can keep Secure cookies
        ...(tls ? { cookieSecure: true } : {}),
        ...options.proxy,
      },
      createOidcClient({
        issuer: idpUrl,
        // the proxy calls the token endpoint over the back channel, not through the TLS front
        tokenBase: `http://127.0.0.1:${idpL.port}`,
        clientId: 'oauth2-proxy',
        clientSecret: 'e2e-client-secret',
      }),
    )
    const getIdp = () => {
      if (!idp) throw new Error('IdP not started')
      return idp
    }
    const proxy = startProxy(proxyL, behaviour, upstreamL.port, {
      url: appUrl,
      idp: getIdp,
      loginOrigin: () => idpUrl,
      secret,
    })
    if (wantNginx)
      nginx = await startNginx({
        proxyPort: proxyL.port,
        upstreamPort: upstreamL.port,
        ...(nginxTls ? { tls: nginxTls } : {}),
      })
    const callbacks = [`${appUrl}/oauth2/callback`, ...(nginx ? [`${nginx.url}/oauth2/callback`] : [])]
    idp = startIdp(idpL, callbacks, (req, res) => proxy.handleLoginOrigin(req, res), idpUrl)
    const thirdParty = startThirdParty(
      thirdL,
      () => [appUrl, ...(nginx ? [nginx.url] : [])],
      front?.urls['third-party'],
    )
    const idpRef = idp
    const nginxRef = nginx
    const frontRef = front
    const tlsRef = tls
    let idpDown = false
    idpL.server.on('connection', (socket) => {
      if (idpDown) socket.destroy()
    })
    let stopping: Promise<void> | null = null
    const delays = { proxy: proxy.delay, idp: idpRef.delay, upstream: upstream.delay }
    const setLatency = (latency: StackLatency): void => {
      for (const key of ['proxy', 'idp', 'upstream'] as const) {
        const l = latency[key]
        if (l !== undefined) delays[key].set(l)
      }
    }
    if (options.latency) setLatency(options.latency)
    return {
      kind: 'emulated',
      transport,
      tls,
      front,
      appUrl,
      idpUrl,
      thirdPartyUrl: thirdParty.url,
      nginxUrl: nginx?.url ?? null,
      proxy,
      idp: idpRef,
      upstream,
      thirdParty,
      nginx,
      setIdpDown(down) {
        idpDown = down
        if (down) idpL.server.closeAllConnections()
      },
      setLatency,
      reset() {
        idpDown = false
        proxy.reset()
        idpRef.reset()
        upstream.reset()
        thirdParty.reset()
        if (options.latency) setLatency(options.latency)
      },
      stop() {
        stopping ??= Promise.allSettled([
          nginxRef?.stop(),
          frontRef?.stop(),
          ...started.map((s) => s.close()),
        ]).then(() => tlsRef?.remove())
        return stopping
      },
    }
  } catch (err) {
    await Promise.allSettled([nginx?.stop(), front?.stop(), ...started.map((s) => s.close())])
    tls?.remove()
    throw err
  }
}
