import type { BuiltinProfileName } from '../profiles/index'
import { builtinProfiles } from '../profiles/index'
import { parseSetCookie } from './cookies'
import type { Exchange } from './types'

/** The session cookie each proxy sets (its default name). */
export const SESSION_COOKIE: Record<BuiltinProfileName, RegExp> = {
  'oauth2-proxy': /^_oauth2_proxy(_\d+)?$/,
  pomerium: /^_pomerium$/,
  authelia: /^authelia_session$/,
  'google-iap': /^GCP_IAP_AUTH_TOKEN/,
  'cloudflare-access': /^CF_Authorization$/,
  'azure-easy-auth': /^AppServiceAuthSession$/,
}

const ANY_COOKIE: Record<BuiltinProfileName, RegExp> = {
  ...SESSION_COOKIE,
  'oauth2-proxy': /^_oauth2_proxy/,
}

export interface Detection {
  name: BuiltinProfileName | null
  version?: string
  evidence: string[]
  /** Score per profile (2+ is enough to name one). */
  scores: Record<BuiltinProfileName, number>
}

const parse = (s: string, base: string): URL | null => {
  try {
    return new URL(s, base)
  } catch {
    return null
  }
}

/** Short `path?query` or `origin/path` of a URL for evidence lines. */
export const short = (url: string, base?: string): string => {
  const u = parse(url, base ?? url)
  if (!u) return url
  const b = base ? parse(base, base) : null
  const text = b && b.origin === u.origin ? u.pathname + u.search : u.href
  return text.length > 96 ? `${text.slice(0, 93)}…` : text
}

const NAMES = Object.keys(builtinProfiles) as BuiltinProfileName[]

/**
 * Which proxy answers these requests, from the profiles' fingerprints (sign-in URLs, page markers, own
 * 401s) and the proxies' cookie names, headers and texts. Pure; reads only what was recorded.
 */
export function detectProxy(exchanges: readonly Exchange[]): Detection {
  const scores = Object.fromEntries(NAMES.map((n) => [n, 0])) as Record<BuiltinProfileName, number>
  const evidence = Object.fromEntries(NAMES.map((n) => [n, [] as string[]])) as Record<
    BuiltinProfileName,
    string[]
  >
  let version: string | undefined
  const add = (name: BuiltinProfileName, points: number, line: string) => {
    if (!evidence[name].includes(line)) {
      scores[name] += points
      evidence[name].push(line)
    }
  }
  for (const x of exchanges) {
    const r = x.response
    if (!r) continue
    const at = short(x.url, x.url)
    const location = r.headers.location ? parse(r.headers.location, x.url) : null
    const type = r.headers['content-type'] ?? null
    for (const name of NAMES) {
      const p = builtinProfiles[name]
      for (const sc of r.setCookies) {
        const c = parseSetCookie(sc)
        if (ANY_COOKIE[name].test(c.name)) add(name, 3, `Set-Cookie ${c.name} (${at})`)
      }
      if (location && p.isSignInUrl(location))
        add(name, 3, `${r.status} Location ${short(location.href, x.url)} (${at})`)
      if (
        r.status === 401 &&
        p.isOwnUnauthorized?.({ contentType: type, body: r.body, location: r.headers.location ?? null })
      )
        add(
          name,
          // oauth2-proxy's `{}` is a weak sign alone, its empty body (before 7.2) weaker; a challenge is someone else's
          name !== 'oauth2-proxy' ? 3 : r.headers['www-authenticate'] ? 0 : r.body.trim() ? 2 : 1,
          `401 ${type ?? ''} ${JSON.stringify(r.body.slice(0, 40))} (${at})`.replace('  ', ' '),
        )
      if (/html/i.test(type ?? '') && r.body && p.isSignInPage(r.body))
        add(name, 3, `${r.status} sign-in page markers (${at})`)
    }
    const ver = /OAuth2[\s_-]?Proxy\s*<\/a>\s*version\s*(v?\d+\.\d+[\w.+-]*)/i.exec(r.body)
    if (ver) version = ver[1]
    if (r.headers['x-goog-iap-generated-response'])
      add('google-iap', 3, `X-Goog-IAP-Generated-Response (${at})`)
    if (location && /_gcp_gatekeeper|gcp-iap-mode/.test(location.href))
      add('google-iap', 2, `Location to the IAP gatekeeper (${at})`)
    if (location?.searchParams.has('rd') && /authelia/i.test(location.pathname + location.hostname))
      add('authelia', 2, `Location ${short(location.href)} (${at})`)
    if (r.status === 401 && /You do not have permission to view this directory or page/i.test(r.body))
      add('azure-easy-auth', 2, `401 "You do not have permission to view this directory or page." (${at})`)
    if (r.headers['cf-ray']) add('cloudflare-access', 1, `CF-Ray header (${at})`)
  }
  let best: BuiltinProfileName | null = null
  for (const n of NAMES) if (scores[n] >= 2 && (!best || scores[n] > scores[best])) best = n
  return {
    name: best,
    ...(best === 'oauth2-proxy' && version ? { version } : {}),
    evidence: best ? evidence[best] : [],
    scores,
  }
}
