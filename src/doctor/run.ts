import type { BuiltinProfileName } from '../profiles/index'
import { builtinProfiles } from '../profiles/index'
import { parseSetCookie } from './cookies'
import { detectProxy, SESSION_COOKIE } from './fingerprint'
import type { Send } from './http'
import type { Exchange, FailureKind } from './types'

/** What the doctor was asked to check. */
export interface DoctorInput {
  url: string
  /** Origin of the page that calls `url` (default: the URL's own origin). */
  origin?: string
  /** A signed-in `Cookie` header (`name=value; …`), to compare with. */
  cookie?: string
  proxy?: BuiltinProfileName
}

/** Everything the doctor saw: the input of the pure `analyze()`. */
export interface Observations {
  url: string
  origin: string
  proxyFlag: BuiltinProfileName | null
  /** Whether a signed-in cookie was given (its value never leaves the run). */
  signedIn: boolean
  /** Size in bytes of the given cookie header's cookies (0 without `--cookie`). */
  cookieBytes: number
  exchanges: Exchange[]
  failure?: { kind: FailureKind; message: string }
}

const UA = 'ajax-reauth-doctor/1 (+https://github.com/ajax-reauth)'
const NAV_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

/** The request kinds sent without a session, with the headers a browser (or the SDK) sends. */
export const VARIANTS: { label: string; headers: Record<string, string>; cors: boolean }[] = [
  {
    label: 'page',
    headers: { accept: NAV_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    cors: false,
  },
  { label: 'fetch', headers: { accept: '*/*' }, cors: true },
  { label: 'json', headers: { accept: 'application/json' }, cors: true },
  { label: 'xrw', headers: { accept: '*/*', 'x-requested-with': 'XMLHttpRequest' }, cors: true },
  { label: 'sdk', headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }, cors: true },
]
/** The variants whose same-origin redirects the doctor follows (what fetch and the SDK would see). */
const FOLLOWED = new Set(['fetch', 'sdk', 'page'])
const MAX_HOPS = 4
const IFRAME = { accept: NAV_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }

const isRedirect = (x: Exchange) => !!x.response && x.response.status >= 300 && x.response.status < 400

/**
 * Sends the doctor's requests (at most ~20, GET only, no credential but the `cookie` given) and records
 * them. Stops early with `failure` when there is nothing to check.
 */
