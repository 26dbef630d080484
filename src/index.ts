export { createReauth, type Reauth } from './client'
export type { ReauthState } from './coordinator'
export {
  AUTH_REQUIRED_HEADER,
  AuthRequiredError,
  authRequiredReason,
  isAuthRequiredError,
  isReauthConfigError,
  isReauthError,
  ReauthConfigError,
  ReauthError,
  ReauthQueueFullError,
} from './errors'
export type { InteractionRequiredEvent, ReauthEvents, ReauthRequiredEvent } from './events'
export type { NormalizedOptions, ReauthOptions, ReloginContext, ReloginStrategy, UrlPattern } from './options'
export { authelia, azureEasyAuth, cloudflareAccess, googleIap, oauth2Proxy, pomerium } from './profiles'
export type { AutheliaProfileOptions } from './profiles/authelia'
export type { AzureEasyAuthProfileOptions } from './profiles/azure-easy-auth'
export type { OAuth2ProxyProfileOptions } from './profiles/oauth2-proxy'
export {
  type CallbackMessage,
  handleReauthCallback,
  type InteractionReason,
  InteractionRequiredError,
  isInteractionRequiredError,
} from './relogin'
export type {
  AuthReason,
  AuthSignal,
  ProbeResult,
  ProxyProfile,
  ReloginUrlContext,
  RequestFacts,
  ResponseSnapshot,
} from './types'
