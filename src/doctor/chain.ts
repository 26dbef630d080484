/** The redirect chains the doctor recorded, and what a browser would make of them. */
import type { BuiltinProfileName } from '../profiles/index'
import { builtinProfiles } from '../profiles/index'
import type { SetCookie } from './cookies'
import { parseSetCookie } from './cookies'
import { short } from './fingerprint'
import type { Observations } from './run'
import type { Exchange, LostSessionAnswer } from './types'

const PROVIDER_PARAMS =
  /[?&](client_id|redirect_uri|response_type|state|rd|redirect_url|continue|pomerium_redirect_uri)=/

export const header = (x: Exchange | undefined, name: string): string | undefined =>
  x?.response?.headers[name]
export const status = (x: Exchange | undefined): number => x?.response?.status ?? 0
export const isRedirect = (x: Exchange | undefined) => status(x) >= 300 && status(x) < 400
export const isHtml = (x: Exchange | undefined) => /html/i.test(header(x, 'content-type') ?? '')
export const cookiesOf = (x: Exchange | undefined): SetCookie[] =>
  (x?.response?.setCookies ?? []).map(parseSetCookie)
export const csrfMinted = (x: Exchange | undefined) =>
  cookiesOf(x).filter((c) => /_csrf$/.test(c.name) && !c.deletes)

/** Framing verdict of a response for a frame embedded by `origin`: null when it allows it. */
export function framingBlock(x: Exchange | undefined, origin: string, self: string): string | null {
  if (!x?.response) return null
  const xfo = (header(x, 'x-frame-options') ?? '').trim().toUpperCase()
  const csp = header(x, 'content-security-policy') ?? ''
  const fa = /(?:^|;)\s*frame-ancestors\s+([^;]*)/i.exec(csp)?.[1]?.trim()
  if (fa !== undefined) {
    const sources = fa.split(/\s+/)
    const ok = sources.some(
      (s) =>
        s === '*' ||
        s === origin ||
        (s === "'self'" && origin === self) ||
        (s.startsWith('*.') && new URL(origin).hostname.endsWith(s.slice(1))),
    )
    return ok ? null : `Content-Security-Policy: frame-ancestors ${fa}`
  }
  if (xfo === 'DENY') return 'X-Frame-Options: DENY'
  if (xfo === 'SAMEORIGIN' && origin !== self) return 'X-Frame-Options: SAMEORIGIN'
  return null
}

export interface Chain {
  hops: Exchange[]
  end: Exchange
}

/** The exchange labelled `label` and the same-origin hops the doctor followed from it. */
export function chainOf(obs: Observations, label: string): Chain | null {
  const first = obs.exchanges.find((x) => x.label === label)
  if (!first) return null
  const hops = [first]
  let x = first
  while (isRedirect(x) && hops.length < 8) {
    const loc = header(x, 'location')
    if (!loc) break
    const next = new URL(loc, x.url).href
    const hop = obs.exchanges.find((e) => e.url === next && e.label.includes('>'))
    if (!hop || hops.includes(hop)) break
    hops.push(hop)
    x = hop
  }
  return { hops, end: x }
}

export function answerOf(chain: Chain, profile: BuiltinProfileName | null): LostSessionAnswer {
  const { end, hops } = chain
  const s = status(end)
  const p = profile ? builtinProfiles[profile] : null
  if (s === 401) return '401'
  if (isRedirect(end)) {
    const loc = new URL(header(end, 'location') ?? '', end.url)
    if (loc.origin !== new URL(end.url).origin)
      return PROVIDER_PARAMS.test(loc.search) || p?.isSignInUrl(loc)
        ? 'redirect-to-provider'
        : 'redirect-elsewhere'
    return p?.isSignInUrl(loc) ? 'redirect-to-sign-in' : 'redirect-elsewhere'
  }
  if (hops.length > 1 && s >= 200 && s < 300)
    return isHtml(end) ? 'redirect-to-sign-in' : 'redirect-elsewhere'
  if (s === 403 && isHtml(end)) return '403-page'
  if (s >= 200 && s < 300)
    return isHtml(end) && p?.isSignInPage(end.response?.body ?? '') ? '200-html' : 'passed'
  return 'other'
}

/** `GET /api/items [fetch] → 302 /oauth2/start?rd=… → 302 http://idp/auth?…` */
export function chainLine(chain: Chain, base: string): string {
  const [first, ...rest] = chain.hops
  let line = `GET ${short(first!.url, base)} [${first!.label}]`
  for (const x of [first!, ...rest]) {
    const s = status(x)
    line += ` → ${s || (x.error?.kind ?? '?')}`
    if (isRedirect(x) && x === chain.end)
      line += ` ${short(new URL(header(x, 'location') ?? '', x.url).href, base)}`
    else if (!isRedirect(x) && header(x, 'content-type'))
      line += ` ${header(x, 'content-type')!.split(';')[0]}`
  }
  const minted = chain.hops.flatMap(csrfMinted)
  if (minted.length) line += ` (+${minted.length} CSRF cookie${minted.length > 1 ? 's' : ''})`
  return line
}
