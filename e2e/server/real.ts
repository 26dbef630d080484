import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CaddyFront } from './caddy.js'
import { startCaddy } from './caddy.js'
import type { Idp } from './idp.js'
import { CLIENT_ID, CLIENT_SECRET, startIdp } from './idp.js'
import type { Listening } from './net.js'
import { freePort, listen } from './net.js'
import type { NginxFront } from './nginx.js'
import { startNginx } from './nginx.js'
import { requireOauth2Proxy } from './oauth2-proxy-bin.js'
import type { BinaryProcess, RealCounters, RealRecord } from './real-proxy.js'
import { countersOf, GO_MAX_HEADER_BYTES, runBinary, startHop } from './real-proxy.js'
import type { StackLatency } from './stack.js'
import type { ThirdParty } from './third-party.js'
import { startThirdParty } from './third-party.js'
import type { Upstream } from './upstream.js'
import { startUpstream } from './upstream.js'

/**
 * Where the browser meets oauth2-proxy:
 * - `direct`: the binary in front of the app (`--upstream` = the app), behind only the recording hop;
 * - `nginx`: real nginx, `auth_request /oauth2/auth`, the docs' `error_page 401 = @oauth2_signin` →
 *   `302 /oauth2/sign_in?rd=<absolute URL>`;
 * - `nginx-start`: real nginx, ingress-nginx's `auth-signin` style → `302 /oauth2/start?rd=<path>`;
 * - `caddy`: real Caddy, `forward_auth` with the docs' `redir * /oauth2/sign_in?rd=…`.
 */
export type RealFront = 'direct' | 'nginx' | 'nginx-start' | 'caddy'
export const REAL_FRONTS: readonly RealFront[] = ['direct', 'nginx', 'nginx-start', 'caddy']

/** A flag's value: `true`/`false` as `--name=true|false`, an array repeats the flag, `null` leaves it out. */
export type FlagValue = string | number | boolean | readonly string[] | null

/** One deployment of the real binary: its flags (over the stack's defaults), its front, the provider's tokens. */
export interface RealDeployment {
  /** oauth2-proxy flags without the leading `--`, e.g. `{ 'skip-provider-button': true }`. */
  flags?: Readonly<Record<string, FlagValue>>
  front?: RealFront
  /** Lifetime of the ID tokens the provider issues, in seconds (default 3600). */
  idTokenTtl?: number
  /** Whether the provider issues refresh tokens (default true). */
  refreshTokens?: boolean
  /** Writes these into an `--authenticated-emails-file` (combine with `'email-domain': null`). */
  allowedEmails?: readonly string[]
}

/**
 * The documented deployments (shared/proxy-behaviour.md, oauth2-proxy's docs). Combine a front with
 * flags by spreading: `{ ...REAL_DEPLOYMENTS.nginx, flags: { 'skip-provider-button': true } }`.
 */
export const REAL_DEPLOYMENTS = {
  /** Defaults: browser → 403 sign-in page, `Accept: application/json` → 401 `{}`. */
  defaults: {},
  skipProviderButton: { flags: { 'skip-provider-button': true } },
  apiRoute: { flags: { 'api-route': ['^/api/'] } },
  forceJsonErrors: { flags: { 'force-json-errors': true } },
  /** Refresh after 1 s; revoke at the provider (`stack.idp.revokeRefreshTokens()`) → `invalid_grant`. */
  cookieRefresh: { flags: { 'cookie-refresh': '1s' } },
  /**
   * ID tokens live 4 s, no refresh token: once the session is older than `--cookie-refresh` (1 s)
   * each request re-validates it, and it dies when the ID token's `exp` passes.
   */
  idTokenExpiry: { flags: { 'cookie-refresh': '1s' }, idTokenTtl: 4, refreshTokens: false },
  /** Session cookie expires after 3 s (`--cookie-expire`; the browser drops it then). */
  cookieExpire: { flags: { 'cookie-expire': '3s' } },
  csrfPerRequest: { flags: { 'cookie-csrf-per-request': true } },
  csrfPerRequestLimit: { flags: { 'cookie-csrf-per-request': true, 'cookie-csrf-per-request-limit': 3 } },
  /** Signed in, not allowed: alice@example.com is outside `--email-domain=example.org`. */
  emailDomainDenied: { flags: { 'email-domain': 'example.org' } },
  /** Signed in, not allowed: alice@example.com is not in the `--authenticated-emails-file`. */
  emailsFileDenied: { flags: { 'email-domain': null }, allowedEmails: ['bob@example.com'] },
  nginx: { front: 'nginx' },
  nginxStart: { front: 'nginx-start' },
  caddy: { front: 'caddy' },
} as const satisfies Record<string, RealDeployment>

export type RealDeploymentName = keyof typeof REAL_DEPLOYMENTS

