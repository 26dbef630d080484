import { ReauthError } from '../errors'
import { joinOrStart, lastSharedSuccess } from '../flights'
import { type Channel, type CrossTabMessage, createChannel, type RemoteOutcome } from './channel'
import { type CrossTabEnv, globalEnv, sleep } from './env'
import { createTabLock, type TabLock } from './lock'

export type { CrossTabMessage, RemoteOutcome } from './channel'
export { MAX_SKEW_MS } from './channel'
export type { CrossTabEnv } from './env'
export { LEASE_MS } from './lock'

/** One re-login per browser: the tab that wins the lock runs it, the others wait for its outcome. */
export interface CrossTab {
  /**
   * Run `lead` in this tab if it wins the browser-wide lock; otherwise wait for the winning tab's
   * outcome without running anything. A flight another copy of the SDK on this page has in progress
   * for the same origin and profile is joined (`leader: false`) instead. Resolves on success, rejects with
   * the leader's error or a `ReauthError` saying another tab's re-login failed. Aborting `signal` rejects
   * at once with its reason and gives up the lock (or lease).
   */
  flight(
    lead: (signal: AbortSignal) => Promise<void>,
    signal: AbortSignal,
  ): Promise<{ leader: boolean; generation: number }>
  /** Subscribe to other tabs' outcomes. Returns the unsubscribe function. */
  onRemote(cb: (msg: RemoteOutcome) => void): () => void
  /**
   * When (`clock()` time) the last re-login this tab knows of, in any tab or any copy of the SDK on this
   * page, succeeded; -Infinity if none.
   */
  lastSuccessAt(): number
  /**
   * Resolves when no other tab is running a re-login: at once if none holds the lock (or lease), else at its
   * outcome, or after `maxMs`. A tab without a flight of its own learns of one this way.
   */
  remoteSettled(maxMs: number): Promise<void>
  /** Close the channel, remove listeners, reject flights still waiting. */
  dispose(): void
}

export interface CrossTabOptions {
  /** `crossTab` option: false runs every flight in this tab alone. */
  enabled: boolean
  /** The page's origin; part of the lock/channel name and checked on every message. */
  origin: string
  /** The proxy profile's name; part of the lock/channel name. */
  profileName: string
  /** Fakes for tests; each missing field is read from the global scope. */
  env?: Partial<CrossTabEnv>
}

type Outcome = { leader: boolean; generation: number }

/**
 * After its outcome the leader keeps the lock a little: its message and the lock grant travel separately,
 * and the next waiter must hear the outcome before it could take the lock and log in again.
 */
const HOLD_AFTER_OUTCOME_MS = 150

/** What one flight of this tab shares between its lock holder and its outcome listener. */
interface Waiting {
  readonly startedAt: number
  /** Aborted once the flight has settled: the lock (or lease) wait is given up. */
  readonly done: AbortSignal
  /** Is this tab running `lead` now? A concurrent leader (two tabs racing one lease) finishes its own. */
  leading: boolean
  settle(fn: () => void): void
}

/**
 * Holding the lock: another tab's success since the flight began answers it; otherwise this tab leads
 * and tells the others its outcome. Returns when the lock may be given up.
 */
const runHeld = async (
  channel: Channel,
  w: Waiting,
  lead: () => Promise<void>,
  resolve: (o: Outcome) => void,
  reject: (e: unknown) => void,
): Promise<void> => {
  if (answered(channel, w, resolve)) return
  // While leading, this tab's own listener ignores the outcome it publishes.
  w.leading = true
  try {
    const run = lead()
    run.catch(() => {})
    // A lead that ignores its signal must not keep the lock after an abort.
    await Promise.race([run, new Promise<void>((r) => w.done.addEventListener('abort', () => r()))])
    if (w.done.aborted) return
    const generation = channel.publish('success')
    w.settle(() => resolve({ leader: true, generation }))
  } catch (error) {
    // An aborted flight says nothing: the next waiting tab takes over, as after a crash.
    if (w.done.aborted) return
    channel.publish('failure')
    w.settle(() => reject(error))
  } finally {
    w.leading = false
  }
  await sleep(HOLD_AFTER_OUTCOME_MS)
}