export async function collect(input: DoctorInput, send: Send): Promise<Observations> {
  const url = new URL(input.url)
  const origin = input.origin ? new URL(input.origin).origin : url.origin
  const crossOrigin = origin !== url.origin
  const exchanges: Exchange[] = []
  const obs: Observations = {
    url: url.href,
    origin,
    proxyFlag: input.proxy ?? null,
    signedIn: !!input.cookie,
    cookieBytes: 0,
    exchanges,
  }
  const base = { 'user-agent': UA, 'cache-control': 'no-cache' }
  const go = async (label: string, target: string, headers: Record<string, string>) => {
    const x = await send({ label, url: target, headers: { ...base, ...headers } })
    exchanges.push(x)
    return x
  }
  const seen = new Map<string, Exchange>()
  /** Follows same-origin redirects of `first` (each hop once per run); returns false on a loop. */
  const follow = async (first: Exchange, headers: Record<string, string>): Promise<boolean> => {
    let x = first
    const chain = [first.url]
    for (let hop = 1; isRedirect(x); hop++) {
      const next = new URL(x.response!.headers.location ?? '', x.url)
      if (!x.response!.headers.location || next.origin !== new URL(x.url).origin) return true
      // oauth2-proxy's sign-in page clears the session cookie: the doctor never asks for it
      if (/\/sign_in$/.test(next.pathname)) return true
      if (chain.includes(next.href) || hop > MAX_HOPS) {
        obs.failure = {
          kind: 'redirect-loop',
          message: `redirect loop: ${[...chain, next.href].map((u) => new URL(u).pathname).join(' → ')}`,
        }
        return false
      }
      chain.push(next.href)
      const cached = seen.get(next.href)
      x = cached ?? (await go(`${first.label}>${hop}`, next.href, headers))
      if (!cached) seen.set(next.href, x)
      if (x.error) return true
    }
    return true
  }

  for (const v of VARIANTS) {
    const headers = { ...v.headers, ...(crossOrigin && v.cors ? { origin } : {}) }
    const x = await go(v.label, url.href, headers)
    if (x.error) {
      obs.failure = x.error
      return obs
    }
    if (FOLLOWED.has(v.label) && !(await follow(x, headers))) return obs
  }

  const detected = detectProxy(exchanges)
  const name = input.proxy ?? detected.name
  const answered = exchanges.filter((x) => x.response)
  if (!name) {
    const allPassed = answered.every((x) => x.response!.status >= 200 && x.response!.status < 300)
    obs.failure = {
      kind: 'no-proxy',
      message: allPassed
        ? `${url.href} answered ${answered[0]?.response?.status} without a session: not behind an authenticating proxy (or a route that skips authentication)`
        : 'not behind a known proxy (oauth2-proxy, Pomerium, Authelia, Google IAP, Cloudflare Access, Azure Easy Auth): pass --proxy <name> if it is one',
    }
    return obs
  }
  const profile = builtinProfiles[name]
  const sdkHeaders = { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }

  if (profile.probe) await go('probe', new URL(profile.probe.path, origin).href, sdkHeaders)

  // A stale session cookie: the proxy clears it with the attributes it sets it with.
  const given = (input.cookie ?? '')
    .split(';')
    .map((s) => s.trim().split('=')[0] ?? '')
    .find((n) => SESSION_COOKIE[name].test(n))
  const cookieName = given ?? SESSION_COOKIE[name].source.replace(/^\^|\(.*$|\$$/g, '')
  await go('stale-cookie', url.href, {
    ...sdkHeaders,
    cookie: `${cookieName}=ajax-reauth-doctor-stale`,
    ...(crossOrigin ? { origin } : {}),
  })

  // The re-login: the start endpoint as a hidden iframe loads it, its same-origin hops, one hop to
  // the identity provider.
  const returnTo = '/'
  const startUrl = new URL(profile.reloginUrl({ origin, returnTo }), origin).href
  const start = await go('start', startUrl, IFRAME)
  let last = start
  for (let hop = 1; isRedirect(last) && hop <= MAX_HOPS; hop++) {
    const next = new URL(last.response!.headers.location ?? '', last.url)
    if (next.origin !== origin) {
      await go('provider', next.href, IFRAME)
      break
    }
    last = await go(`start>${hop}`, next.href, IFRAME)
  }

  // CSRF cookie per request: send the start again with the cookies a browser would now hold; a
  // `--cookie-csrf-per-request-limit` shows as the oldest ones cleared.
  const perRequest = /^_oauth2_proxy_[\w-]{8}_csrf$/
  const held = new Map<string, string>()
  const collectCsrf = () => {
    for (const x of exchanges)
      for (const sc of x.response?.setCookies ?? []) {
        const c = parseSetCookie(sc)
        if (!perRequest.test(c.name)) continue
        if (c.deletes) held.delete(c.name)
        else held.set(c.name, c.value)
      }
  }
  collectCsrf()
  for (let round = 1; held.size > 0 && round <= 3; round++) {
    const cookie = [...held].map(([n, v]) => `${n}=${v}`).join('; ')
    const x = await go(`csrf-limit-${round}`, startUrl, { ...IFRAME, cookie })
    collectCsrf()
    if (x.response?.setCookies.some((sc) => parseSetCookie(sc).deletes)) break
  }

  if (input.cookie) {
    obs.cookieBytes = input.cookie
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)
      .reduce((n, s) => n + new TextEncoder().encode(s).length + 2, 0)
    const cookie = input.cookie
    await go('signed-in:sdk', url.href, { ...sdkHeaders, cookie, ...(crossOrigin ? { origin } : {}) })
    await go('signed-in:fetch', url.href, { accept: '*/*', cookie, ...(crossOrigin ? { origin } : {}) })
    await go('signed-in:landing', new URL(returnTo, origin).href, { ...IFRAME, cookie })
    if (profile.probe)
      await go('signed-in:probe', new URL(profile.probe.path, origin).href, { ...sdkHeaders, cookie })
  }
  return obs
}
