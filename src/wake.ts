import { clock } from './clock'
import type { Coordinator } from './coordinator'
import type { SessionProbe } from './core/probe'
import { ownMessage } from './cross-tab/channel'
import { pageStorage, readJson } from './cross-tab/env'
import type { LockManagerLike } from './cross-tab/lock'
import { AuthRequiredError } from './errors'
import { pageShared } from './flights'
import type { NormalizedOptions } from './options'
import type { ProbeResult } from './types'

/**
 * The wake-up check: when a tab comes back (visible after a long absence, `online`, restored from the
 * back/forward cache), ask the proxy once whether the session survived, holding in-scope requests at the
 * gate meanwhile. A dead session then costs one re-login before the app's refetch-on-focus storm, not
 * one sign-in start (and CSRF cookie) per request of it.
 */
export interface Wake {
  /** Listen for the triggers (idempotent; a no-op outside a browser or with `wake: false`). */
  start(): void
  /** Stop listening and release the hold of a check in progress. */
  stop(): void
  /** Run the check now: what the session probe says (a success of a re-login in progress counts). */
  check(cause?: string): Promise<ProbeResult>
}

export interface WakeDeps {
  options: Pick<NormalizedOptions, 'wake' | 'crossTab'>
  coordinator: Pick<Coordinator, 'state' | 'hold' | 'recover' | 'settled' | 'lastSuccessAt' | 'sessionAlive'>
  probe: SessionProbe
  /** `ajax-reauth:<origin>:<profile>`: the lock and storage key names start with it. */
  channel: string
  /** Test seams; each missing field is read from the global scope. */
  env?: Partial<WakeEnv>
}

type Listener = (event: any) => void
interface EventTargetLike {
  addEventListener(type: string, listener: Listener, options?: { capture?: boolean }): void
  removeEventListener(type: string, listener: Listener, options?: { capture?: boolean }): void
}
type StorageLike = Pick<Storage, 'getItem' | 'setItem'>

export interface WakeEnv {
  /** The window: `visibilitychange` (captured there, before the app's listeners), `online`, `pageshow`. */
  target: EventTargetLike | undefined
  document: { readonly visibilityState: string } | undefined
  locks: LockManagerLike | undefined
  /** Where the last answer is kept for the other tabs (read under the lock). */
  storage: StorageLike | undefined
  /** The page's global object: the SDK copies on it share one check. */
  page: object
  /** Wall-clock time: an absence includes the time the machine slept. */
  now: () => number
}

/** Defaults of `wake`; `holdMs` also bounds `reauth.check()` with `wake: false`. */
export const WAKE_AFTER_MS = 5 * 60_000
export const WAKE_HOLD_MS = 1500
/** A probe sent at most this long before a check answers it (another tab's, another copy's). */
export const FRESH_MS = 3000
/** The probing tab keeps the lock a little after it answered: its storage write reaches the others later. */
const LINGER_MS = 100
/** A `pageshow` this soon after a `visibilitychange` to visible is the same return. */
const SAME_RETURN_MS = 1000
const MAX_SKEW_MS = 2000

/** A probe's answer as the tabs share it. */
interface Answer {
  result: ProbeResult
  /** `clock()` when the probe was sent and when it answered. */
  sentAt: number
  at: number
}

interface WakeMessage extends Answer {
  source: 'ajax-reauth'
  v: 1
  kind: 'wake-check'
  channel: string
}

const RESULTS: readonly unknown[] = ['signed-in', 'signed-out', 'unknown']

const isMessage = (data: unknown, channel: string, latest: number): data is WakeMessage => {
  const m = ownMessage(data, channel)
  return (
    m !== null &&
    m.kind === 'wake-check' &&
    RESULTS.includes(m.result) &&
    typeof m.sentAt === 'number' &&
    typeof m.at === 'number' &&
    m.sentAt >= 0 &&
    m.sentAt <= m.at &&
    m.at <= latest
  )
}

interface Shared {
  last?: Answer
  pending?: Promise<Answer> | undefined
}
const KEY = Symbol.for('ajax-reauth.wake.v1')
const sharedFor = (page: object, channel: string): Shared => pageShared<Shared>(KEY, channel, page)

