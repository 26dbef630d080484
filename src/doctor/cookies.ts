/** A `Set-Cookie` header, parsed just enough for the doctor. */
export interface SetCookie {
  name: string
  value: string
  /** Size the cookie adds to a `Cookie` request header: `name=value` plus the `; ` separator. */
  bytes: number
  sameSite: 'Lax' | 'Strict' | 'None' | null
  secure: boolean
  httpOnly: boolean
  domain: string | null
  /** `Max-Age=0` or an `Expires` in the past: the header deletes the cookie. */
  deletes: boolean
}

export function parseSetCookie(header: string): SetCookie {
  const [pair = '', ...attrs] = header.split(';')
  const eq = pair.indexOf('=')
  const name = (eq < 0 ? pair : pair.slice(0, eq)).trim()
  const value = eq < 0 ? '' : pair.slice(eq + 1).trim()
  const c: SetCookie = {
    name,
    value,
    bytes: new TextEncoder().encode(`${name}=${value}`).length + 2,
    sameSite: null,
    secure: false,
    httpOnly: false,
    domain: null,
    deletes: false,
  }
  for (const raw of attrs) {
    const i = raw.indexOf('=')
    const key = (i < 0 ? raw : raw.slice(0, i)).trim().toLowerCase()
    const v = i < 0 ? '' : raw.slice(i + 1).trim()
    if (key === 'samesite') {
      const s = v.toLowerCase()
      c.sameSite = s === 'lax' ? 'Lax' : s === 'strict' ? 'Strict' : s === 'none' ? 'None' : null
    } else if (key === 'secure') c.secure = true
    else if (key === 'httponly') c.httpOnly = true
    else if (key === 'domain') c.domain = v || null
    else if (key === 'max-age' && Number(v) <= 0) c.deletes = true
    else if (key === 'expires') {
      const t = Date.parse(v)
      if (!Number.isNaN(t) && t < Date.now()) c.deletes = true
    }
  }
  return c
}

/** Size of the cookies of a `Cookie` request header (`a=1; b=2`), as `parseSetCookie` counts them. */
export function cookieHeaderBytes(header: string): number {
  return header
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .reduce((n, s) => n + new TextEncoder().encode(s).length + 2, 0)
}

// Public suffixes with a second level that the doctor knows; anything else counts the last two labels.
const TWO_LEVEL = /\.(co|com|net|org|gov|edu|ac|or|ne|go)\.[a-z]{2}$/i
const MULTI_TENANT =
  /\.(azurewebsites\.net|appspot\.com|cloudflareaccess\.com|herokuapp\.com|github\.io|vercel\.app|netlify\.app|run\.app|web\.app)$/i

/**
 * The schemeful site of an origin (scheme + registrable domain), approximated without the Public
 * Suffix List: IP addresses and single labels (`localhost`) are their own site, ports never count.
 */
export function siteOf(url: URL): string {
  const host = url.hostname.toLowerCase()
  let site = host
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(host) && !host.startsWith('[') && host.includes('.')) {
    const labels = host.split('.')
    const keep = TWO_LEVEL.test(host) || MULTI_TENANT.test(host) ? 3 : 2
    site = labels.slice(-keep).join('.')
  }
  return `${url.protocol}//${site}`
}

export const sameSite = (a: URL, b: URL): boolean => siteOf(a) === siteOf(b)
