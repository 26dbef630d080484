import { AuthRequiredError } from './errors'
import type { ReauthEmitter } from './events'
import type { NormalizedOptions } from './options'

export type ReauthState = 'idle' | 'reauthenticating' | 'circuit-open'

export interface RecoverOptions<T> {
  /** Sends the request again after a successful re-login; null when it cannot or must not be replayed. */
  replay: (() => Promise<T>) | null
  /** The app's signal: aborts the wait in the queue. */
  signal?: AbortSignal | null | undefined
  /** This request already is a replay: a second lost session rejects and starts nothing. */
  isReplay?: boolean
  /** Why the request cannot be replayed (a stream body); kept as the rejection's cause. */
  notReplayable?: string | null | undefined
}

/** One flight per page, gate, queue, replay, circuit breaker. */
export interface Coordinator {
  readonly state: ReauthState
  /** Is a re-login in flight (new in-scope requests must wait at the gate)? */
  readonly gated: boolean
  /** Wait at the gate until the flight ends; rejects with `AuthRequiredError` if it fails. */
  gate(url: string, method: string, signal?: AbortSignal | null): Promise<void>
  /** A request lost its session: report it, join or start a flight, replay or reject. */
  recover<T>(error: AuthRequiredError, options: RecoverOptions<T>): Promise<T>
  /** Start a flight by hand (joins one in progress). */
  relogin(): Promise<void>
  /** Reject everything held and stop (uninstall). */
  dispose(): void
}

export interface CoordinatorDeps {
  options: NormalizedOptions
  emitter: ReauthEmitter
}

/**
 * Without a re-login strategy wired in, a lost session is reported and the request fails with
 * `AuthRequiredError`.
 */
export const createCoordinator = ({ emitter }: CoordinatorDeps): Coordinator => ({
  state: 'idle',
  gated: false,
  gate: async () => {},
  recover: async (error) => {
    emitter.emit('reauth:required', { error, reason: error.reason, url: error.url, method: error.method })
    throw error
  },
  relogin: async () => {},
  dispose: () => {},
})

export { AuthRequiredError }