export interface RealStackOptions {
  proxy: 'real'
  /** The deployment the stack starts with and `reset()` returns to (default `defaults`). */
  deployment?: RealDeployment | RealDeploymentName
  /** Initial latency (`proxy`: the recording hop's answers). */
  latency?: StackLatency
}

/** The real binary's controls: `stack.real`. */
export interface RealProxy {
  /** The binary and its `--version`. */
  path: string
  version: string
  /** The deployment running now, and the flags it was started with. */
  readonly deployment: RealDeployment
  readonly front: RealFront
  readonly args: readonly string[]
  /** Restart the binary (and switch front) for another deployment; no-op when it is the running one. */
  configure(deployment: RealDeployment | RealDeploymentName): Promise<void>
  /** Every request the binary got since the last `reset()` (from the recording hop). */
  requests: RealRecord[]
  /** Counters from `requests`. */
  readonly counters: RealCounters
  /** The binary's log (standard, request and auth logging) since it was (re)started. */
  log(): string
  /** The port of the recording hop in front of the binary (what nginx and Caddy call). */
  hopPort: number
}

export interface RealStack {
  kind: 'real'
  /** The app as the browser reaches it in the running deployment's front. */
  readonly appUrl: string
  /** Each front's origin: `direct` is the recording hop, the others nginx / Caddy. */
  urls: Record<RealFront, string>
  idpUrl: string
  thirdPartyUrl: string
  real: RealProxy
  idp: Idp
  upstream: Upstream
  thirdParty: ThirdParty
  nginx: { signIn: NginxFront; start: NginxFront }
  caddy: CaddyFront
  setIdpDown(down: boolean): void
  setLatency(latency: StackLatency): void
  /** Records, provider, app back to the start; the binary back to the initial deployment. */
  reset(): Promise<void>
  stop(): Promise<void>
}

const SKIP_AUTH = ['^/dist/', '^/vendor/', '^/__behaviour\\.js$', '^/favicon\\.ico$']

function resolveDeployment(d: RealDeployment | RealDeploymentName): RealDeployment {
  return typeof d === 'string' ? REAL_DEPLOYMENTS[d] : d
}

export function flagArgs(flags: Readonly<Record<string, FlagValue>>): string[] {
  const args: string[] = []
  for (const [name, v] of Object.entries(flags)) {
    if (v === null) continue
    if (Array.isArray(v)) for (const item of v) args.push(`--${name}=${item}`)
    else args.push(`--${name}=${String(v)}`)
  }
  return args
}

interface Wiring {
  idpUrl: string
  binPort: number
  upstreamPort: number
  urls: Record<RealFront, string>
  secret: string
  dir: string
}

/** The binary's flags for a deployment: the stack's defaults, the front's, then the deployment's. */
export async function deploymentArgs(w: Wiring, d: RealDeployment): Promise<string[]> {
  const front = d.front ?? 'direct'
  const url = w.urls[front]
  const flags: Record<string, FlagValue> = {
    provider: 'oidc',
    'oidc-issuer-url': w.idpUrl,
    'client-id': CLIENT_ID,
    'client-secret': CLIENT_SECRET,
    'cookie-secret': w.secret,
    'cookie-secure': false,
    'email-domain': '*',
    'http-address': `127.0.0.1:${w.binPort}`,
    upstream: `http://127.0.0.1:${w.upstreamPort}/`,
    'redirect-url': `${url}/oauth2/callback`,
    'skip-auth-route': SKIP_AUTH,
    'silence-ping-logging': true,
  }
  if (front !== 'direct') {
    flags['reverse-proxy'] = true
    flags['trusted-proxy-ip'] = '127.0.0.1/32'
    flags['whitelist-domain'] = new URL(url).host
  }
  Object.assign(flags, d.flags)
  if (d.allowedEmails) {
    const file = join(w.dir, 'authenticated-emails.txt')
    await writeFile(file, `${d.allowedEmails.join('\n')}\n`)
    flags['authenticated-emails-file'] = file
  }
  return flagArgs(flags)
}

/**
 * The e2e stack with the real oauth2-proxy binary (`startStack({ proxy: 'real' })`): the real
 * OpenID provider, the app, the third-party API, real nginx (both sign-in styles) and real Caddy
 * in front, and the binary behind a recording hop. One binary runs at a time; `real.configure()`
 * restarts it for another deployment (about 100 ms).
 */
