import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Adapter, AdapterPayload } from 'oidc-provider'
import Provider from 'oidc-provider'
import type { Delay, Listening } from './net.js'
import { createDelay } from './net.js'

/** The single test user. */
export const TEST_USER = {
  sub: 'alice',
  email: 'alice@example.com',
  preferredUsername: 'alice',
  name: 'Alice Example',
} as const

export const CLIENT_ID = 'oauth2-proxy'
export const CLIENT_SECRET = 'e2e-client-secret'

export interface IdpCounters {
  /** Requests that reached the authorization endpoint (including ones a browser CORS-blocked). */
  authorizeRequests: number
  /** Authorizations answered with a code. */
  authorizations: number
  /** Interactive logins (the login form had to be submitted). */
  interactiveLogins: number
  /** Automatic logins (no provider session, auto-login on). */
  autoLogins: number
  tokenRequests: number
  /** Successful refresh_token grants. */
  refreshGrants: number
}

/** One request the provider got (since the last `reset()`), for timelines. */
export interface IdpRecord {
  /** `Date.now()` at arrival and when the answer finished (null while pending or after a reset connection). */
  at: number
  answeredAt: number | null
  /** Path without the query. */
  path: string
  /** Path and query as received (an authorize request's `state` carries the proxy's `rd`). */
  url: string
  /** Names of the cookies the request carried (does the provider see its session in a frame?). */
  cookies: string[]
}

export interface Idp {
  url: string
  /** Every request since the last `reset()`. */
  requests: IdpRecord[]
  clientId: string
  clientSecret: string
  counters: Readonly<IdpCounters>
  /**
   * Latency of every answer of the provider (authorize, token, interactions, discovery, the profiles'
   * login origin), counted from arrival; `reset()` returns to none.
   */
  delay: Delay
  /**
   * End every provider session. Until `reset()` or `setAutoLogin(true)` the next authorize needs
   * the user to submit the login form, so a silent (iframe) re-login cannot complete.
   */
  endSessions(): number
  /** Revoke every refresh token: the proxy's next refresh gets `invalid_grant`. */
  revokeRefreshTokens(): number
  setAutoLogin(on: boolean): void
  /**
   * The `SameSite` of every cookie the provider sets from now on (`reset()`: `'Lax'`, oidc-provider's
   * default). `'None'` also adds `Secure` (browsers refuse `None` without it), as Google, Entra ID and
   * Okta set their session cookies; over plain HTTP it is what a browser does with `Secure` on a
   * loopback host that is measured (e2e/cross-site.e2e.ts).
   */
  cookieSameSite: 'Lax' | 'None'
  /**
   * Token settings for the next grants (`reset()` returns to the defaults: ID tokens live an hour,
   * refresh tokens are issued). `idTokenTtl` in seconds: an oauth2-proxy session whose ID token
   * expired dies at its next `--cookie-refresh` check unless a refresh gives it a new one;
   * `refreshTokens: false` issues none (the refresh then "succeeds" without new tokens).
   */
  setTokens(tokens: IdpTokens): void
  /** Number of live provider sessions. */
  sessionCount(): number
  reset(): void
}

export interface IdpTokens {
  /** Lifetime of the ID tokens issued from now on, in seconds (default 3600). */
  idTokenTtl?: number
  /** Issue refresh tokens (default true). */
  refreshTokens?: boolean
}

const TOKEN_DEFAULTS: Required<IdpTokens> = { idTokenTtl: 3600, refreshTokens: true }

interface Entry {
  payload: AdapterPayload
  expiresAt: number | null
}

