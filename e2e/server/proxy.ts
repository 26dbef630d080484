import type { IncomingMessage, ServerResponse } from 'node:http'
import { request } from 'node:http'
import type {
  Behaviour,
  BehaviourResponse,
  OAuth2ProxyBehaviour,
  OAuth2ProxyOptions,
  ProfileBehaviour,
  ProfileName,
} from '../../src/testing/behaviour/index.js'
import { createProfileBehaviour, isPass } from '../../src/testing/behaviour/index.js'
import type { Idp } from './idp.js'
import type { Delay, Listening } from './net.js'
import { createDelay, readBody, toHeaders } from './net.js'

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
])

/** Options the admin API may change (JSON-safe subset; RegExps as strings). */
export type AdminPatch = Partial<
  Pick<
    OAuth2ProxyOptions,
    | 'skipProviderButton'
    | 'forceJsonErrors'
    | 'csrfPerRequest'
    | 'csrfPerRequestLimit'
    | 'cookieCap'
    | 'cookieRefreshMs'
    | 'notAllowedEmails'
  >
> & { apiRoutes?: string[] }

/** One request the test proxy answered (or forwarded), in arrival order. */
export interface ProxyRecord {
  /** `Date.now()` when the request arrived (the behaviour decides then; the latency delays the answer). */
  at: number
  /** `Date.now()` when the answer's head was written; null while it is pending. */
  answeredAt: number | null
  method: string
  /** Path and query as received. */
  path: string
  /** nginx's `X-Original-URI` (set on its `auth_request` subrequests and on `/oauth2/auth`), or null. */
  originalUri: string | null
  /** The status sent to the client (the upstream's for a forwarded request); null while pending. */
  status: number | null
  /** CSRF cookies the answer set (`Set-Cookie: <name>_csrf=…` that is not a deletion). */
  csrfMinted: number
}

export interface TestProxy {
  url: string
  /** Every non-admin request since the last `reset()`. */
  requests: ProxyRecord[]
  /** Latency of the proxy's answers (and of the forwarding hop); `reset()` returns to none. */
  delay: Delay
  /** The oauth2-proxy behaviour (always present; active unless a profile is in use). */
  behaviour: OAuth2ProxyBehaviour
  /** The active other-proxy profile, or null for oauth2-proxy. */
  profile: ProfileBehaviour | null
  /** Switch to another proxy's behaviour (null: back to oauth2-proxy). */
  useProfile(
    name: ProfileName | null,
    options?: { easyAuthAction?: 'redirect' | '401' },
  ): ProfileBehaviour | null
  set(patch: Partial<OAuth2ProxyOptions>): void
  expireSession(): number
  deleteSession(): number
  tamperSession(): number
  reset(): void
  /** Login-origin handler for the active profile (mounted on the IdP origin). */
  handleLoginOrigin(req: IncomingMessage, res: ServerResponse): Promise<boolean>
}

const CSRF_SET = /^[^=]*_csrf=/
const csrfMinted = (headers: [string, string][]): number =>
  headers.filter(([k, v]) => k.toLowerCase() === 'set-cookie' && CSRF_SET.test(v) && !/max-age=0/i.test(v))
    .length

export async function writeResponse(res: ServerResponse, r: BehaviourResponse): Promise<void> {
  for (const [k, v] of r.headers) res.appendHeader(k, v)
  res.writeHead(r.status)
  res.end(r.body)
}

/**
 * The test proxy: a Node `http` server around a behaviour (oauth2-proxy by default), forwarding
 * allowed requests to the upstream and answering `/__admin/*` itself.
 */
