import { AuthRequiredError } from '../errors'
import type { AuthSignal, ProxyProfile, RequestFacts, ResponseSnapshot } from '../types'
import { classify } from './detect'
import type { SessionProbe } from './probe'

/** What the judge asks of the coordinator: whether a re-login runs or has ended since a request went out. */
interface FlightClock {
  readonly gated: boolean
  settled(): Promise<void>
  lastSuccessAt(): number
}

/** `Engine.judge`: classify, then confirm an ambiguous signal with the session probe. */
export type Judge = (
  snapshot: ResponseSnapshot,
  facts: RequestFacts,
  cause?: unknown,
  sentAt?: number,
) => AuthRequiredError | null | Promise<AuthRequiredError | null>

/**
 * @example
 * const judge = createJudge({ profile, probe, coordinator: () => coordinator })
 * const lost = await judge(snapshot, facts, undefined, sentAt)
 */
export const createJudge = (deps: {
  profile: ProxyProfile
  probe: SessionProbe
  coordinator: () => FlightClock
}): Judge => {
  const { profile, probe } = deps
  /** Did the proxy (not the upstream, not the network) answer this ambiguous signal? */
  const confirm = async (
    signal: AuthSignal,
    sentAt: number | undefined,
  ): Promise<AuthSignal['reason'] | null> => {
    const yes = await proven(signal, sentAt)
    if (yes) return signal.reason
    // The probe itself was refused for its cookies: what failed (CORS, a redirect) was the cookie flood.
    return signal.reason === 'network-error' && probe.overflowed?.() ? 'header-overflow' : null
  }
  const proven = async (signal: AuthSignal, sentAt: number | undefined): Promise<boolean> => {
    const { reason } = signal
    if (
      (reason === 'network-error' || reason === 'opaque-redirect') &&
      sentAt !== undefined &&
      deps.coordinator().gated
    ) {
      // The session is known lost and its re-login is under way: no probe per straggler of the burst (an
      // app's own redirect among them is then replayed as the app sent it: the same answer).
      await deps.coordinator().settled()
      if (sentAt < deps.coordinator().lastSuccessAt()) return true
    }
    let result = await probe()
    // Behind a burst, the probe can sit in the browser's queue of six connections per host until it times
    // out; by then the queue has moved. Ask once more before calling the failure unproven.
    if (result === 'unknown' && reason === 'network-error') result = await probe()
    if (result !== 'signed-in') return result === 'signed-out'
    // Sent with a cookie that may have died: a network failure (a CORS failure after the proxy's redirect
    // looks the same) or the proxy's own 401 fingerprint. An upstream answers neither.
    if ((reason !== 'network-error' && !signal.fingerprint) || sentAt === undefined) return false
    // A redirect to the identity provider fails CORS only once the provider has answered: with a slow
    // provider, a request sent with the dead cookie fails after another request's re-login restored the
    // session. Sent before a re-login that ended since, it carried the dead cookie. (No upstream answered
    // it readably, so replaying it is what the app would have got.) The same for the proxy's own 401
    // (its fingerprint), answered after the re-login: the probe now says signed in, but it was sent dead.
    if (sentAt < deps.coordinator().lastSuccessAt()) return true
    // "Signed in" may come from a re-login that has renewed the cookie but not yet recorded its success
    // (here, in another tab): this probe can be that re-login's own confirmation. Wait for it to end.
    await deps.coordinator().settled()
    return sentAt < deps.coordinator().lastSuccessAt()
  }

  const judge = (
    snapshot: ResponseSnapshot,
    facts: RequestFacts,
    cause?: unknown,
    sentAt?: number,
  ): AuthRequiredError | null | Promise<AuthRequiredError | null> => {
    const signal = classify(snapshot, facts, profile)
    if (!signal) return null
    const lost = (reason = signal.reason): AuthRequiredError =>
      new AuthRequiredError({
        reason,
        url: facts.url,
        method: facts.method,
        cause: cause ?? signal.detail,
      })
    if (!signal.needsProbe) return lost()
    return confirm(signal, sentAt).then((reason) => (reason ? lost(reason) : null))
  }

  return judge
}
