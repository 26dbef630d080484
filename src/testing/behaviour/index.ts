/**
 * Proxy behaviour rules, the single source for the e2e test proxy and (later) the msw handlers
 * of `ajax-reauth/testing`. Framework-free: Web APIs only, no Node, no msw.
 */
export { createInMemoryProvider, type InMemoryProvider } from './in-memory-provider.js'
export {
  createNginxFrontBehaviour,
  type NginxFrontBehaviour,
  type NginxFrontCounters,
} from './nginx-front.js'
export {
  type CookieCap,
  type CsrfData,
  createOAuth2ProxyBehaviour,
  isValidRedirect,
  OAUTH2_PROXY_DEFAULTS,
  type OAuth2ProxyBehaviour,
  type OAuth2ProxyCounters,
  type OAuth2ProxyOptions,
  oauth2ProxyIsAjax,
  type SessionData,
} from './oauth2-proxy.js'
export { errorPage, nginxHeaderTooLargePage, signInPage } from './pages.js'
export {
  createProfileBehaviour,
  PROFILE_NAMES,
  type ProfileBehaviour,
  type ProfileBehaviourOptions,
  type ProfileCounters,
  type ProfileName,
} from './profiles.js'
export { type LoadResult, SessionStore, type StoredSession } from './session-store.js'
export {
  type AuthorizeParams,
  type Behaviour,
  type BehaviourRequest,
  type BehaviourResponse,
  type BehaviourResult,
  isPass,
  type PassThrough,
  type Provider,
  ProviderError,
  type SessionUser,
  type Tokens,
} from './types.js'
