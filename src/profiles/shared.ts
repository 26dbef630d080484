import type { ProbeResult } from '../types'

export const startsWithAny = (path: string, prefixes: readonly string[]): boolean =>
  prefixes.some((p) => path.startsWith(p))

/**
 * Reads a probe of the proxy's own identity endpoint (sent with the Ajax headers and `redirect:
 * 'manual'`): the proxy answers it, never the upstream, so a 2xx is a session and a 401 or a redirect
 * (to its sign-in) is none. Anything else (a 5xx, a 403, HTML from a front) says neither.
 */
export const readIdentityProbe = ({ status, type }: { status: number; type: string }): ProbeResult => {
  if (type === 'opaqueredirect' || status === 401 || (status >= 300 && status < 400)) return 'signed-out'
  if (status >= 200 && status < 300) return 'signed-in'
  return 'unknown'
}

export const hasTitle = (html: string, title: RegExp): boolean => {
  const m = /<title[^>]*>([^<]*)<\/title>/i.exec(html)
  return m ? title.test(m[1]!.trim()) : false
}

export const never = (): boolean => false

export const isJson = (contentType: string | null): boolean =>
  !!contentType && /^\s*application\/json\b/i.test(contentType)

export const withQuery = (path: string, key: string, value: string): string =>
  `${path}${path.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`
