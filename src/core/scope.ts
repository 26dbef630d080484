import type { NormalizedOptions, UrlPattern } from '../options'
import type { ProxyProfile } from '../types'
import { memo } from './memo'

/** The in-scope test for one SDK instance: absolute URL in, boolean out. */
export interface Scope {
  /** Absolute form of a request URL, resolved against the page. */
  resolve(url: string): string
  /** Is this (absolute) URL app traffic the SDK should guard? */
  test(absoluteUrl: string): boolean
  /** The page's origin ('' outside a browser). */
  readonly origin: string
}

/**
 * Strings the fast paths may take as they are: printable ASCII that the URL parser keeps byte for byte
 * (no `%`, `\\`, space, tab/CR/LF, quotes, `<>{}` or backtick) and no dot segment.
 */
const VERBATIM = /^[!#$&(-;=?-[\]_a-z|~]*$/
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/
// A host whose last label starts with a digit may be an IPv4 address in another notation (`127.1`).
const CANONICAL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?=[/?#]|$)/

/** The URL relative requests resolve against: `document.baseURI` (a `<base href>`), else the page's. */
const baseHref = (): string => {
  const g = globalThis as { document?: { baseURI?: string }; location?: { href?: string } }
  return g.document?.baseURI || g.location?.href || ''
}

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
  let baseOrigin = ''
  let origins: string[] = []
  const refresh = (): void => {
    const now = baseHref()
    if (now === href) return
    href = now
    const page = (globalThis as { location?: { href?: string } }).location?.href
    origin = page ? new URL(page).origin : now ? new URL(now).origin : ''
    baseOrigin = now ? new URL(now).origin : ''
    origins = scope.origins.map((o) => (o === 'same-origin' ? origin : originOf(o)))
    resolved.clear()
    tested.clear()
  }
  const { include, exclude } = scope
  const own = profile.ownPaths

  const resolved = memo((url) => {
    // Fast paths, for strings the WHATWG parser would return unchanged: a root-relative path (resolved
    // against the base's origin) and an absolute URL already in canonical form. Anything else (tabs,
    // backslashes, dot segments, escapes, ports, upper case) goes through the parser, as the browser would.
    if (url.charCodeAt(0) === 47 /* / */ && url.charCodeAt(1) !== 47 && VERBATIM.test(url)) {
      if (baseOrigin && !DOT_SEGMENT.test(url)) return baseOrigin + url
    } else if (CANONICAL.test(url) && VERBATIM.test(url) && !DOT_SEGMENT.test(url)) {
      return url
    }
    try {
      return new URL(url, href || undefined).href
    } catch {
      return url
    }
  })
  const tested = memo((url) => {
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
  })
  refresh()

  return {
    get origin() {
      return origin
    },
    resolve(url) {
      refresh()
      return resolved.get(url)
    },
    test: (url) => tested.get(url),
  }
}
