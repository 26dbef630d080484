import { ReauthError } from '../errors'
import type { StrategyContext } from './context'
import { parseHttpUrl } from './landing'

/**
 * Full-page re-login: navigates the page to the re-login URL (whose `rd` must be the current page,
 * see `buildReturnTo(undefined)`). The page unloads, so the promise only settles when `signal` aborts.
 *
 * @example
 * await redirectStrategy({ signal, error, url: '/oauth2/start?rd=%2Forders', returnTo: '/orders', isLanding })
 */
export const redirectStrategy = (ctx: StrategyContext): Promise<void> =>
  new Promise<void>((_resolve, reject) => {
    const { signal } = ctx
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const url = parseHttpUrl(new URL(ctx.url, location.href).href)
    if (!url) {
      reject(new ReauthError(`Refusing to navigate to a non-http(s) re-login URL: ${ctx.url}`))
      return
    }
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    location.assign(url.href)
  })
