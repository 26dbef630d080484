import type { ProbeResult } from '../types'

export const startsWithAny = (path: string, prefixes: readonly string[]): boolean =>
  prefixes.some((p) => path.startsWith(p))

/** Reads a probe that was sent with the Ajax headers: the proxies answer 401 (or redirect) without a session. */
export const readAjaxProbe = ({ status, type }: { status: number; type: string }): ProbeResult => {
  if (type === 'opaqueredirect' || status === 401 || (status >= 300 && status < 400)) return 'signed-out'
  if (status >= 200 && status < 500) return 'signed-in'
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
