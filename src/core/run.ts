import { clock } from '../clock'
import type { Coordinator } from '../coordinator'
import { AuthRequiredError } from '../errors'
import type { GuardedRequest, RequestFacts } from '../types'
import type { Engine, RunRequest } from './engine'
import type { Judge } from './judge'
import { isAbortError } from './snapshot'

/** What `redirect: 'manual'` shows outside browsers as a redirect (a 304 or 300 is an answer of its own). */
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])

/** The loss of a request aborted at the first proven loss (`wire.stop(loss)`), for its own URL. */
const stopped = (reason: unknown, facts: RequestFacts): AuthRequiredError => {
  const loss = (reason as { loss?: unknown } | undefined)?.loss
  return new AuthRequiredError({
    reason: loss instanceof AuthRequiredError ? loss.reason : 'network-error',
    url: facts.url,
    method: facts.method,
    cause: loss,
  })
}

/**
 * `Engine.run`: the full lifecycle of a promise-based request (fetch, ky): gate, send, judge, recover;
 * its replay runs the same way, as a replay.
 *
 * @example
 * const run = createRun({ coordinator, judge, track: engine.track, recover, resendable, redirects })
 * const response = await run({ facts, send, inspect, inspectError })
 */
export const createRun = (deps: {
  coordinator: Pick<Coordinator, 'gated' | 'gate' | 'isOwnRequest'>
  judge: Judge
  track: Engine['track']
  recover: <T>(error: AuthRequiredError, request: GuardedRequest<T>) => Promise<T>
  /** May this request be aborted while unanswered and sent again (idempotent, replayable)? */
  resendable: (req: Pick<GuardedRequest<unknown>, 'facts' | 'notReplayable'>) => boolean
  /** Remember a URL whose opaque redirect was the app's own (`Engine.seesRedirects`). */
  redirects: (url: string) => void
}): Engine['run'] => {
  // One async function, its catch included: an adapter's own `.catch()` would cost a promise and a tick.
  const run = async <T>(req: RunRequest<T>): Promise<T> => {
    try {
      const { facts, signal } = req
      if (deps.coordinator.gated && !req.isReplay) {
        // The flight's own request (a custom strategy's) goes out as sent, redirect mode included.
        if (deps.coordinator.isOwnRequest(facts.url)) return await (req.followed ?? req.send)()
        await deps.coordinator.gate(facts.url, facts.method, signal)
      }
      const stop = req.stoppable && !req.isReplay && deps.resendable(req) ? new AbortController() : undefined
      const untrack = deps.track(facts, stop)
      const sentAt = clock()
      let result: T
      try {
        result = await req.send(stop?.signal)
      } catch (thrown) {
        untrack()
        // Aborted by the SDK at the first proven loss (not by the app): it waits for the replay.
        if (stop?.signal.aborted && !signal?.aborted)
          return await recoverRun(req, stopped(stop.signal.reason, facts), sentAt)
        const snapshot = isAbortError(thrown) ? null : req.inspectError(thrown)
        const lost = snapshot && (await deps.judge(snapshot, facts, thrown, sentAt))
        if (!lost) throw thrown
        return await recoverRun(req, lost, sentAt)
      }
      untrack()
      // Awaited only when a body peek or a probe is needed: a healthy response costs no extra tick.
      const inspected = req.inspect(result, facts)
      const snapshot = inspected instanceof Promise ? await inspected : inspected
      const verdict = deps.judge(snapshot, facts, undefined, sentAt)
      const error = verdict instanceof Promise ? await verdict : verdict
      if (error) return await recoverRun(req, error, sentAt)
      if (req.followed && (snapshot.type === 'opaqueredirect' || REDIRECT_STATUS.has(snapshot.status))) {
        // Not a lost session: the redirect is the app's own (a browser's opaque one: the probe found the
        // session alive; outside browsers it is visible, judged by its Location), sent again as the app
        // asked. Remembered: each redirecting URL costs one extra request, once.
        deps.redirects(facts.url)
        return await run({ ...req, send: req.followed, followed: undefined })
      }
      return result
    } catch (error) {
      if (req.rejected) return req.rejected(error)
      throw error
    }
  }

  // The replay runs as a replay: no gate, the app's own redirect mode, its rejection goes to the coordinator.
  const recoverRun = <T>(req: RunRequest<T>, error: AuthRequiredError, sentAt: number): Promise<T> =>
    deps.recover(error, {
      ...req,
      sentAt,
      send: () =>
        run({
          ...req,
          send: req.followed ?? req.send,
          followed: undefined,
          isReplay: true,
          rejected: undefined,
        }),
    })
  return run
}
