import { describe, expect, it } from 'vitest'
import {
  type BehaviourResponse,
  createInMemoryProvider,
  createOAuth2ProxyBehaviour,
  isPass,
  type Provider,
} from '../src/testing/behaviour/index.js'

// oauth2-proxy (stored_session.go): once a session is due for refresh and not renewed (no refresh
// token, or a refresh error that keeps it), validateSession verifies the OIDC ID token: the session
// dies when the ID token's exp passed. Proven against the real binary in e2e/real-conformance.e2e.ts.
const APP = 'http://app.test'

function setup(o: { refreshTokens: boolean }) {
  let now = Date.now()
  const inner = createInMemoryProvider({ origin: 'http://idp.test' })
  const withExp = async (t: ReturnType<typeof inner.exchangeCode>) => {
    const { refreshToken, ...tokens } = await t
    return {
      ...tokens,
      ...(o.refreshTokens && refreshToken ? { refreshToken } : {}),
      idTokenExpiresAt: now + 10_000,
    }
  }
  const provider: Provider = {
    name: 'test',
    authorizeUrl: (p) => inner.authorizeUrl(p),
    exchangeCode: (code, uri, verifier) => withExp(inner.exchangeCode(code, uri, verifier)),
    refresh: (token) => withExp(inner.refresh(token)),
  }
  const proxy = createOAuth2ProxyBehaviour(
    { cookieSecret: 'a'.repeat(64), cookieRefreshMs: 1_000, now: () => now },
    provider,
  )
  const cookies = new Map<string, string>()
  const apply = (r: BehaviourResponse | { responseHeaders: [string, string][] }) => {
    const list = 'headers' in r ? r.headers : r.responseHeaders
    for (const [k, v] of list) {
      if (k.toLowerCase() !== 'set-cookie') continue
      const [pair = ''] = v.split(';')
      const [name = '', value = ''] = pair.split('=')
      if (/max-age=0/i.test(v)) cookies.delete(name)
      else cookies.set(name, value)
    }
  }
  const get = async (url: string) => {
    const headers = new Headers({ accept: 'application/json' })
    if (cookies.size) headers.set('cookie', [...cookies].map(([n, v]) => `${n}=${v}`).join('; '))
    const r = await proxy.handle({ method: 'GET', url, headers })
    apply(r as BehaviourResponse)
    return r
  }
  const signIn = async () => {
    const start = (await get(`${APP}/oauth2/start?rd=/`)) as BehaviourResponse
    const authorize = start.headers.find(([k]) => k.toLowerCase() === 'location')?.[1] ?? ''
    const back = await inner.handle({ method: 'GET', url: authorize, headers: new Headers() })
    const callback = back.headers.find(([k]) => k.toLowerCase() === 'location')?.[1] ?? ''
    expect(((await get(callback)) as BehaviourResponse).status).toBe(302)
  }
  return {
    signIn,
    status: async () => {
      const r = await get(`${APP}/api/items`)
      return isPass(r) ? 200 : r.status
    },
    advance: (ms: number) => {
      now += ms
    },
    counters: proxy.counters,
  }
}

describe('oauth2-proxy behaviour: the session dies at the ID token exp', () => {
  it('without a refresh token: served until the ID token expires, then the Ajax 401', async () => {
    const s = setup({ refreshTokens: false })
    await s.signIn()
    s.advance(2_000) // due for refresh, no refresh token, ID token still valid
    expect(await s.status()).toBe(200)
    s.advance(9_000) // past the ID token's exp
    expect(await s.status()).toBe(401)
    expect(s.counters.sessionsCleared).toBe(1)
  })

  it('with a refresh token: the refresh renews the ID token and the session lives on', async () => {
    const s = setup({ refreshTokens: true })
    await s.signIn()
    s.advance(11_000)
    expect(await s.status()).toBe(200)
    expect(s.counters.refreshes).toBe(1)
  })
})
