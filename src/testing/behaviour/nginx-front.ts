import type { OAuth2ProxyBehaviour } from './oauth2-proxy.js'
import type { Behaviour, BehaviourRequest, BehaviourResponse, BehaviourResult } from './types.js'
import { html, requestUri } from './util.js'

/**
 * The ingress-nginx style front of `e2e/server/nginx.ts`, as a behaviour: `location /` has
 * `auth_request /oauth2/auth` and `error_page 401 = @oauth2_signin` → `return 302
 * /oauth2/start?rd=$request_uri`; `/oauth2/` goes straight to oauth2-proxy. `/oauth2/auth` never
 * looks at `Accept`, so Ajax requests get the 302 too (#1274, #2292).
 *
 * nginx keeps none of the auth subrequest's response headers here (no `auth_request_set` for
 * `Set-Cookie`): a cleared or refreshed cookie from `/oauth2/auth` does not reach the browser.
 * A `Cookie` header over the proxy's `cookieCap` is refused with the cap's answer, as nginx's
 * `large_client_header_buffers` refuses it before `auth_request` runs.
 */
export interface NginxFrontCounters {
  /** `302 /oauth2/start?rd=…` answers (the `error_page 401` redirect). */
  signInRedirects: number
}

export interface NginxFrontBehaviour extends Behaviour {
  /** The oauth2-proxy behind the front (its options, counters and session switches). */
  readonly proxy: OAuth2ProxyBehaviour
  readonly counters: Readonly<NginxFrontCounters>
  /** Counters to zero and `proxy.reset()`. */
  reset(): void
}

/** nginx's built-in error/redirect page. */
function nginxPage(status: number, reason: string): string {
  return `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
}

const REASONS: Record<number, string> = { 302: 'Found', 403: 'Forbidden', 500: 'Internal Server Error' }

function nginxAnswer(status: number, extra: [string, string][] = []): BehaviourResponse {
  return { status, headers: html(extra), body: nginxPage(status, REASONS[status] ?? '') }
}

export function createNginxFrontBehaviour(proxy: OAuth2ProxyBehaviour): NginxFrontBehaviour {
  const counters: NginxFrontCounters = { signInRedirects: 0 }

  async function handle(req: BehaviourRequest): Promise<BehaviourResult> {
    const url = new URL(req.url)
    const prefix = proxy.options.proxyPrefix
    if (url.pathname === `${prefix}/auth`) {
      const headers = new Headers(req.headers)
      headers.set('X-Original-URI', requestUri(url))
      return proxy.handle({ ...req, headers })
    }
    if (url.pathname.startsWith(`${prefix}/`)) {
      const headers = new Headers(req.headers)
      headers.set('X-Auth-Request-Redirect', requestUri(url))
      return proxy.handle({ ...req, headers })
    }
    // auth_request: a body-less subrequest to /oauth2/auth with the client's headers.
    const headers = new Headers(req.headers)
    headers.set('X-Original-URI', requestUri(url))
    const auth = await proxy.handle({ method: req.method, url: `${url.origin}${prefix}/auth`, headers })
    if ('pass' in auth) return nginxAnswer(500)
    if (auth.status >= 200 && auth.status < 300) {
      const get = (name: string) => auth.headers.find(([k]) => k.toLowerCase() === name)?.[1] ?? ''
      return {
        pass: true,
        user: { user: get('x-auth-request-user'), email: get('x-auth-request-email') },
        upstreamHeaders: [
          ['X-Forwarded-Email', get('x-auth-request-email')],
          ['X-Forwarded-User', get('x-auth-request-user')],
        ],
        responseHeaders: [],
      }
    }
    if (auth.status === 401) {
      counters.signInRedirects++
      // `$request_uri` is not escaped: a query after the path splits into further parameters.
      return nginxAnswer(302, [['Location', `${url.origin}${prefix}/start?rd=${requestUri(url)}`]])
    }
    if (auth.status === 403) return nginxAnswer(403)
    // The cookie cap's 431 / 400: nginx refuses the header before auth_request.
    if (auth.status === 400 || auth.status === 431) return auth
    return nginxAnswer(500)
  }

  return {
    name: 'nginx-front',
    proxy,
    counters,
    handle,
    reset() {
      counters.signInRedirects = 0
      proxy.reset()
    },
  }
}
