import type { AuthorizeParams, Provider, SessionUser, Tokens } from '../../src/testing/behaviour/index.js'
import { ProviderError } from '../../src/testing/behaviour/index.js'

/**
 * The behaviour module's `Provider`, implemented with real HTTP against the oidc-provider:
 * authorize URL, code exchange and refresh at the token endpoint (client_secret_basic, PKCE).
 * The ID token's claims are read without verifying its signature: the token comes straight
 * from the provider over a back channel, as the test bed's only trust anchor.
 */
export function createOidcClient(options: {
  issuer: string
  /** Where the proxy reaches the token endpoint (default the issuer; the stack's back channel under TLS). */
  tokenBase?: string
  clientId: string
  clientSecret: string
}): Provider {
  const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')

  async function token(form: Record<string, string>): Promise<Tokens> {
    const res = await fetch(`${options.tokenBase ?? options.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    })
    const body = (await res.json()) as Record<string, unknown>
    if (!res.ok)
      throw new ProviderError(
        String(body.error ?? `http_${res.status}`),
        String(body.error_description ?? ''),
      )
    const idToken = typeof body.id_token === 'string' ? body.id_token : undefined
    const claims = idToken ? decodeJwt(idToken) : undefined
    const user: SessionUser | undefined = claims
      ? {
          user: String(claims.sub),
          email: String(claims.email ?? ''),
          ...(claims.preferred_username ? { preferredUsername: String(claims.preferred_username) } : {}),
        }
      : undefined
    return {
      accessToken: String(body.access_token),
      ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
      ...(idToken ? { idToken } : {}),
      ...(typeof claims?.exp === 'number' ? { idTokenExpiresAt: claims.exp * 1000 } : {}),
      ...(typeof body.expires_in === 'number' ? { expiresIn: body.expires_in } : {}),
      ...(user ? { user } : {}),
      ...(claims?.nonce !== undefined ? { nonce: String(claims.nonce) } : {}),
    }
  }

  return {
    authorizeUrl(p: AuthorizeParams) {
      const u = new URL(`${options.issuer}/auth`)
      u.searchParams.set('client_id', options.clientId)
      u.searchParams.set('redirect_uri', p.redirectUri)
      u.searchParams.set('response_type', 'code')
      u.searchParams.set('scope', p.scope)
      u.searchParams.set('state', p.state)
      u.searchParams.set('nonce', p.nonce)
      if (p.codeChallenge && p.codeChallengeMethod) {
        u.searchParams.set('code_challenge', p.codeChallenge)
        u.searchParams.set('code_challenge_method', p.codeChallengeMethod)
      }
      return u.href
    },
    exchangeCode: (code, redirectUri, codeVerifier) =>
      token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        ...(codeVerifier ? { code_verifier: codeVerifier } : {}),
      }),
    refresh: (refreshToken) => token({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  }
}

function decodeJwt(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
}
