import { ReauthError } from '../errors'
import { abortable } from './abortable'
import type { StrategyContext } from './context'
import { InteractionRequiredError } from './interaction-error'
import { parseHttpUrl } from './landing'

/** Full-page re-logins allowed per tab within `REDIRECT_WINDOW_MS`; nothing else survives a page load. */
export const MAX_REDIRECTS = 3
export const REDIRECT_WINDOW_MS = 60_000
const KEY = 'ajax-reauth:redirects'

/** The redirects this tab recorded within the window (a stored value that is not a list counts as none). */
const recentOf = (stored: string | null, t: number): number[] => {
  try {
    const list: unknown = JSON.parse(stored ?? '[]')
    if (Array.isArray(list))
      return list.filter((v): v is number => typeof v === 'number' && t - v < REDIRECT_WINDOW_MS && v <= t)
  } catch {}
  return []
}

/**
 * Count this redirect in `sessionStorage` (per tab, kept across page loads). False when the tab already
 * went `MAX_REDIRECTS` times within the window, or when the redirect cannot be counted: without working
 * storage (missing, disabled, full) no count survives the page load the redirect causes, not even one kept
 * in memory, so a proxy that keeps answering 401 would reload the tab forever. A click must start it then.
 */
const allowRedirect = (): boolean => {
  try {
    const storage = globalThis.sessionStorage
    const t = Date.now()
    const recent = recentOf(storage.getItem(KEY), t)
    if (recent.length >= MAX_REDIRECTS) return false
    storage.setItem(KEY, JSON.stringify([...recent, t]))
    return true
  } catch {
    return false
  }
}

/**
 * Full-page re-login: navigates the page to the re-login URL (whose `rd` must be the current page,
 * see `buildReturnTo(undefined)`). The page unloads, so the promise only settles when `signal` aborts.
 * At most `MAX_REDIRECTS` per tab within a minute, none where `sessionStorage` cannot count them; beyond
 * that it fails with `'too-many-redirects'`.
 *
 * @example
 * await redirectStrategy({ signal, error, url: '/oauth2/start?rd=%2Forders', returnTo: '/orders', isLanding })
 */
export const redirectStrategy = (ctx: StrategyContext): Promise<void> =>
  abortable(ctx.signal, ({ reject }) => {
    const url = parseHttpUrl(new URL(ctx.url, location.href).href)
    if (!url) reject(new ReauthError(`Refusing to navigate to a non-http(s) re-login URL: ${ctx.url}`))
    else if (!allowRedirect()) reject(new InteractionRequiredError('too-many-redirects'))
    else location.assign(url.href)
    return undefined
  })
