import type {
  AuthorizeParams,
  BehaviourRequest,
  BehaviourResponse,
  Provider,
  SessionUser,
  Tokens,
} from './types.js'
import { ProviderError } from './types.js'
import { randomToken, sha256, textPlain } from './util.js'

/**
 * A provider with no server: `authorizeUrl()` records the request, `approve()` (what a real
 * provider does after login) returns the callback URL with a fresh code. For unit tests and msw.
 */
export interface InMemoryProvider extends Provider {
  /** The callback URL the provider would redirect to for an authorize URL it produced. */
  approve(authorizeUrl: string): string
  /** Refresh tokens issued so far stop working (`invalid_grant`). */
  revokeRefreshTokens(): void
  readonly issued: { codes: number; refreshes: number }
  /**
   * The provider's origin as a browser navigating to it sees it: `GET /authorize` signs the user in
   * at once (`approve()`) and answers `302` to the callback; anything else is `404`.
   */
  handle(req: BehaviourRequest): Promise<BehaviourResponse>
}

export function createInMemoryProvider(options: {
  origin: string
  user?: SessionUser
  expiresIn?: number
}): InMemoryProvider {
  const user = options.user ?? { user: 'alice', email: 'alice@example.com', preferredUsername: 'alice' }
  const pending = new Map<string, AuthorizeParams>()
  const codes = new Map<string, AuthorizeParams>()
  const refreshTokens = new Set<string>()
  const issued = { codes: 0, refreshes: 0 }
  const tokens = (nonce?: string): Tokens => {
    const refreshToken = randomToken(24)
    refreshTokens.add(refreshToken)
    return {
      accessToken: randomToken(24),
      refreshToken,
      idToken: randomToken(24),
      expiresIn: options.expiresIn ?? 3600,
      user,
      ...(nonce !== undefined ? { nonce } : {}),
    }
  }
  const provider: InMemoryProvider = {
    name: 'In-Memory',
    issued,
    authorizeUrl(params) {
      const id = randomToken(12)
      pending.set(id, params)
      const u = new URL('/authorize', options.origin)
      u.searchParams.set('request', id)
      u.searchParams.set('state', params.state)
      u.searchParams.set('redirect_uri', params.redirectUri)
      return u.href
    },
    approve(authorizeUrl) {
      const u = new URL(authorizeUrl)
      const params = pending.get(u.searchParams.get('request') ?? '')
      if (!params) throw new Error('unknown authorize request')
      const code = randomToken(16)
      codes.set(code, params)
      issued.codes++
      const cb = new URL(params.redirectUri)
      cb.searchParams.set('code', code)
      cb.searchParams.set('state', params.state)
      return cb.href
    },
    async exchangeCode(code, redirectUri, codeVerifier) {
      const params = codes.get(code)
      codes.delete(code)
      if (!params || params.redirectUri !== redirectUri) throw new ProviderError('invalid_grant')
      if (params.codeChallenge !== undefined && (await sha256(codeVerifier ?? '')) !== params.codeChallenge) {
        throw new ProviderError('invalid_grant', 'PKCE verification failed')
      }
      return tokens(params.nonce)
    },
    async refresh(refreshToken) {
      if (!refreshTokens.delete(refreshToken)) throw new ProviderError('invalid_grant')
      issued.refreshes++
      const { idToken: _omit, user: _user, ...rest } = tokens()
      return rest
    },
    revokeRefreshTokens() {
      refreshTokens.clear()
    },
    async handle(req) {
      const url = new URL(req.url)
      if (url.pathname !== '/authorize') return { status: 404, headers: textPlain(), body: 'not found' }
      if (!pending.has(url.searchParams.get('request') ?? '')) {
        return { status: 400, headers: textPlain(), body: 'unknown authorize request' }
      }
      return { status: 302, headers: [['Location', provider.approve(url.href)]], body: '' }
    },
  }
  return provider
}
