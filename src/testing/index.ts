/**
 * `ajax-reauth/testing`: msw request handlers that emulate how each authenticating proxy answers a
 * lost session, with a session switch and a re-login that runs through the emulation, for your
 * app's own tests (vitest/jest with `msw/node`, or the browser with msw's service worker).
 * Needs `msw` 2 (an optional peer dependency); `ajax-reauth` itself never imports msw.
 *
 * @example
 * import { setupServer } from 'msw/node'
 * import { oauth2ProxyHandlers } from 'ajax-reauth/testing'
 *
 * const proxy = oauth2ProxyHandlers({ baseUrl: 'http://app.test', mode: 'nginx-front' })
 * const server = setupServer(...proxy.handlers, ...myAppHandlers)
 * proxy.session.expire()
 */

export type {
  CookieCap,
  OAuth2ProxyBehaviour,
  OAuth2ProxyCounters,
  OAuth2ProxyOptions,
  ProfileBehaviour,
  ProfileCounters,
  SessionUser,
} from './behaviour/index.js'
export {
  type AzureEasyAuthHandlersOptions,
  autheliaHandlers,
  azureEasyAuthHandlers,
  cloudflareAccessHandlers,
  type EmulatedReloginContext,
  type EmulatedSession,
  type EmulationCounters,
  type EmulationOptions,
  googleIapHandlers,
  type OAuth2ProxyHandlersOptions,
  type OAuth2ProxyMode,
  oauth2ProxyHandlers,
  type ProxyEmulation,
  pomeriumHandlers,
} from './msw.js'
