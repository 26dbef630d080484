import type { Send } from '../../src/doctor/http.js'
import type { Exchange } from '../../src/doctor/types.js'
import type { Behaviour, BehaviourRequest, BehaviourResponse } from '../../src/testing/behaviour/index.js'
import {
  createInMemoryProvider,
  createNginxFrontBehaviour,
  createOAuth2ProxyBehaviour,
  createProfileBehaviour,
  isPass,
  type OAuth2ProxyOptions,
  type ProfileName,
} from '../../src/testing/behaviour/index.js'

/** Answers one request, or null to let the next handler try. */
export type Handler = (req: BehaviourRequest) => Promise<BehaviourResponse | null>

export const APP = 'http://localhost:4180'
export const IDP = 'http://localhost:9000'

/** A `Send` that answers in memory, from the behaviours the e2e test proxy runs. */
export function memorySend(...handlers: Handler[]): Send & { sent: Exchange[] } {
  const sent: Exchange[] = []
  const send = async ({ label, url, headers, method = 'GET' as const }: Parameters<Send>[0]) => {
    const x: Exchange = { label, method, url, headers }
    sent.push(x)
    const req = { method, url, headers: new Headers(headers) }
    let r: BehaviourResponse | null = null
    for (const h of handlers) {
      r = await h(req)
      if (r) break
    }
    if (!r) {
      x.error = { kind: 'unreachable', message: `ECONNREFUSED ${new URL(url).host}` }
      return x
    }
    const rec = {
      status: r.status,
      headers: {} as Record<string, string>,
      setCookies: [] as string[],
      body: r.body,
    }
    for (const [k, v] of r.headers) {
      if (k.toLowerCase() === 'set-cookie') rec.setCookies.push(v)
      else rec.headers[k.toLowerCase()] = v
    }
    x.response = rec
    return x
  }
  return Object.assign(send, { sent })
}

/** The app behind a behaviour: what passes gets the upstream's answer (`extra` headers on pages). */
export function behind(behaviour: Behaviour, origin = APP, page: [string, string][] = []): Handler {
  return async (req) => {
    if (new URL(req.url).origin !== origin) return null
    const r = await behaviour.handle(req)
    if (!isPass(r)) return r
    const path = new URL(req.url).pathname
    if (path.startsWith('/api/'))
      return {
        status: 200,
        headers: [['Content-Type', 'application/json'], ...r.responseHeaders],
        body: '{"items":[]}',
      }
    return {
      status: 200,
      headers: [['Content-Type', 'text/html; charset=utf-8'], ...page, ...r.responseHeaders],
      body: '<!DOCTYPE html><title>app</title>',
    }
  }
}

/** The identity provider's authorize endpoint: a login page with the given headers. */
export function provider(origin = IDP, headers: [string, string][] = []): Handler {
  return async (req) =>
    new URL(req.url).origin === origin
      ? {
          status: 200,
          headers: [
            ['Content-Type', 'text/html'],
            ['Set-Cookie', '_interaction=abc; Path=/; HttpOnly; SameSite=Lax'],
            ...headers,
          ],
          body: '<!DOCTYPE html><title>Log in</title>',
        }
      : null
}

export function oauth2(options: Partial<OAuth2ProxyOptions> = {}, idp = IDP) {
  return createOAuth2ProxyBehaviour(
    { cookieSecret: 'unit-test-secret-unit-test-secret', ...options },
    createInMemoryProvider({ origin: idp }),
  )
}

export const nginxFront = (options: Partial<OAuth2ProxyOptions> = {}) =>
  createNginxFrontBehaviour(oauth2(options))

export const profile = (name: ProfileName, easyAuthAction?: 'redirect' | '401') =>
  createProfileBehaviour(name, {
    secret: 'unit-test-secret',
    loginOrigin: IDP,
    ...(easyAuthAction ? { easyAuthAction } : {}),
  })
