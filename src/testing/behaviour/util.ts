/** Small helpers shared by the behaviours. Web APIs only (Web Crypto, TextEncoder, btoa). */

const encoder = new TextEncoder()

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function randomToken(byteLength = 32): string {
  const bytes = new Uint8Array(byteLength)
  crypto.getRandomValues(bytes)
  return base64url(bytes)
}

export async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text))
  return base64url(new Uint8Array(digest))
}

/** Constant-time comparison of two strings of equal length. */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** HMAC-SHA256 signer built on `crypto.subtle`, so it runs in browsers and in Node. */
export class Signer {
  #key: Promise<CryptoKey>
  constructor(secret: string) {
    this.#key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
  }
  async sign(text: string): Promise<string> {
    const sig = await crypto.subtle.sign('HMAC', await this.#key, encoder.encode(text))
    return base64url(new Uint8Array(sig))
  }
}

/** Parse a `Cookie` request header into ordered name/value pairs (duplicates kept). */
export function parseCookies(header: string | null): [string, string][] {
  if (!header) return []
  const out: [string, string][] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    if (name) out.push([name, part.slice(eq + 1).trim()])
  }
  return out
}

export function getCookie(header: string | null, name: string): string | undefined {
  return parseCookies(header).find(([n]) => n === name)?.[1]
}

export interface CookieAttributes {
  path?: string
  /** Absolute expiry (ms since epoch). oauth2-proxy writes `Expires`, never `Max-Age`. */
  expires?: number
  maxAge?: number
  httpOnly?: boolean
  secure?: boolean
  sameSite?: 'Lax' | 'Strict' | 'None'
}

export function serializeCookie(name: string, value: string, attrs: CookieAttributes = {}): string {
  let out = `${name}=${value}; Path=${attrs.path ?? '/'}`
  if (attrs.expires !== undefined) out += `; Expires=${new Date(attrs.expires).toUTCString()}`
  if (attrs.maxAge !== undefined) out += `; Max-Age=${attrs.maxAge}`
  if (attrs.httpOnly ?? true) out += '; HttpOnly'
  if (attrs.secure) out += '; Secure'
  out += `; SameSite=${attrs.sameSite ?? 'Lax'}`
  return out
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;')
}

/** Path plus query of an absolute URL (Go's `RequestURI`). */
export function requestUri(url: URL): string {
  return url.pathname + url.search
}

/** Header-list helpers. */
export const html = (extra: [string, string][] = []): [string, string][] => [
  ['Content-Type', 'text/html; charset=utf-8'],
  ...extra,
]
export const json = (extra: [string, string][] = []): [string, string][] => [
  ['Content-Type', 'application/json'],
  ...extra,
]
export const textPlain = (extra: [string, string][] = []): [string, string][] => [
  ['Content-Type', 'text/plain; charset=utf-8'],
  ['X-Content-Type-Options', 'nosniff'],
  ...extra,
]

/** An `Accept` header entry list: split on commas, trimmed, parameters kept. */
export function acceptEntries(headers: Headers): string[] {
  const accept = headers.get('accept')
  if (!accept) return []
  return accept
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** Media ranges of `Accept` with q > 0, parameters stripped, lower-cased. */
export function acceptedMediaRanges(headers: Headers): string[] {
  return acceptEntries(headers)
    .map((entry) => {
      const [type = '', ...params] = entry.split(';').map((s) => s.trim())
      const q = params.find((p) => p.toLowerCase().startsWith('q='))
      const weight = q === undefined ? 1 : Number(q.slice(2))
      return { type: type.toLowerCase(), weight }
    })
    .filter((r) => r.weight > 0)
    .map((r) => r.type)
}

export function isXmlHttpRequest(headers: Headers): boolean {
  return headers.get('x-requested-with')?.toLowerCase() === 'xmlhttprequest'
}
