import type { ReloginStrategy } from '../options'
import type { ProxyProfile } from '../types'
import { abortable } from './abortable'
import type { Strategy, StrategyContext } from './context'
import { iframeStrategy } from './iframe'
import { buildReturnTo, createLandingCheck } from './landing'
import { popupStrategy } from './popup'
import { redirectStrategy } from './redirect'

export { handleReauthCallback } from './callback'
export type { Strategy, StrategyContext } from './context'
export { iframeStrategy } from './iframe'
export {
  type InteractionReason,
  InteractionRequiredError,
  isInteractionRequiredError,
} from './interaction-error'
export {
  buildReturnTo,
  type CallbackMessage,
  createLandingCheck,
  isCallbackMessage,
  isSafeReturnPath,
} from './landing'
export { openPopup, POPUP_NAME, popupStrategy } from './popup'
export { redirectStrategy } from './redirect'

const custom =
  (fn: Extract<ReloginStrategy, Function>): Strategy =>
  ({ signal, error, url, fetch }) =>
    // The app's function may ignore the signal; the flight still ends when it aborts.
    abortable(signal, ({ resolve, reject }) => {
      Promise.resolve()
        .then(() => fn({ signal, error, url, fetch: fetch ?? globalThis.fetch }))
        .then(resolve, reject)
      return undefined
    })

/**
 * The strategy function for the `relogin` option.
 *
 * @example
 * const run = createStrategy('iframe')
 * await run({ signal, error, ...prepareRelogin({ relogin: 'iframe', profile, callbackPath }) })
 */
export const createStrategy = (relogin: ReloginStrategy): Strategy => {
  if (typeof relogin === 'function') return custom(relogin)
  if (relogin === 'popup') return popupStrategy
  if (relogin === 'redirect') return redirectStrategy
  return iframeStrategy
}

/**
 * The URL, return path and landing test of one flight. A `'redirect'` re-login always returns to the
 * current page (a static callback page would strand the user there); the others use `callbackPath`.
 *
 * @example
 * const { url, returnTo, isLanding } = prepareRelogin({ relogin: 'iframe', profile, callbackPath: '/cb.html' })
 */
export const prepareRelogin = (
  opts: { relogin: ReloginStrategy; profile: ProxyProfile; callbackPath?: string | undefined },
  origin: string = location.origin,
): Pick<StrategyContext, 'url' | 'returnTo' | 'isLanding' | 'isNotAllowedPage'> => {
  const callbackPath = opts.relogin === 'redirect' ? undefined : opts.callbackPath
  const returnTo = buildReturnTo(callbackPath)
  const url = new URL(opts.profile.reloginUrl({ origin, returnTo }), `${origin}/`).href
  const isLanding = createLandingCheck({ origin, profile: opts.profile, callbackPath })
  const { isNotAllowedPage } = opts.profile
  return isNotAllowedPage ? { url, returnTo, isLanding, isNotAllowedPage } : { url, returnTo, isLanding }
}