/** Settled already, or answered by an outcome stored since the flight began (settled now). */
const answered = (channel: Channel, w: Waiting, resolve: (o: Outcome) => void): boolean => {
  if (w.done.aborted) return true
  channel.readStored()
  if (w.done.aborted) return true
  if (channel.lastSuccessAt <= w.startedAt) return false
  w.settle(() => resolve({ leader: false, generation: channel.generation }))
  return true
}

/** The next outcome on `channel` (this tab's or another's), or `maxMs`. */
const nextOutcome = (channel: Channel, maxMs: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      off()
      resolve()
    }
    const timer = setTimeout(done, maxMs)
    const off = channel.onOutcome(done)
  })

/**
 * Coordinates re-login across the tabs of one origin: Web Locks + BroadcastChannel, with a localStorage
 * lease (and `storage` events) where those are missing.
 *
 * @example
 * const tabs = createCrossTab({ enabled: true, origin: location.origin, profileName: 'oauth2-proxy' })
 * const { leader, generation } = await tabs.flight((signal) => iframeStrategy({ ...ctx, signal }), signal)
 */
export const createCrossTab = (opts: CrossTabOptions): CrossTab => {
  const env: CrossTabEnv = { ...globalEnv(), ...opts.env }
  const name = `ajax-reauth:${opts.origin}:${opts.profileName}`
  const active = opts.enabled && env.target !== undefined
  const channel = createChannel(env, { name, origin: opts.origin, active })
  const lock: TabLock = createTabLock(env, name, active)
  let disposed = false
  const pending = new Set<(error: Error) => void>()

  const ownFlight: CrossTab['flight'] = (lead, signal) => {
    if (!active || disposed) {
      return Promise.resolve()
        .then(() => lead(signal))
        .then(() => ({ leader: true, generation: channel.nextGeneration() }))
    }
    return new Promise<Outcome>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      const stop = new AbortController()
      const w: Waiting = {
        startedAt: env.now(),
        done: stop.signal,
        leading: false,
        settle: (fn) => {
          if (stop.signal.aborted) return
          unsubscribe()
          pending.delete(onDispose)
          signal.removeEventListener('abort', onAbort)
          stop.abort()
          fn()
        },
      }
      const unsubscribe = channel.onOutcome((msg: CrossTabMessage) => {
        if (w.leading || msg.at <= w.startedAt) return
        if (msg.kind === 'success') w.settle(() => resolve({ leader: false, generation: msg.generation }))
        else w.settle(() => reject(new ReauthError("Another tab's re-login failed")))
      })
      const onAbort = (): void => w.settle(() => reject(signal.reason))
      const onDispose = (error: Error): void => w.settle(() => reject(error))
      pending.add(onDispose)
      signal.addEventListener('abort', onAbort, { once: true })
      lock
        .run(
          stop.signal,
          () => runHeld(channel, w, () => lead(signal), resolve, reject),
          () => answered(channel, w, resolve),
        )
        .catch((error: unknown) => w.settle(() => reject(error)))
    })
  }

  return {
    // Another copy of the SDK on this page (or another instance) that is signing in already answers this
    // flight too; its success also counts as this tab's.
    flight: (lead, signal) =>
      joinOrStart(name, () => ownFlight(lead, signal), signal, env.page).then(({ value, joined }) => {
        if (!joined) return value
        channel.adopt(value.generation)
        return { leader: false, generation: value.generation }
      }),
    onRemote: (cb) => channel.onRemote(cb),
    remoteSettled: async (maxMs) => {
      if (!active || disposed) return
      const busy = await lock.busy().catch(() => false)
      if (!busy) return
      await nextOutcome(channel, maxMs)
    },
    lastSuccessAt: () => {
      channel.readStored()
      return Math.max(channel.lastSuccessAt, lastSharedSuccess(name, env.page))
    },
    dispose: () => {
      if (disposed) return
      disposed = true
      for (const reject of [...pending]) reject(new ReauthError('ajax-reauth was uninstalled'))
      channel.dispose()
      lock.dispose()
    },
  }
}
