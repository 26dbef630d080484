import { clock } from '../clock'
import type { Coordinator } from '../coordinator'
import type { AuthRequiredError } from '../errors'
import type { GuardedRequest } from '../types'
import type { Engine, RunRequest } from './engine'
import type { Judge } from './judge'
import { isAbortError } from './snapshot'

/**
 * `Engine.run`: the full lifecycle of a promise-based request (fetch, ky): gate, send, judge, recover;
 * its replay runs the same way, as a replay.
 *
 * @example
 * const run = createRun({ coordinator, judge, track: engine.track, recover })
 * const response = await run({ facts, send, inspect, inspectError })
 */
export const createRun = (deps: {
  coordinator: Pick<Coordinator, 'gated' | 'gate' | 'isOwnRequest'>
  judge: Judge
  track: Engine['track']
  recover: <T>(error: AuthRequiredError, request: GuardedRequest<T>) => Promise<T>
}): Engine['run'] => {
  // One async function, its catch included: an adapter's own `.catch()` would cost a promise and a tick.
  const run = async <T>(req: RunRequest<T>): Promise<T> => {
    try {
      const { facts, signal } = req
      if (deps.coordinator.gated && !req.isReplay) {
        if (deps.coordinator.isOwnRequest(facts.url)) return await req.send()
        await deps.coordinator.gate(facts.url, facts.method, signal)
      }
      const untrack = deps.track(facts)
      const sentAt = clock()
      let result: T
      try {
        result = await req.send()
      } catch (thrown) {
        untrack()
        const snapshot = isAbortError(thrown) ? null : req.inspectError(thrown)
        const lost = snapshot && (await deps.judge(snapshot, facts, thrown, sentAt))
        if (!lost) throw thrown
        return await recoverRun(req, lost, sentAt)
      }
      untrack()
      // Awaited only when a body peek or a probe is needed: a healthy response costs no extra tick.
      const inspected = req.inspect(result, facts)
      const verdict = deps.judge(
        inspected instanceof Promise ? await inspected : inspected,
        facts,
        undefined,
        sentAt,
      )
      const error = verdict instanceof Promise ? await verdict : verdict
      return error ? await recoverRun(req, error, sentAt) : result
    } catch (error) {
      if (req.rejected) return req.rejected(error)
      throw error
    }
  }

  // The replay runs as a replay: no gate, and its rejection goes to the coordinator as it is.
  const recoverRun = <T>(req: RunRequest<T>, error: AuthRequiredError, sentAt: number): Promise<T> =>
    deps.recover(error, {
      ...req,
      sentAt,
      send: () => run({ ...req, isReplay: true, rejected: undefined }),
    })
  return run
}
