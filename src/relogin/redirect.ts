import { ReauthError } from '../errors'
import { abortable } from './abortable'
import type { StrategyContext } from './context'
import { InteractionRequiredError } from './interaction-error'
import { parseHttpUrl } from './landing'

/** Full-page re-logins allowed per tab within `REDIRECT_WINDOW_MS`; nothing else survives a page load. */
export const MAX_REDIRECTS = 3
export const REDIRECT_WINDOW_MS = 60_000
const KEY = 'ajax-reauth:redirects'

/**
 * Count this redirect in `sessionStorage` (per tab, kept across page loads). False when the tab already
 * went `MAX_REDIRECTS` times within the window: a proxy that keeps answering 401 would reload it forever.
 */
const allowRedirect = (): boolean => {
  let storage: Storage | undefined
  try {
    storage = globalThis.sessionStorage
  } catch {
    storage = undefined
  }
  if (!storage) return true
  const t = Date.now()
  let recent: number[] = []
  try {
    const stored: unknown = JSON.parse(storage.getItem(KEY) ?? '[]')
    if (Array.isArray(stored)) {
      recent = stored.filter(
        (v): v is number => typeof v === 'number' && t - v < REDIRECT_WINDOW_MS && v <= t,
      )
    }
  } catch {}
  if (recent.length >= MAX_REDIRECTS) return false
  try {
    storage.setItem(KEY, JSON.stringify([...recent, t]))
  } catch {}
  return true
}

/**
 * Full-page re-login: navigates the page to the re-login URL (whose `rd` must be the current page,
 * see `buildReturnTo(undefined)`). The page unloads, so the promise only settles when `signal` aborts.
 * At most `MAX_REDIRECTS` per tab within a minute; beyond that it fails with `'too-many-redirects'`.
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
