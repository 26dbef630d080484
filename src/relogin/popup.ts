import { abortable } from './abortable'
import type { StrategyContext } from './context'
import { InteractionRequiredError } from './interaction-error'
import { listenForCallback, notAllowedAt, pageHtml, parseHttpUrl } from './landing'

/** The popup's window name: a second flight reuses the same window instead of stacking popups. */
export const POPUP_NAME = 'ajax-reauth'
const FEATURES = 'popup,width=500,height=650'
const POLL_MS = 100

/** `window.open` of the re-login popup; null when the browser blocks it. */
export const openPopup = (url: string): Window | null => {
  try {
    return window.open(url, POPUP_NAME, FEATURES)
  } catch {
    return null
  }
}

/**
 * Interactive re-login in a popup (also Google IAP's session refresh). Needs a user gesture: without
 * transient activation it fails at once with `'no-user-gesture'` and opens nothing. Succeeds when the
 * popup reaches a landing URL (polled) or posts the callback message; the popup is then closed.
 *
 * @example
 * button.onclick = () => popupStrategy({ signal, error, url, returnTo, isLanding })
 */
export const popupStrategy = (ctx: StrategyContext): Promise<void> =>
  abortable(ctx.signal, ({ resolve, reject }) => {
    let popup: Window | null = ctx.popup && !ctx.popup.closed ? ctx.popup : null
    if (popup) {
      // Opened blank by start() inside the click (WebKit allows window.open only in the gesture's own
      // task, not after the flight's awaits); navigate it now.
      try {
        popup.location.href = ctx.url
      } catch {
        popup = null
      }
    } else {
      const activation = (navigator as { userActivation?: { isActive: boolean } }).userActivation
      if (activation && activation.isActive === false) {
        reject(new InteractionRequiredError('no-user-gesture'))
        return undefined
      }
      popup = openPopup(ctx.url)
    }
    if (!popup) {
      reject(new InteractionRequiredError('popup-blocked'))
      return undefined
    }
    const win = popup
    let closedSeen = 0
    let probing = false
    const poll = (): void => {
      if (win.closed) {
        // The callback page posts, then closes itself: give its message one more tick to arrive.
        if (++closedSeen > 1) reject(new InteractionRequiredError('popup-closed'))
        return
      }
      let href: string
      try {
        href = win.location.href
      } catch {
        return // on the provider's origin
      }
      const url = parseHttpUrl(href)
      if (!url) return
      if (ctx.isLanding(url)) resolve()
      // The callback's 403 for a user the proxy refuses: no sign-in in this popup can change it.
      else if (ctx.isNotAllowedPage?.(pageHtml(win))) reject(notAllowedAt(url))
      // Back on the app's origin but not on a landing (Google IAP's refresh page): poll the session the
      // way IAP documents it, and close the popup once it is live.
      else if (ctx.probe && !probing) {
        probing = true
        ctx
          .probe()
          .catch(() => null)
          .then((r) => {
            probing = false
            if (r === 'signed-in') resolve()
          })
      }
    }
    const timer = setInterval(poll, POLL_MS)
    const unlisten = listenForCallback(() => win, resolve)
    return () => {
      clearInterval(timer)
      unlisten()
      try {
        if (!win.closed) win.close()
      } catch {}
    }
  })
