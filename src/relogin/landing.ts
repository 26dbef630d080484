import { AuthRequiredError } from '../errors'
import type { ProxyProfile } from '../types'

/** The message `handleReauthCallback()` posts to the window that opened the flow. */
export interface CallbackMessage {
  source: 'ajax-reauth'
  v: 1
  kind: 'callback'
  /** The callback page's own URL. */
  href: string
}

/** Is `data` the SDK's callback message (and nothing else)? */
export const isCallbackMessage = (data: unknown): data is CallbackMessage => {
  if (typeof data !== 'object' || data === null) return false
  const m = data as Record<string, unknown>
  return m.source === 'ajax-reauth' && m.v === 1 && m.kind === 'callback' && typeof m.href === 'string'
}

/**
 * Listen for the callback page's message from the flow's own window (`from()`: the frame's or the
 * popup's); `resolve` on it. Returns the function that stops listening.
 */
export const listenForCallback = (from: () => unknown, resolve: () => void): (() => void) => {
  const onMessage = (event: MessageEvent): void => {
    if (event.origin === location.origin && event.source === from() && isCallbackMessage(event.data))
      resolve()
  }
  window.addEventListener('message', onMessage)
  return () => window.removeEventListener('message', onMessage)
}

// Browsers read `\` as `/` in special URLs, so `/\evil.com` is the protocol-relative `//evil.com`;
// the URL parser drops tabs and newlines, so `/\t/evil.com` is one too.
const hasControlChar = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

/**
 * Is `path` a same-origin path (`/x?y`), and not something a browser or the proxy would read as another
 * host (`//evil`, `/\evil`, `https://evil`, `javascript:`)?
 *
 * @example
 * isSafeReturnPath('/reauth-callback.html') // true
 * isSafeReturnPath('//evil.example')        // false
 */
export const isSafeReturnPath = (path: string): boolean => {
  if (!path.startsWith('/') || path[1] === '/' || path[1] === '\\' || hasControlChar(path)) return false
  try {
    const base = 'http://return-to.invalid'
    return new URL(path, base).origin === base
  } catch {
    return false
  }
}

const currentPath = (): string => {
  const loc = (globalThis as { location?: Location }).location
  if (!loc) return '/'
  // `https://app//evil.com/x` has the pathname `//evil.com/x`: as an `rd` that is another host.
  const path = `${loc.pathname.replace(/^[/\\]+/, '/')}${loc.search}`
  return isSafeReturnPath(path) ? path : '/'
}

/**
 * The same-origin path a re-login lands on (`rd`): `callbackPath` when it is safe, else the current
 * location's path and query. Never `//host`, `/\host` or an absolute URL.
 *
 * @example
 * buildReturnTo('/reauth-callback.html') // '/reauth-callback.html'
 * buildReturnTo(undefined)               // e.g. '/orders?page=2' (the current page)
 * buildReturnTo('//evil.example')        // the current page, never the foreign host
 */
export const buildReturnTo = (callbackPath: string | undefined): string =>
  callbackPath !== undefined && isSafeReturnPath(callbackPath) ? callbackPath : currentPath()

/**
 * The success test for a flight: a same-origin URL that is the callback path, or, without one, any
 * same-origin URL outside the proxy's own endpoints and its sign-in flow.
 *
 * @example
 * const isLanding = createLandingCheck({ origin: location.origin, profile, callbackPath: '/cb.html' })
 * isLanding(new URL('/cb.html', location.origin)) // true
 */
export const createLandingCheck =
  (opts: {
    origin: string
    profile: Pick<ProxyProfile, 'ownPaths' | 'isSignInUrl'>
    callbackPath?: string | undefined
  }): ((url: URL) => boolean) =>
  (url) => {
    if (url.origin !== opts.origin) return false
    if (opts.callbackPath !== undefined) return url.pathname === opts.callbackPath.split(/[?#]/)[0]
    return !opts.profile.ownPaths.some((p) => url.pathname.startsWith(p)) && !opts.profile.isSignInUrl(url)
  }

/** Parse an href that may be `about:blank` or garbage; null when it is not an http(s) URL. */
export const parseHttpUrl = (href: string): URL | null => {
  try {
    const url = new URL(href)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null
  } catch {
    return null
  }
}

/** The HTML of a same-origin window's page; '' when it cannot be read (another origin, closed). */
export const pageHtml = (win: Window | null | undefined): string => {
  try {
    return win?.document?.documentElement?.outerHTML ?? ''
  } catch {
    return ''
  }
}

/** The outcome of a re-login that stopped on the proxy's refusal of the signed-in user. */
export const notAllowedAt = (url: URL): AuthRequiredError =>
  new AuthRequiredError({
    reason: 'not-allowed',
    url: url.href,
    method: 'GET',
    cause: `the re-login ended on the proxy's 403 at ${url.pathname}: signed in, but not allowed`,
  })
