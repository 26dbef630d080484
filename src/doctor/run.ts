import type { BuiltinProfileName } from '../profiles/names'
import { builtinProfiles } from '../profiles/names'
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
const SDK_HEADERS = { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }
/** Where the re-login returns to: the page the hidden iframe lands on. */
const RETURN_TO = '/'

type Profile = (typeof builtinProfiles)[BuiltinProfileName]

/** One run of the doctor: what it records into, and how it sends. */
interface Run {
  url: URL
  origin: string
  crossOrigin: boolean
  obs: Observations
  /** Sends one GET with the doctor's base headers and records it. */
  go: (label: string, target: string, headers: Record<string, string>) => Promise<Exchange>
}

/**
 * Sends the doctor's requests (at most ~20, GET only, no credential but the `cookie` given) and records
 * them. Stops early with `failure` when there is nothing to check.
 */
export async function collect(input: DoctorInput, send: Send): Promise<Observations> {
  const url = new URL(input.url)
  const origin = input.origin ? new URL(input.origin).origin : url.origin
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
  const go: Run['go'] = async (label, target, headers) => {
    const x = await send({ label, url: target, headers: { ...base, ...headers } })
    exchanges.push(x)
    return x
  }
  const run: Run = { url, origin, crossOrigin: origin !== url.origin, obs, go }

  if (!(await sendVariants(run))) return obs
  const name = input.proxy ?? detectProxy(exchanges).name
  if (!name) {
    obs.failure = noProxyFailure(url, exchanges)
    return obs
  }
  const profile = builtinProfiles[name]
  if (profile.probe) await go('probe', new URL(profile.probe.path, origin).href, SDK_HEADERS)
  await sendStaleCookie(run, name, input.cookie)
  const startUrl = await sendRelogin(run, profile)
  await sendCsrfRounds(run, startUrl)
  if (input.cookie) await sendSignedIn(run, profile, input.cookie)
  return obs
}

/** The request kinds without a session (`VARIANTS`); false when the run stops (`obs.failure`). */
async function sendVariants(run: Run): Promise<boolean> {
  const seen = new Map<string, Exchange>()
  for (const v of VARIANTS) {
    const headers = { ...v.headers, ...(run.crossOrigin && v.cors ? { origin: run.origin } : {}) }
    const x = await run.go(v.label, run.url.href, headers)
    if (x.error) {
      run.obs.failure = x.error
      return false
    }
    if (FOLLOWED.has(v.label) && !(await follow(run, seen, x, headers))) return false
  }
  return true
}

/** Follows same-origin redirects of `first` (each hop once per run); returns false on a loop. */
async function follow(
  run: Run,
  seen: Map<string, Exchange>,
  first: Exchange,
  headers: Record<string, string>,
): Promise<boolean> {
  let x = first
  const chain = [first.url]
  for (let hop = 1; isRedirect(x); hop++) {
    const next = new URL(x.response!.headers.location ?? '', x.url)
    if (!x.response!.headers.location || next.origin !== new URL(x.url).origin) return true
    // oauth2-proxy's sign-in page clears the session cookie: the doctor never asks for it
    if (/\/sign_in$/.test(next.pathname)) return true
    if (chain.includes(next.href) || hop > MAX_HOPS) {
      run.obs.failure = {
        kind: 'redirect-loop',
        message: `redirect loop: ${[...chain, next.href].map((u) => new URL(u).pathname).join(' → ')}`,
      }
      return false
    }
    chain.push(next.href)
    const cached = seen.get(next.href)
    x = cached ?? (await run.go(`${first.label}>${hop}`, next.href, headers))
    if (!cached) seen.set(next.href, x)
    if (x.error) return true
  }
  return true
}

/** Why the doctor stops when no proxy is named or recognised. */
function noProxyFailure(url: URL, exchanges: Exchange[]): NonNullable<Observations['failure']> {
  const answered = exchanges.filter((x) => x.response)
  const allPassed = answered.every((x) => x.response!.status >= 200 && x.response!.status < 300)
  return {
    kind: 'no-proxy',
    message: allPassed
      ? `${url.href} answered ${answered[0]?.response?.status} without a session: not behind an authenticating proxy (or a route that skips authentication)`
      : 'not behind a known proxy (oauth2-proxy, Pomerium, Authelia, Google IAP, Cloudflare Access, Azure Easy Auth): pass --proxy <name> if it is one',
  }
}