export async function startRealStack(options: RealStackOptions): Promise<RealStack> {
  const bin = requireOauth2Proxy()
  const started: { close(): Promise<void> }[] = []
  const stoppers: (() => Promise<void>)[] = []
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-real-'))
  stoppers.push(() => rm(dir, { recursive: true, force: true }))
  const stopAll = () => Promise.allSettled([...stoppers.map((s) => s()), ...started.map((s) => s.close())])
  try {
    const open = async (name: string, o: { maxHeaderSize?: number } = {}): Promise<Listening> => {
      const l = await listen(name, o)
      started.push(l)
      return l
    }
    // The provider also gets every localhost cookie (cookies ignore ports), the CSRF pile-up
    // included, which a provider on its own host would not: it accepts heads as large as Go does.
    const hopL = await open('oauth2-proxy hop', { maxHeaderSize: GO_MAX_HEADER_BYTES })
    const idpL = await open('idp', { maxHeaderSize: GO_MAX_HEADER_BYTES })
    const upstreamL = await open('upstream')
    const thirdL = await open('third-party')
    const upstream = startUpstream(upstreamL, async () => '')
    let binPort = 0
    const hop = startHop(hopL, () => binPort)
    const fronts = { proxyPort: hopL.port, upstreamPort: upstreamL.port }
    const nginxSignIn = await startNginx({ ...fronts, signIn: 'docs-sign-in' })
    stoppers.push(() => nginxSignIn.stop())
    const nginxStart = await startNginx({ ...fronts, signIn: 'ingress-start' })
    stoppers.push(() => nginxStart.stop())
    const caddy = await startCaddy(fronts)
    stoppers.push(() => caddy.stop())
    const urls: Record<RealFront, string> = {
      direct: `http://localhost:${hopL.port}`,
      nginx: nginxSignIn.url,
      'nginx-start': nginxStart.url,
      caddy: caddy.url,
    }
    const idp = startIdp(
      idpL,
      REAL_FRONTS.map((f) => `${urls[f]}/oauth2/callback`),
    )
    const thirdParty = startThirdParty(thirdL, () => Object.values(urls))
    // the binary's port is taken last (nginx and Caddy pick theirs first), and again when it is
    // taken meanwhile (the port is only bound when the binary starts)
    binPort = await freePort()
    let idpDown = false
    idpL.server.on('connection', (socket) => {
      if (idpDown) socket.destroy()
    })
    const wiring: Wiring = {
      idpUrl: idp.url,
      binPort,
      upstreamPort: upstreamL.port,
      urls,
      secret: randomBytes(16).toString('hex'),
      dir,
    }
    const initial = resolveDeployment(options.deployment ?? 'defaults')
    let current: { deployment: RealDeployment; args: string[]; process: BinaryProcess } | null = null
    stoppers.push(async () => current?.process.stop())
    const configure = async (d: RealDeployment | RealDeploymentName) => {
      const deployment = resolveDeployment(d)
      let args = await deploymentArgs(wiring, deployment)
      idp.setTokens({
        idTokenTtl: deployment.idTokenTtl ?? 3600,
        refreshTokens: deployment.refreshTokens ?? true,
      })
      if (current && current.args.join('\n') === args.join('\n')) {
        current.deployment = deployment
        return
      }
      await current?.process.stop()
      current = null
      for (let attempt = 0; ; attempt++) {
        try {
          current = { deployment, args, process: await runBinary(bin.path, args, binPort) }
          return
        } catch (err) {
          if (attempt >= 2 || !/address already in use/.test(String(err))) throw err
          binPort = await freePort()
          wiring.binPort = binPort
          args = await deploymentArgs(wiring, deployment)
        }
      }
    }
    await configure(initial)
    const delays = { proxy: hop.delay, idp: idp.delay, upstream: upstream.delay }
    const setLatency = (latency: StackLatency): void => {
      for (const key of ['proxy', 'idp', 'upstream'] as const) {
        const l = latency[key]
        if (l !== undefined) delays[key].set(l)
      }
    }
    if (options.latency) setLatency(options.latency)
    const running = () => {
      if (!current) throw new Error('oauth2-proxy is not running')
      return current
    }
    const real: RealProxy = {
      path: bin.path,
      version: bin.version,
      get deployment() {
        return running().deployment
      },
      get front() {
        return running().deployment.front ?? 'direct'
      },
      get args() {
        return running().args
      },
      configure,
      requests: hop.requests,
      get counters() {
        return countersOf(hop.requests, idp.url)
      },
      log: () => current?.process.log() ?? '',
      hopPort: hopL.port,
    }
    let stopping: Promise<void> | null = null
    return {
      kind: 'real',
      get appUrl() {
        return urls[real.front]
      },
      urls,
      idpUrl: idp.url,
      thirdPartyUrl: thirdParty.url,
      real,
      idp,
      upstream,
      thirdParty,
      nginx: { signIn: nginxSignIn, start: nginxStart },
      caddy,
      setIdpDown(down) {
        idpDown = down
        if (down) idpL.server.closeAllConnections()
      },
      setLatency,
      async reset() {
        idpDown = false
        hop.reset()
        idp.reset()
        upstream.reset()
        thirdParty.reset()
        if (options.latency) setLatency(options.latency)
        await configure(initial)
      },
      stop() {
        stopping ??= stopAll().then(() => undefined)
        return stopping
      },
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}
