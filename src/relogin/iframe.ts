import { abortable } from './abortable'
import type { StrategyContext } from './context'
import { InteractionRequiredError } from './interaction-error'
import { listenForCallback, notAllowedAt, pageHtml, parseHttpUrl } from './landing'

const HIDDEN =
  'position:fixed;left:-10000px;top:0;width:1px;height:1px;border:0;opacity:0;pointer-events:none'

/**
 * Silent re-login in a hidden iframe. A redirect fires no `load`, so every `load` is a page the flow
 * stopped on: the landing page (success), the proxy's own sign-in page, or a page the frame cannot read.
 * That last case is what every browser shows both for a provider page and for a response refused by
 * `X-Frame-Options` / `frame-ancestors` (an opaque-origin error page): the two are indistinguishable to
 * the embedder. The probe tells the app's own page refusing framing (signed in: success) from a stop at
 * the provider (signed out: `'provider-session-unseen'`); without a probe answer it reads as
 * `'frame-blocked'`.
 *
 * @example
 * await iframeStrategy({ signal, error, url: '/oauth2/start?rd=%2Fcb.html', returnTo: '/cb.html', isLanding })
 */
export const iframeStrategy = (ctx: StrategyContext): Promise<void> =>
  abortable(ctx.signal, ({ resolve, reject }) => {
    const frame = document.createElement('iframe')
    /** Success if the probe finds a session, else `fail` (with the probe's answer, if any). */
    const confirm = (fail: (probed?: unknown) => void): void => {
      if (!ctx.probe) fail()
      else ctx.probe().then((r) => (r === 'signed-in' ? resolve() : fail(r)), fail)
    }
    // The app's own landing page may refuse framing after the session cookie was renewed. Still signed
    // out: the frame stopped at the provider, which saw no session it would use in a frame (a provider
    // on another site never gets its `SameSite=Lax` cookies there: e2e/cross-site.e2e.ts).
    const unreadable = (): void =>
      confirm((probed) =>
        reject(
          new InteractionRequiredError(probed === 'signed-out' ? 'provider-session-unseen' : 'frame-blocked'),
        ),
      )
    const onLoad = (): void => {
      let href: string
      try {
        href = frame.contentWindow?.location.href ?? ''
      } catch {
        unreadable()
        return
      }
      // The initial empty document (`about:blank`) is not where the flow stopped.
      if (href === '' || href.startsWith('about:')) return
      const url = parseHttpUrl(href)
      if (!url) unreadable()
      else if (ctx.isLanding(url)) resolve()
      // The callback's 403 for a user the proxy refuses: signing in again would end here again.
      else if (ctx.isNotAllowedPage?.(pageHtml(frame.contentWindow))) confirm(() => reject(notAllowedAt(url)))
      // A same-origin page that is not the landing: the proxy's sign-in or error page, or where a proxy
      // ends its refresh (Google IAP's `?gcp-iap-mode=`). The probe decides which.
      else confirm(() => reject(new InteractionRequiredError('sign-in-page')))
    }

    const unlisten = listenForCallback(() => frame.contentWindow, resolve)
    frame.addEventListener('load', onLoad)
    frame.setAttribute('aria-hidden', 'true')
    frame.setAttribute('data-ajax-reauth', 'relogin')
    frame.tabIndex = -1
    frame.title = 'session renewal'
    frame.style.cssText = HIDDEN
    frame.src = ctx.url
    ;(document.body ?? document.documentElement).append(frame)
    return () => {
      frame.removeEventListener('load', onLoad)
      unlisten()
      frame.remove()
    }
  })