/** Map-backed adapter: the stack can end sessions and revoke refresh tokens by model. */
function createStorage() {
  const models = new Map<string, Map<string, Entry>>()
  const model = (name: string) => {
    let m = models.get(name)
    if (!m) {
      m = new Map()
      models.set(name, m)
    }
    return m
  }
  const live = (e: Entry | undefined) =>
    e && (e.expiresAt === null || e.expiresAt > Date.now()) ? e : undefined
  class MemoryAdapter implements Adapter {
    readonly #m: Map<string, Entry>
    constructor(name: string) {
      this.#m = model(name)
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      this.#m.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null })
    }
    async find(id: string) {
      return live(this.#m.get(id))?.payload
    }
    async findByUid(uid: string) {
      for (const e of this.#m.values()) if (e.payload.uid === uid && live(e)) return e.payload
      return undefined
    }
    async findByUserCode(userCode: string) {
      for (const e of this.#m.values()) if (e.payload.userCode === userCode && live(e)) return e.payload
      return undefined
    }
    async consume(id: string) {
      const e = this.#m.get(id)
      if (e) e.payload.consumed = Math.floor(Date.now() / 1000)
    }
    async destroy(id: string) {
      this.#m.delete(id)
    }
    async revokeByGrantId(grantId: string) {
      for (const m of models.values())
        for (const [id, e] of m) if (e.payload.grantId === grantId) m.delete(id)
    }
  }
  // clear the maps in place: adapters keep a reference to their model's map
  return {
    MemoryAdapter,
    model,
    clear: () => {
      for (const m of models.values()) m.clear()
    },
  }
}

function page(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
  res.end(body)
}

/**
 * Start a real OpenID provider (`oidc-provider`) on an already listening server.
 * `redirectUris` are the proxy callbacks (`<app origin>/oauth2/callback`, nginx's too).
 * `extraHandler` may answer a request first (the stack mounts the profiles' login origin there).
 * `publicUrl`: the issuer (default `http://localhost:<port>`; a cross-site provider: `http://127.0.0.1:<port>`;
 * behind the stack's TLS front, its https URL: the provider then trusts the front's `X-Forwarded-Proto`,
 * so its cookies are `Secure`, as on any HTTPS provider).
 */
export function startIdp(
  listening: Listening,
  redirectUris: string[],
  extraHandler?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>,
  publicUrl?: string,
): Idp {
  const url = publicUrl ?? `http://localhost:${listening.port}`
  const storage = createStorage()
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e', use: 'sig', alg: 'RS256' }
  const zero = (): IdpCounters => ({
    authorizeRequests: 0,
    authorizations: 0,
    interactiveLogins: 0,
    autoLogins: 0,
    tokenRequests: 0,
    refreshGrants: 0,
  })
  const counters = zero()
  let autoLogin = true
  const tokens: Required<IdpTokens> = { ...TOKEN_DEFAULTS }
  const delay = createDelay(2)
  const requests: IdpRecord[] = []

  const provider = new Provider(url, {
    adapter: storage.MemoryAdapter,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    // ID tokens carry the scope claims (email), as oauth2-proxy expects from most providers.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    // Refresh tokens without the `prompt=consent` dance oidc-provider needs for offline_access.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
      tokens.refreshTokens && client.grantTypeAllowed('refresh_token'),
    // Refresh tokens outlive the provider session: "end session" and "revoke refresh" stay independent.
    expiresWithSession: async () => false,
    // Consent is implied: a grant is created on first use, so a second authorize with a live
    // provider session redirects straight back (what a silent iframe re-login needs).
    loadExistingGrant: async (ctx: {
      oidc: {
        client: { clientId: string }
        session: { accountId?: string; grantIdFor(clientId: string): string | undefined }
        result?: { consent?: { grantId?: string } }
        provider: Provider
      }
    }) => {
      const { oidc } = ctx
      const existingId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId)
      if (existingId) {
        const existing = await oidc.provider.Grant.find(existingId)
        if (existing) return existing
      }
      if (!oidc.session.accountId) return undefined
      const grant = new oidc.provider.Grant({
        accountId: oidc.session.accountId,
        clientId: oidc.client.clientId,
      })
      grant.addOIDCScope('openid email profile offline_access')
      grant.addOIDCClaims(['email', 'email_verified', 'preferred_username', 'name'])
      await grant.save()
      return grant
    },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({
        sub,
        email: TEST_USER.email,
        email_verified: true,
        preferred_username: TEST_USER.preferredUsername,
        name: TEST_USER.name,
      }),
    }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => false },
    ttl: {
      AccessToken: 3600,
      IdToken: () => tokens.idTokenTtl,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Interaction: 600,
      Grant: 14 * 24 * 3600,
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html'
      ctx.body = `<!DOCTYPE html><title>IdP error</title><pre>${JSON.stringify(out)}</pre>`
    },
  })
  // behind the TLS front: koa reads the scheme from X-Forwarded-Proto
  if (url.startsWith('https:')) provider.proxy = true
  provider.on('authorization.success', () => counters.authorizations++)
  provider.on('grant.success', (ctx) => {
    counters.tokenRequests++
    const grantType = (ctx as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type
    if (grantType === 'refresh_token') counters.refreshGrants++
  })
  provider.on('grant.error', (_ctx, err) => {
    counters.tokenRequests++
    if (process.env.E2E_DEBUG) console.error('[idp] grant.error', err, (err as { cause?: unknown }).cause)
  })
  provider.on('server_error', (_ctx, err) => console.error('[idp] server_error', err))
  const callback = provider.callback()

  async function interaction(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    action: string | undefined,
  ) {
    const details = await provider.interactionDetails(req, res)
    if (details.uid !== uid) return page(res, 400, 'interaction mismatch')
    if (details.prompt.name === 'login') {
      if (action === 'login' && req.method === 'POST') {
        counters.interactiveLogins++
      } else if (autoLogin) {
        counters.autoLogins++
      } else {
        return page(
          res,
          200,
          `<!DOCTYPE html><title>IdP login</title><form method="post" action="/interaction/${uid}/login">
<p>Sign in to the test IdP</p><button id="login" type="submit">Sign in as ${TEST_USER.email}</button></form>`,
        )
      }
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: TEST_USER.sub } },
        { mergeWithLastSubmission: false },
      )
    }
    // consent: create the grant the client asked for
    const grant = new provider.Grant({
      accountId: details.session?.accountId ?? TEST_USER.sub,
      clientId: CLIENT_ID,
    })
    grant.addOIDCScope(String(details.params.scope ?? 'openid'))
    grant.addOIDCClaims(['email', 'email_verified', 'preferred_username', 'name'])
    const grantId = await grant.save()
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }

  listening.setHandler(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (path === '/auth') counters.authorizeRequests++
    const cookies = (req.headers.cookie ?? '').split(';').flatMap((c) => c.split('=')[0]?.trim() || [])
    const record: IdpRecord = { at: Date.now(), answeredAt: null, path, url: req.url ?? '/', cookies }
    requests.push(record)
    res.once('finish', () => {
      record.answeredAt = Date.now()
    })
    if (self.cookieSameSite === 'None') sameSiteNone(res)
    await delay.wait()
    if (extraHandler && (await extraHandler(req, res))) return
    const m = /^\/interaction\/([^/]+)(?:\/(\w+))?$/.exec(path)
    if (m?.[1]) return interaction(req, res, m[1], m[2])
    callback(req, res)
  })

  const self: Idp = {
    url,
    cookieSameSite: 'Lax',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    counters,
    delay,
    requests,
    endSessions() {
      const sessions = storage.model('Session')
      const n = sessions.size
      sessions.clear()
      autoLogin = false
      return n
    },
    revokeRefreshTokens() {
      const tokens = storage.model('RefreshToken')
      const n = tokens.size
      tokens.clear()
      return n
    },
    setAutoLogin(on) {
      autoLogin = on
    },
    setTokens(t) {
      if (t.idTokenTtl !== undefined) tokens.idTokenTtl = t.idTokenTtl
      if (t.refreshTokens !== undefined) tokens.refreshTokens = t.refreshTokens
    },
    sessionCount: () => storage.model('Session').size,
    reset() {
      storage.clear()
      autoLogin = true
      Object.assign(tokens, TOKEN_DEFAULTS)
      Object.assign(counters, zero())
      requests.length = 0
      delay.reset()
      self.cookieSameSite = 'Lax'
    },
  }
  return self
}

/** Rewrite the `Set-Cookie` headers of this answer to `SameSite=None; Secure`. */
function sameSiteNone(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res)
  const rewrite = (c: string) =>
    `${c.replace(/;\s*samesite=\w+/i, '').replace(/;\s*secure/i, '')}; samesite=none; secure`
  res.setHeader = (name, value) => {
    if (name.toLowerCase() !== 'set-cookie') return setHeader(name, value)
    return setHeader(name, Array.isArray(value) ? value.map(String).map(rewrite) : rewrite(String(value)))
  }
}
