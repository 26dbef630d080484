import type { NormalizedOptions, UrlPattern } from './options'
import type { ProxyProfile } from './types'

/** The in-scope test for one SDK instance: absolute URL in, boolean out. */
export interface Scope {
  /** Absolute form of a request URL, resolved against the page. */
  resolve(url: string): string
  /** Is this (absolute) URL app traffic the SDK should guard? */
  test(absoluteUrl: string): boolean
  /** The page's origin ('' outside a browser). */
  readonly origin: string
}

const CANONICAL = /^https?:\/\/[a-z0-9.-]+(?=[/?#]|$)/
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)|[\\\t\n\r]/

const pageHref = (): string => (globalThis as { location?: { href?: string } }).location?.href ?? ''

const originOf = (value: string): string => {
  try {
    return new URL(value).origin
  } catch {
    return value
  }
}

const matches = (pattern: UrlPattern, url: string, path: string): boolean =>
  typeof pattern === 'string'
    ? pattern.startsWith('/')
      ? path.startsWith(pattern)
      : url.startsWith(pattern)
    : pattern.test(url)

/** Path of an absolute http(s) URL whose origin is known to be `origin`, without building a URL object. */
const pathOf = (url: string, origin: string): string => {
  const rest = url.slice(origin.length)
  const end = rest.search(/[?#]/)
  return end === -1 ? rest : rest.slice(0, end)
}

export const createScope = (
  { scope }: Pick<NormalizedOptions, 'scope'>,
  profile: Pick<ProxyProfile, 'ownPaths'>,
): Scope => {
  let href = ''
  let origin = ''
  let origins: string[] = []
  const refresh = (): void => {
    const now = pageHref()
    if (now === href) return
    href = now
    origin = now ? new URL(now).origin : ''
    origins = scope.origins.map((o) => (o === 'same-origin' ? origin : originOf(o)))
  }
  refresh()
  const { include, exclude } = scope
  const own = profile.ownPaths

  return {
    get origin() {
      return origin
    },
    resolve(url) {
      // Fast path: a root-relative path is same-origin and needs no URL parser (the origin of a page
      // never changes; its path does, so only the slow path below reads location again).
      if (
        origin &&
        url.charCodeAt(0) === 47 /* / */ &&
        url.charCodeAt(1) !== 47 &&
        url.charCodeAt(1) !== 92
      ) {
        return origin + url
      }
      // Fast path: an absolute URL already in canonical form (lower-case host, no port, no dot segments).
      if (CANONICAL.test(url) && !DOT_SEGMENT.test(url)) return url
      refresh()
      try {
        return new URL(url, href || undefined).href
      } catch {
        return url
      }
    },
    test(url) {
      let target = ''
      for (const o of origins) {
        if (o && url.startsWith(o) && (url.length === o.length || '/?#'.includes(url[o.length]!))) {
          target = o
          break
        }
      }
      if (!target) return false
      const path = pathOf(url, target) || '/'
      if (target === origin && own.some((p) => path.startsWith(p))) return false
      if (exclude.some((p) => matches(p, url, path))) return false
      return include.length === 0 || include.some((p) => matches(p, url, path))
    },
  }
}
