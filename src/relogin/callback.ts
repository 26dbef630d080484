import type { CallbackMessage } from './landing'

/**
 * For a static callback page (`callbackPath`): tells the window that started the re-login (the popup's
 * opener or the iframe's parent) that the flow landed, with `targetOrigin` = this page's own origin,
 * then closes the popup. Does nothing in a top-level page that nobody opened.
 *
 * The page needs nothing else: `import { handleReauthCallback } from 'ajax-reauth/callback'` (under
 * 1 KB), or the script file that calls it on load.
 *
 * @example
 * <!-- public/reauth-callback.html; createReauth({ callbackPath: '/reauth-callback.html' }) -->
 * <!-- self-hosted copy of node_modules/ajax-reauth/dist/ajax-reauth-callback.global.min.js, or a pinned CDN URL:
 *      https://unpkg.com/ajax-reauth@0.1.0/dist/ajax-reauth-callback.global.min.js -->
 * <script src="/ajax-reauth-callback.global.min.js"></script>
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