/** A stale session cookie: the proxy clears it with the attributes it sets it with. */
async function sendStaleCookie(run: Run, name: BuiltinProfileName, inputCookie?: string): Promise<void> {
  const given = (inputCookie ?? '')
    .split(';')
    .map((s) => s.trim().split('=')[0] ?? '')
    .find((n) => SESSION_COOKIE[name].test(n))
  const cookieName = given ?? SESSION_COOKIE[name].source.replace(/^\^|\(.*$|\$$/g, '')
  await run.go('stale-cookie', run.url.href, {
    ...SDK_HEADERS,
    cookie: `${cookieName}=ajax-reauth-doctor-stale`,
    ...(run.crossOrigin ? { origin: run.origin } : {}),
  })
}

/**
 * The re-login: the start endpoint as a hidden iframe loads it, its same-origin hops, one hop to
 * the identity provider. Returns the start URL.
 */
async function sendRelogin(run: Run, profile: Profile): Promise<string> {
  const { origin } = run
  const startUrl = new URL(profile.reloginUrl({ origin, returnTo: RETURN_TO }), origin).href
  let last = await run.go('start', startUrl, IFRAME)
  for (let hop = 1; isRedirect(last) && hop <= MAX_HOPS; hop++) {
    const next = new URL(last.response!.headers.location ?? '', last.url)
    if (next.origin !== origin) {
      await run.go('provider', next.href, IFRAME)
      break
    }
    last = await run.go(`start>${hop}`, next.href, IFRAME)
  }
  return startUrl
}

/** Rounds of `/oauth2/start` with the CSRF cookies held: enough to see the limit the doctor suggests. */
export const CSRF_ROUNDS = 4

/**
 * CSRF cookie per request: send the start again with the cookies a browser would now hold; a
 * `--cookie-csrf-per-request-limit` shows as the oldest ones cleared.
 */
async function sendCsrfRounds(run: Run, startUrl: string): Promise<void> {
  const perRequest = /^_oauth2_proxy_[\w-]{8}_csrf$/
  const held = new Map<string, string>()
  const collectCsrf = () => {
    for (const x of run.obs.exchanges)
      for (const sc of x.response?.setCookies ?? []) {
        const c = parseSetCookie(sc)
        if (!perRequest.test(c.name)) continue
        if (c.deletes) held.delete(c.name)
        else held.set(c.name, c.value)
      }
  }
  collectCsrf()
  // oauth2-proxy clears only once a request carries more than the limit: the limit the doctor suggests
  // (at most 3) shows by the fourth round.
  for (let round = 1; held.size > 0 && round <= CSRF_ROUNDS; round++) {
    const cookie = [...held].map(([n, v]) => `${n}=${v}`).join('; ')
    const x = await run.go(`csrf-limit-${round}`, startUrl, { ...IFRAME, cookie })
    collectCsrf()
    if (x.response?.setCookies.some((sc) => parseSetCookie(sc).deletes)) break
  }
}

/** The signed-in comparison with the `cookie` given: the API, the iframe's landing page, the probe. */
async function sendSignedIn(run: Run, profile: Profile, cookie: string): Promise<void> {
  const { url, origin, crossOrigin } = run
  run.obs.cookieBytes = cookie
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .reduce((n, s) => n + new TextEncoder().encode(s).length + 2, 0)
  const cors = crossOrigin ? { origin } : {}
  await run.go('signed-in:sdk', url.href, { ...SDK_HEADERS, cookie, ...cors })
  await run.go('signed-in:fetch', url.href, { accept: '*/*', cookie, ...cors })
  await run.go('signed-in:landing', new URL(RETURN_TO, origin).href, { ...IFRAME, cookie })
  if (profile.probe)
    await run.go('signed-in:probe', new URL(profile.probe.path, origin).href, { ...SDK_HEADERS, cookie })
}
