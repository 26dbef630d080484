import type { CallbackMessage } from './landing'

/**
 * For a static callback page (`callbackPath`): tells the window that started the re-login (the popup's
 * opener or the iframe's parent) that the flow landed, with `targetOrigin` = this page's own origin,
 * then closes the popup. Does nothing in a top-level page that nobody opened.
 *
 * @example
 * // reauth-callback.html
 * <script src="https://unpkg.com/ajax-reauth"></script>
 * <script>AjaxReauth.handleReauthCallback()</script>
 */
export const handleReauthCallback = (): void => {
  if (typeof window === 'undefined') return
  const message: CallbackMessage = { source: 'ajax-reauth', v: 1, kind: 'callback', href: location.href }
  let opener: Window | null = null
  try {
    opener = window.opener && window.opener !== window ? (window.opener as Window) : null
  } catch {
    opener = null
  }
  const target = opener ?? (window.parent !== window ? window.parent : null)
  if (!target) return
  try {
    target.postMessage(message, location.origin)
  } catch {
    return
  }
  if (opener) window.close()
}