export function startProxy(
  listening: Listening,
  behaviour: OAuth2ProxyBehaviour,
  upstreamPort: number,
  deps: { idp: () => Idp; loginOrigin: () => string; secret: string; url?: string },
): TestProxy {
  let profile: ProfileBehaviour | null = null
  const active = (): Behaviour => profile ?? behaviour
  const requests: ProxyRecord[] = []
  const delay = createDelay(1)

  const proxy: TestProxy = {
    url: deps.url ?? `http://localhost:${listening.port}`,
    requests,
    delay,
    behaviour,
    get profile() {
      return profile
    },
    useProfile(name, options = {}) {
      profile = name
        ? createProfileBehaviour(name, {
            secret: deps.secret,
            loginOrigin: deps.loginOrigin(),
            ...(options.easyAuthAction ? { easyAuthAction: options.easyAuthAction } : {}),
          })
        : null
      return profile
    },
    set: (patch) => behaviour.set(patch),
    expireSession: () => (profile ?? behaviour).expireSession(),
    deleteSession: () => (profile ?? behaviour).deleteSession(),
    tamperSession: () => behaviour.tamperSession(),
    reset() {
      profile = null
      behaviour.reset()
      requests.length = 0
      delay.reset()
    },
    async handleLoginOrigin(req, res) {
      if (!profile) return false
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      const loginPaths = [
        '/.pomerium/sign_in',
        '/authelia/',
        '/o/oauth2/v2/auth',
        '/common/oauth2/v2.0/authorize',
      ]
      if (!loginPaths.includes(path) && !path.startsWith('/cdn-cgi/access/login/')) return false
      const r = await profile.handleLogin({
        method: req.method ?? 'GET',
        url: `${deps.loginOrigin()}${req.url}`,
        headers: toHeaders(req),
      })
      await writeResponse(res, r)
      return true
    },
  }

  async function admin(req: IncomingMessage, res: ServerResponse, action: string) {
    const body = req.method === 'POST' ? (await readBody(req)).toString('utf8') : ''
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {}
    let result: unknown = { ok: true }
    switch (action) {
      case 'reset':
        proxy.reset()
        deps.idp().reset()
        break
      case 'expire-session':
        result = { sessions: proxy.expireSession() }
        break
      case 'delete-session':
        result = { sessions: proxy.deleteSession() }
        break
      case 'tamper-session':
        result = { sessions: proxy.tamperSession() }
        break
      case 'revoke-refresh':
        result = { refreshTokens: deps.idp().revokeRefreshTokens() }
        break
      case 'end-idp-session':
        result = { sessions: deps.idp().endSessions() }
        break
      case 'set': {
        const { apiRoutes, ...rest } = input as AdminPatch
        behaviour.set({ ...rest, ...(apiRoutes ? { apiRoutes: apiRoutes.map((r) => new RegExp(r)) } : {}) })
        break
      }
      case 'profile':
        proxy.useProfile((input.name as ProfileName | null | undefined) ?? null)
        break
      case 'state':
        result = {
          options: {
            ...behaviour.options,
            apiRoutes: behaviour.options.apiRoutes.map(String),
            now: undefined,
          },
          counters: behaviour.counters,
          profile: profile ? { name: profile.name, counters: profile.counters } : null,
          idp: deps.idp().counters,
        }
        break
      default:
        res.writeHead(404, { 'content-type': 'text/plain' })
        return res.end(`unknown admin action ${action}`)
    }
    // readable from the app's other origin too (the demo on the nginx front); no credentials involved
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'access-control-allow-origin': '*',
    })
    res.end(JSON.stringify(result))
  }

  listening.setHandler(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path.startsWith('/__admin/')) return admin(req, res, path.slice('/__admin/'.length))
    const headers = toHeaders(req)
    const record: ProxyRecord = {
      at: Date.now(),
      answeredAt: null,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      originalUri: headers.get('x-original-uri'),
      status: null,
      csrfMinted: 0,
    }
    requests.push(record)
    // the scheme the browser used: the stack's TLS front says https (oauth2-proxy's --reverse-proxy)
    const scheme = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'
    const result = await active().handle({
      method: req.method ?? 'GET',
      url: `${scheme}://${req.headers.host ?? `localhost:${listening.port}`}${req.url}`,
      headers,
    })
    await delay.wait()
    if (!isPass(result)) {
      record.status = result.status
      record.csrfMinted = csrfMinted(result.headers)
      record.answeredAt = Date.now()
      return writeResponse(res, result)
    }
    record.csrfMinted = csrfMinted(result.responseHeaders)
    // forward to the upstream, streaming both ways
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
    for (const [k, v] of result.upstreamHeaders) out[k.toLowerCase()] = v
    out['x-forwarded-host'] = req.headers.host ?? ''
    out['x-forwarded-proto'] = scheme
    await new Promise<void>((resolve, reject) => {
      const up = request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: out },
        (upRes) => {
          for (const [k, v] of Object.entries(upRes.headers)) {
            if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding' && k !== 'keep-alive') {
              res.setHeader(k, v)
            }
          }
          for (const [k, v] of result.responseHeaders) res.appendHeader(k, v)
          record.status = upRes.statusCode ?? 502
          record.answeredAt = Date.now()
          res.writeHead(upRes.statusCode ?? 502)
          upRes.pipe(res)
          upRes.on('end', resolve)
          upRes.on('error', reject)
          res.on('close', () => {
            upRes.destroy()
            resolve()
          })
        },
      )
      up.on('error', reject)
      req.pipe(up)
    })
  })
  return proxy
}
