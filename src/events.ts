import mitt, { type Emitter } from 'mitt'
import type { AuthRequiredError } from './errors'
import type { AuthReason } from './types'

/** Payload of `reauth:required`, also what `onReauthRequired` callbacks receive. */
export interface ReauthRequiredEvent {
  error: AuthRequiredError
  reason: AuthReason
  url: string
  method: string
}

/** Payload of `reauth:interaction-required`: silent re-login is impossible. */
export interface InteractionRequiredEvent {
  /** Why silent re-login failed. */
  reason:
    | 'frame-blocked'
    | 'provider-session-unseen'
    | 'sign-in-page'
    | 'popup-blocked'
    | 'popup-closed'
    | 'no-user-gesture'
    | 'timeout'
    | 'too-many-redirects'
  /** Call this from a user gesture (a click handler) to run an interactive re-login (a popup). */
  start: () => Promise<void>
}

/** Every event the SDK emits, in one map. */
export type ReauthEvents = {
  'reauth:required': ReauthRequiredEvent
  /** A flight began in this tab; whether this tab or another one signs in is known at its end. */
  'reauth:start': { generation: number; strategy: string }
  /**
   * A re-login succeeded: this tab's flight (`leader`: it signed in here), or, in a tab waiting for the
   * user's sign-in without a flight of its own, another tab's re-login or a session probe that found the
   * session back (`leader: false`, `durationMs` since the wait began).
   */
  'reauth:success': { generation: number; durationMs: number; leader: boolean }
  'reauth:failure': { generation: number; error: Error; leader: boolean }
  'reauth:interaction-required': InteractionRequiredEvent
  'circuit:open': { failures: number; until: number }
  /** The circuit closes when a re-login (in any tab) succeeds. */
  'circuit:close': { reason: 'success' }
  'request:replayed': { url: string; method: string; generation: number }
}

export type ReauthEmitter = Emitter<ReauthEvents>

/** An app listener's exception goes where uncaught errors go (console, `window.onerror`), later. */
const report = (error: unknown): void => {
  const g = globalThis as { reportError?: (error: unknown) => void }
  if (typeof g.reportError === 'function') g.reportError(error)
  else
    setTimeout(() => {
      throw error
    })
}

/**
 * mitt's typed emitter, except that `emit` calls each listener in isolation: one that throws neither
 * stops the others nor reaches the SDK (a throwing `reauth:success` listener must not fail the flight).
 * Its exception is reported asynchronously instead.
 *
 * @example
 * const emitter = createEmitter()
 * emitter.on('reauth:success', ({ durationMs }) => console.log(durationMs))
 */
export const createEmitter = (): ReauthEmitter => {
  const emitter = mitt<ReauthEvents>()
  const call = (handler: (...args: any[]) => void, ...args: unknown[]): void => {
    try {
      handler(...args)
    } catch (error) {
      report(error)
    }
  }
  emitter.emit = (type: keyof ReauthEvents, event?: unknown) => {
    for (const handler of [...(emitter.all.get(type) ?? [])]) call(handler, event)
    for (const handler of [...(emitter.all.get('*') ?? [])]) call(handler, type, event)
  }
  return emitter
}
