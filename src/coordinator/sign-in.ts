import { clock } from '../clock'
import type { SessionProbe } from '../core/probe'
import { AuthRequiredError } from '../errors'
import type { ReauthEmitter } from '../events'
import type { Circuit, SignInRequired } from './circuit'

/**
 * While the user must sign in (`Circuit.signInRequired()`: a re-login failed with
 * `InteractionRequiredError`), every in-scope request can only fail, and behind a redirecting front each
 * one would mint a CSRF cookie and hit the provider: they settle at once with the client's 401 and send
 * nothing. It ends once a session is seen again: a re-login in this tab (its flight ends it), in another
 * tab or another copy of the SDK on the page, or a session probe that finds the session alive (the
 * wake-up check, `check()`, or the one probe this sends at most every `intervalMs` while requests come).
 * Only the flights in this tab's own hands start meanwhile: `start()` from a click, `relogin()`.
 */
export interface SignInWait {
  /** The wait in force, or null. A re-login (in any tab) that succeeded since it began ends it now. */
  current(): SignInRequired | null
  /** What a request gets while `wait` lasts; at most every `intervalMs`, a session probe goes out. */
  refuse(wait: SignInRequired, url: string, method: string): AuthRequiredError
  /**
   * The session was seen alive at `seenAt` (`clock()`: a probe sent then; Infinity: another tab's re-login
   * with `generation`): a wait begun before it ends, unless a flight here decides. True if one ended.
   */
  alive(seenAt: number, generation?: number): boolean
}

export interface SignInWaitDeps {
  circuit: Circuit
  emitter: ReauthEmitter
  probe: SessionProbe
  /** Is a flight running in this tab? Its own outcome then ends the wait, or not. */
  flying: () => boolean
  lastSuccessAt: () => number
  generation: () => number
  intervalMs: number
  now: () => number
}

const noop = (): void => {}

/**
 * @example
 * const signIn = createSignInWait({ circuit, emitter, probe, flying, lastSuccessAt, generation, intervalMs, now })
 * const wait = signIn.current()
 * if (wait) throw signIn.refuse(wait, url, method)
 */
export const createSignInWait = (deps: SignInWaitDeps): SignInWait => {
  const { circuit, emitter, now } = deps
  let probed: SignInRequired | null = null
  let probedAt = 0

  // The session is back without a flight of this tab: the app hears it as a success (not led here).
  const alive = (seenAt: number, generation = deps.generation()): boolean => {
    const wait = circuit.signInRequired()
    if (!wait || seenAt <= wait.since || deps.flying()) return false
    circuit.succeeded(false)
    emitter.emit('reauth:success', { generation, durationMs: now() - wait.at, leader: false })
    return true
  }

  return {
    current: () => (alive(deps.lastSuccessAt()) ? null : circuit.signInRequired()),
    refuse(wait, url, method) {
      if (probed !== wait) {
        probed = wait
        probedAt = wait.at
      }
      if (now() - probedAt >= deps.intervalMs) {
        probedAt = now()
        const sentAt = clock()
        deps.probe().then((result) => result === 'signed-in' && alive(sentAt), noop)
      }
      const reason = circuit.isOpen() ? 'circuit-open' : wait.reason
      return new AuthRequiredError({ reason, url, method, cause: wait.error })
    },
    alive,
  }
}