const globalEnv = (): WakeEnv => {
  const g = globalThis as {
    window?: EventTargetLike
    document?: { visibilityState: string }
    navigator?: { locks?: LockManagerLike }
  }
  return {
    // A window stub without events (a test double, a vm context) has nothing to wake on: no check.
    target: typeof g.window?.addEventListener === 'function' ? g.window : undefined,
    document: g.document,
    locks: g.navigator?.locks,
    storage: pageStorage(),
    page: globalThis,
    now: Date.now,
  }
}

const noop = (): void => {}

/**
 * The answers the tabs share: the page's last (every copy of the SDK on it), the one in storage, and one
 * probe per browser under a Web Lock. Resolves with an answer to a probe sent at or after `notBefore`.
 */
const createAnswers = ({ probe, channel, options }: WakeDeps, env: WakeEnv) => {
  const crossTab = options.crossTab
  // The storage key and the lock's name.
  const key = `${channel}:wake`
  const shared = sharedFor(env.page, channel)
  const remember = (answer: Answer): void => {
    if (!shared.last || answer.sentAt > shared.last.sentAt) shared.last = answer
  }

  /** The last answer (read from storage first), if its probe was sent at or after `since` (`clock()` time). */
  const fresh = (since: number): Answer | null => {
    const data = crossTab && env.storage ? readJson(env.storage, key) : null
    if (isMessage(data, channel, clock() + MAX_SKEW_MS))
      remember({ result: data.result, sentAt: data.sentAt, at: data.at })
    const last = shared.last
    return last && last.sentAt >= since ? last : null
  }

  const probeOnce = async (): Promise<Answer> => {
    const sentAt = clock()
    const answer = { result: await probe(), sentAt, at: clock() }
    remember(answer)
    const msg: WakeMessage = { source: 'ajax-reauth', v: 1, kind: 'wake-check', channel, ...answer }
    try {
      if (crossTab) env.storage?.setItem(key, JSON.stringify(msg))
    } catch {}
    return answer
  }

  /** One probe per browser: under a Web Lock, a tab that finds a fresh answer uses it. */
  const acrossTabs = (notBefore: number): Promise<Answer> => {
    const locks = crossTab ? env.locks : undefined
    if (!locks) return probeOnce()
    return new Promise<Answer>((resolve) => {
      locks
        .request(key, {}, async () => {
          const known = fresh(notBefore)
          if (known) return resolve(known)
          resolve(await probeOnce())
          await new Promise((r) => setTimeout(r, LINGER_MS))
        })
        .catch(() => probeOnce().then(resolve))
    })
  }

  // One probe per page, then per browser.
  return async (notBefore: number): Promise<Answer> => {
    const known = fresh(notBefore)
    if (known) return known
    shared.pending ??= acrossTabs(notBefore).finally(() => {
      shared.pending = undefined
    })
    return shared.pending
  }
}

/**
 * The check and its hold: in-scope requests wait at the gate until the answer (at most `holdMs`); a
 * "signed out" starts the re-login before they go. `release()` ends the hold of a check in progress.
 */
const createCheck = (deps: WakeDeps, answers: (notBefore: number) => Promise<Answer>) => {
  const { coordinator, options } = deps
  const holdMs = options.wake ? options.wake.holdMs : WAKE_HOLD_MS

  /** `since`: when the check began; `notBefore`: the oldest probe that may answer it. */
  const answer = async (since: number, notBefore: number): Promise<ProbeResult> => {
    // None while a flight runs (here or in another tab): its outcome answers the check.
    const flying = coordinator.state === 'reauthenticating'
    await coordinator.settled()
    if (coordinator.lastSuccessAt() > since) return 'signed-in'
    if (flying) return 'signed-out'
    const known = await answers(notBefore)
    // The user may have signed in meanwhile (elsewhere): the wait for it ends.
    if (known.result === 'signed-in') coordinator.sessionAlive(known.sentAt)
    // Another tab's "signed out" that a re-login has answered since.
    if (known.result === 'signed-out' && coordinator.lastSuccessAt() > known.sentAt) return 'signed-in'
    return known.result
  }

  let running: Promise<ProbeResult> | null = null
  let release: () => void = noop

  /**
   * `awayMs`: how long the page was away (hidden, in the back/forward cache): only an answer to a probe
   * sent since then (by any tab) answers this check; any other check takes one from the last FRESH_MS.
   */
  const check = (cause = 'check()', awayMs = FRESH_MS): Promise<ProbeResult> => {
    if (running) return running
    const since = clock()
    const flying = coordinator.state === 'reauthenticating'
    const released = new Promise<void>((done) => {
      const timer = setTimeout(done, holdMs)
      release = () => {
        clearTimeout(timer)
        done()
      }
    })
    // A flight holds the requests already.
    if (!flying && holdMs > 0) coordinator.hold(released)
    running = (async () => {
      try {
        const result = await answer(since, since - Math.min(awayMs, FRESH_MS))
        // (state is read again: a flight may have started while the probe ran)
        if (result === 'signed-out' && !flying && (coordinator.state as string) !== 'reauthenticating') {
          // Started before the hold ends: the held requests wait for the re-login, not the network.
          const error = new AuthRequiredError({
            reason: 'session-check',
            // No request of the app's failed: the loss is the page's.
            url: typeof location === 'undefined' ? '' : location.href,
            method: 'GET',
            cause: `session probe: signed out (${cause})`,
          })
          coordinator
            .recover(error, {
              facts: { url: error.url, method: 'GET', accept: null, inScope: true },
              send: null,
            })
            .catch(noop)
        }
        return result
      } finally {
        release()
        release = noop
        running = null
      }
    })()
    return running
  }
  return { check, release: () => release() }
}

