import type { AuthSignal, ProxyProfile, RequestFacts, ResponseSnapshot } from '../types'
import { memo } from './memo'

/** How much of an HTML body detection reads. */
export const PEEK_BYTES = 4096

export const HEADER_OVERFLOW = /request header or cookie too large|request header fields too large/i

/** Does the request's `Accept` ask for HTML (the app wants a page or fragment, not data)? */
const wantsHtml = (accept: string | null): boolean => !!accept && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept)

// Memoised: each response's content type is checked, and an app's are few.
const html = memo((contentType) => /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType))
const isHtml = (contentType: string | null): boolean => !!contentType && html.get(contentType)

const parse = (url: string, base?: string): URL | null => {
  try {
    return new URL(url, base)
  } catch {
    return null
  }
}

const signal = (
  reason: AuthSignal['reason'],
  snapshot: ResponseSnapshot,
  request: RequestFacts,
  detail: string,
  needsProbe = false,
): AuthSignal => ({ reason, status: snapshot.status, url: snapshot.url || request.url, detail, needsProbe })

/**
 * A 401. Any upstream may answer 401 for its own reasons (a wrong password, an expired API key), and with
 * the same bytes as the proxy: `{}` is a plausible upstream body, and the `Set-Cookie` that would tell them
 * apart is hidden from scripts. So a body fingerprint is the probe's to confirm (one probe serves a burst);
 * only a 401 that points at the proxy's sign-in (`Location`, Authelia) counts at once, or any fingerprint
 * when the profile has no probe to ask.
 */
const unauthorized = (
  snapshot: ResponseSnapshot,
  request: RequestFacts,
  profile: ProxyProfile,
  peek: string,
): AuthSignal => {
  const location = snapshot.location ?? null
  const own = !!profile.isOwnUnauthorized?.({ contentType: snapshot.contentType, body: peek, location })
  const atOnce = own && (!profile.probe || location !== null)
  const result = signal('unauthorized', snapshot, request, `401 from ${snapshot.url || request.url}`, !atOnce)
  if (own) result.fingerprint = true
  return result
}

/** The proxy's 403: its forbidden page, or its own bare JSON (`--force-json-errors`: `403 {}`). */
const isProxyForbidden = (snapshot: ResponseSnapshot, profile: ProxyProfile, peek: string): boolean =>
  !!peek &&
  (isHtml(snapshot.contentType)
    ? profile.isForbiddenPage(peek)
    : !!profile.isOwnUnauthorized?.({ contentType: snapshot.contentType, body: peek, location: null }))

/**
 * The single detection pipeline: does this response mean the session behind the proxy has ended?
 * Pure and synchronous; never throws. URL and status signals come first, page markers second
 * (`--custom-templates-dir` can remove every marker).
 */
export const classify = (
  snapshot: ResponseSnapshot,
  request: RequestFacts,
  profile: ProxyProfile,
): AuthSignal | null => {
  if (!request.inScope) return null
  // One verdict per request: the SDK's own synthetic 401, seen again through an outer layer, is final.
  if (snapshot.authRequired) return null
  const { status, type, contentType } = snapshot
  const peek = typeof snapshot.bodyPeek === 'string' ? snapshot.bodyPeek : ''

  // `mode: 'no-cors'`: the server answered, and the app asked not to see how. Nothing to judge.
  if (type === 'opaque') return null
  if (type === 'error' || (status === 0 && type !== 'opaqueredirect')) {
    // A CORS failure after a redirect to the identity provider looks exactly like a network failure.
    return signal('network-error', snapshot, request, 'network error; the session probe decides', true)
  }
  if (type === 'opaqueredirect') {
    // redirect:'manual' hides the Location: any redirect looks the same, so the probe decides.
    return signal('opaque-redirect', snapshot, request, 'opaque redirect (redirect: manual)', true)
  }
  if (status === 431 || (status === 400 && HEADER_OVERFLOW.test(peek))) {
    return signal('header-overflow', snapshot, request, `${status}: request headers (cookies) too large`)
  }
  if (status === 401) return unauthorized(snapshot, request, profile, peek)

  // A response that was not redirected ended on the request's own (in-scope) URL: no URL to parse.
  const moved = snapshot.redirected || (!!snapshot.url && snapshot.url !== request.url)
  const finalUrl = moved ? parse(snapshot.url) : null
  if (finalUrl && profile.isSignInUrl(finalUrl) && finalUrl.href !== request.url) {
    return signal('sign-in-redirect', snapshot, request, `redirected to sign-in URL ${finalUrl.href}`)
  }
  if (status >= 300 && status < 400) {
    const location = snapshot.location ? parse(snapshot.location, request.url) : null
    if (location && profile.isSignInUrl(location)) {
      return signal('sign-in-redirect', snapshot, request, `${status} to sign-in URL ${location.href}`)
    }
    return null
  }
  if (status === 403 && isProxyForbidden(snapshot, profile, peek)) {
    // oauth2-proxy ends the session of a signed-in user it refuses (email/group) in this very answer: the
    // probe then finds no session. With a session, it was an upstream's 403.
    return signal('not-allowed', snapshot, request, `403 from ${snapshot.url || request.url}`, true)
  }
  if (status >= 500 || !isHtml(contentType) || !peek) return null

  if (profile.isForbiddenPage(peek)) return null
  const asked = wantsHtml(request.accept)
  if (profile.isSignInPage(peek)) {
    // Markers alone prove nothing: an app's own page may be titled "Sign in" or post to /oauth2/start.
    // With the proxy's status (oauth2-proxy's sign-in page on the proxy path is a 403) they count at
    // once, unless the app asked for HTML; a sign-in URL was handled above; else the probe decides.
    return signal(
      'login-page',
      snapshot,
      request,
      `${status} HTML sign-in page where data was expected`,
      asked || status !== 403,
    )
  }
  // Markers can be removed by custom templates, but HTML after a redirect is also what Post/Redirect/Get
  // answers (an order's receipt page): never enough alone, the probe decides.
  if (snapshot.redirected && !asked && (status === 200 || status === 403)) {
    return signal(
      'login-page',
      snapshot,
      request,
      `redirected to an HTML page (${status}) where data was expected`,
      true,
    )
  }
  return null
}

/** Should an adapter read the start of this response's body for `classify()`? */
export const needsPeek = (status: number, contentType: string | null): boolean =>
  status === 401 || status === 403 || (status < 500 && status !== 431 && isHtml(contentType))