/**
 * The triggers: visible after `afterMs` hidden, restored from the back/forward cache after as long, or
 * `online`. Listeners captured on the window: before the app's own (TanStack Query's, SWR's) send their
 * refetches.
 */
const listenForReturns = (
  env: WakeEnv,
  afterMs: number,
  trigger: (cause: string, awayMs?: number) => void,
): { start(): void; stop(): boolean } => {
  let hiddenAt: number | null = null
  let returnedAt = -Infinity
  const hide = (): void => {
    hiddenAt ??= env.now()
  }
  const back = (ms: number, cause: string): void => {
    hiddenAt = null
    returnedAt = env.now()
    if (ms >= afterMs) trigger(cause, ms)
  }

  const onVisibility = (): void => {
    const visibility = env.document?.visibilityState
    if (visibility === 'hidden') hide()
    else if (visibility === 'visible' && hiddenAt !== null) {
      const ms = env.now() - hiddenAt
      back(ms, `visible after ${Math.round(ms / 1000)} s hidden`)
    }
  }
  const onPageShow = (event: { persisted?: boolean }): void => {
    // Restored from the back/forward cache: unless its visibilitychange just judged this return.
    if (!event.persisted || (hiddenAt === null && env.now() - returnedAt < SAME_RETURN_MS)) return
    back(hiddenAt === null ? Infinity : env.now() - hiddenAt, 'restored from the back/forward cache')
  }
  // How long the network was gone is not observable (a machine that slept fires `offline` on waking):
  // every `online` checks, once per browser.
  const onOnline = (): void => trigger('online')

  const listeners: [string, Listener][] = [
    ['visibilitychange', onVisibility],
    ['pagehide', hide],
    ['pageshow', onPageShow],
    ['online', onOnline],
  ]
  let started = false
  return {
    start() {
      if (started || !env.target) return
      started = true
      hiddenAt = env.document?.visibilityState === 'hidden' ? env.now() : null
      for (const [type, fn] of listeners) env.target.addEventListener(type, fn, { capture: true })
    },
    /** Whether it was listening. */
    stop() {
      if (!started) return false
      started = false
      for (const [type, fn] of listeners) env.target?.removeEventListener(type, fn, { capture: true })
      return true
    },
  }
}

/**
 * @example
 * const wake = createWake({ options, coordinator, probe, channel })
 * wake.start()
 * await wake.check('route change') // 'signed-in' | 'signed-out' | 'unknown'
 */
export const createWake = (deps: WakeDeps): Wake => {
  const env: WakeEnv = { ...globalEnv(), ...deps.env }
  const { check, release } = createCheck(deps, createAnswers(deps, env))
  const wake = deps.options.wake
  const returns = wake
    ? listenForReturns(env, wake.afterMs, (cause, awayMs) => {
        check(`wake: ${cause}`, awayMs).catch(noop)
      })
    : null
  return {
    start: () => returns?.start(),
    stop() {
      if (returns?.stop()) release()
    },
    check,
  }
}
