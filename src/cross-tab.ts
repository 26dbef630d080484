import { clock } from './clock'
import type { LockManagerLike } from './cross-tab/lock'
import { ReauthError } from './errors'
import { joinOrStart, lastSharedSuccess } from './flights'

/** An outcome as other tabs see it. */
export interface RemoteOutcome {
  kind: 'success' | 'failure'
  generation: number
}

/** The wire format between tabs (BroadcastChannel, or a localStorage key where that is missing). */
export interface CrossTabMessage extends RemoteOutcome {
  source: 'ajax-reauth'
  v: 1
  /** The channel name (`ajax-reauth:<origin>:<profile>`): a message for another app or proxy is ignored. */
  channel: string
  /** Unique per message: the same message arriving by two transports counts once. */
  id: string
  /**
   * `clock()` when the outcome happened; only outcomes after a flight began settle it. The receiver
   * ignores one dated more than `MAX_SKEW_MS` after its own clock, and counts a smaller skew as "when
   * it arrived".
   */
  at: number
}

/** One re-login per browser: the tab that wins the lock runs it, the others wait for its outcome. */
export interface CrossTab {
  /**
   * Run `lead` in this tab if it wins the browser-wide lock; otherwise wait for the winning tab's
   * outcome without running anything. A flight another copy of the SDK on this page has in progress
   * for the same origin and profile is joined (`leader: false`) instead. Resolves on success, rejects with the leader's error or a
   * `ReauthError` saying another tab's re-login failed. Aborting `signal` rejects at once with its reason
   * and gives up the lock (or lease).
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

type Listener = (event: any) => void
interface EventTargetLike {
  addEventListener(type: string, listener: Listener): void
  removeEventListener(type: string, listener: Listener): void
}
type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>
interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  onmessage: ((event: MessageEvent) => void) | null
}

/** The browser APIs the module uses; tests pass fakes (two "tabs" in one process). */
export interface CrossTabEnv {
  locks: LockManagerLike | undefined
  BroadcastChannel: (new (name: string) => ChannelLike) | undefined
  storage: StorageLike | undefined
  /** Where `storage` and `pagehide` events arrive (the window). */
  target: EventTargetLike | undefined
  now: () => number
  /** The page's global object: every copy of the SDK on it shares one flight (see `joinOrStart`). */
  page: object
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

/** A lease older than this without renewal is free (its tab died without `pagehide`). */
export const LEASE_MS = 3000
const RENEW_MS = 1000
/** localStorage has no compare-and-swap: write, wait for other tabs' writes to land, read back. */
const LEASE_SETTLE_MS = 60
const LEASE_POLL_MS = 400
/**
 * After its outcome the leader keeps the lock a little: its message and the lock grant travel separately,
 * and the next waiter must hear the outcome before it could take the lock and log in again.
 */
const HOLD_AFTER_OUTCOME_MS = 150
/**
 * How far a message's `at` may lie ahead of the receiver's clock. `clock()` is epoch time in every tab,
 * so tabs agree to within a millisecond or so, but not exactly: each tab's clock is fixed at its
 * navigation (`performance.timeOrigin`) and then runs on the monotonic clock, so a wall-clock step
 * (NTP) or a suspended machine makes tabs loaded at different times drift apart. A message dated
 * further ahead is a forgery or a broken clock: believing it would make this tab take every flight
 * for answered until that time.
 */
export const MAX_SKEW_MS = 2000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const randomId = (): string =>
  typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`

const globalEnv = (): CrossTabEnv => {
  const g = globalThis as {
    window?: EventTargetLike
    navigator?: { locks?: LockManagerLike }
    BroadcastChannel?: new (name: string) => ChannelLike
    localStorage?: StorageLike
  }
  let storage: StorageLike | undefined
  try {
    // Throws in some privacy modes and sandboxed frames.
    storage = g.localStorage
  } catch {
    storage = undefined
  }
  return {
    locks: g.navigator?.locks,
    BroadcastChannel: g.BroadcastChannel,
    storage,
    target: g.window,
    // Sub-millisecond and comparable across tabs: a flight that starts in the same millisecond as the
    // previous success must not be taken for one that success already answered.
    now: clock,
    page: globalThis,
  }
}

/** The SDK's own message for this channel, dated no later than `latest` (the receiver's clock + skew). */
const isMessage = (data: unknown, channel: string, latest: number): data is CrossTabMessage => {
  if (typeof data !== 'object' || data === null) return false
  const m = data as Record<string, unknown>
  return (
    m.source === 'ajax-reauth' &&
    m.v === 1 &&
    (m.kind === 'success' || m.kind === 'failure') &&
    Number.isSafeInteger(m.generation) &&
    (m.generation as number) > 0 &&
    (m.generation as number) <= latest &&
    m.channel === channel &&
    typeof m.id === 'string' &&
    m.id.length > 0 &&
    m.id.length <= 64 &&
    typeof m.at === 'number' &&
    m.at >= 0 &&
    m.at <= latest
  )
}

interface Lease {
  owner: string
  expires: number
}

const readJson = (storage: StorageLike, key: string): unknown => {
  try {
    const raw = storage.getItem(key)
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}

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
  const channel = `ajax-reauth:${opts.origin}:${opts.profileName}`
  const leaseKey = `${channel}:lease`
  const messageKey = `${channel}:msg`
  const active = opts.enabled && env.target !== undefined
  const useLocks = active && env.locks !== undefined
  const storage = active ? env.storage : undefined

  let generation = 0
  let lastSuccessAt = Number.NEGATIVE_INFINITY
  let disposed = false
  const seen: string[] = []
  const waiters = new Set<(msg: CrossTabMessage) => void>()
  const leaseWakers = new Set<() => void>()
  const remotes = new Set<(msg: RemoteOutcome) => void>()
  const pending = new Set<(error: Error) => void>()

  const nextGeneration = (): number => {
    generation = Math.max(generation + 1, Math.floor(env.now()))
    return generation
  }

  const note = (msg: CrossTabMessage): boolean => {
    if (seen.includes(msg.id)) return false
    seen.push(msg.id)
    if (seen.length > 32) seen.shift()
    generation = Math.max(generation, msg.generation)
    if (msg.kind === 'success') lastSuccessAt = Math.max(lastSuccessAt, msg.at)
    return true
  }

  const receive = (data: unknown, origin?: string): void => {
    const now = env.now()
    if (disposed || !isMessage(data, channel, now + MAX_SKEW_MS)) return
    if (origin && origin !== opts.origin) return
    // A sender whose clock runs a little ahead: its outcome happened by the time it arrived here.
    const msg: CrossTabMessage = { ...data, at: Math.min(data.at, now) }
    if (!note(msg)) return
    for (const w of [...waiters]) w(msg)
    for (const cb of [...remotes]) cb({ kind: msg.kind, generation: msg.generation })
  }

  /**
   * The last outcome is also written to storage: the lock grant can arrive before the message, and a
   * stored outcome this tab has not heard of yet is handled as if it had just arrived.
   */
  const readStoredOutcome = (): void => {
    if (storage) receive(readJson(storage, messageKey))
  }

  let bc: ChannelLike | null = null
  if (active && env.BroadcastChannel) {
    try {
      bc = new env.BroadcastChannel(channel)
      bc.onmessage = (event) => receive(event.data, event.origin)
    } catch {
      bc = null
    }
  }

  const onStorage = (event: { key?: string | null; newValue?: string | null; url?: string }): void => {
    if (event.key === leaseKey) {
      for (const wake of [...leaseWakers]) wake()
      return
    }
    if (event.key !== messageKey || !event.newValue) return
    if (event.url) {
      try {
        if (new URL(event.url).origin !== opts.origin) return
      } catch {
        return
      }
    }
    let data: unknown
    try {
      data = JSON.parse(event.newValue)
    } catch {
      return
    }
    receive(data)
  }
  if (active && storage) env.target?.addEventListener('storage', onStorage)

  const publish = (kind: CrossTabMessage['kind']): number => {
    const msg: CrossTabMessage = {
      source: 'ajax-reauth',
      v: 1,
      kind,
      generation: nextGeneration(),
      channel,
      id: randomId(),
      at: env.now(),
    }
    note(msg)
    if (active) {
      try {
        bc?.postMessage(msg)
      } catch {}
      try {
        storage?.setItem(messageKey, JSON.stringify(msg))
      } catch {}
    }
    for (const w of [...waiters]) w(msg)
    return msg.generation
  }

  // --- localStorage lease, where Web Locks is missing -------------------------------------------
  /** The lease, unless it is malformed or runs out later than any tab could have set (a skewed clock). */
  const readLease = (s: StorageLike): Lease | null => {
    const v = readJson(s, leaseKey) as Partial<Lease> | null
    return v &&
      typeof v.owner === 'string' &&
      typeof v.expires === 'number' &&
      v.expires <= env.now() + LEASE_MS + MAX_SKEW_MS
      ? (v as Lease)
      : null
  }
  const writeLease = (s: StorageLike, owner: string): void => {
    try {
      s.setItem(leaseKey, JSON.stringify({ owner, expires: env.now() + LEASE_MS }))
    } catch {}
  }
  const releaseLease = (s: StorageLike, owner: string): void => {
    try {
      if (readLease(s)?.owner === owner) s.removeItem(leaseKey)
    } catch {}
  }
  const tryLease = async (s: StorageLike, owner: string): Promise<boolean> => {
    const current = readLease(s)
    if (current && current.owner !== owner && current.expires > env.now()) return false
    writeLease(s, owner)
    await sleep(LEASE_SETTLE_MS)
    return readLease(s)?.owner === owner
  }
  /** Until the lease changes, an outcome arrives or the lease may have expired. */
  const leaseChange = (s: StorageLike): { promise: Promise<void>; cancel: () => void } => {
    let wake!: () => void
    const promise = new Promise<void>((r) => {
      wake = r
    })
    const lease = readLease(s)
    const untilExpiry = lease ? lease.expires - env.now() + 20 : 0
    const timer = setTimeout(wake, Math.max(20, Math.min(LEASE_POLL_MS, untilExpiry)) + Math.random() * 40)
    leaseWakers.add(wake)
    return {
      promise,
      cancel: () => {
        clearTimeout(timer)
        leaseWakers.delete(wake)
        wake()
      },
    }
  }

  const ownFlight: CrossTab['flight'] = (lead, signal) => {
    if (!active || disposed) {
      return Promise.resolve()
        .then(() => lead(signal))
        .then(() => ({ leader: true, generation: nextGeneration() }))
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason)
        return
      }
      const startedAt = env.now()
      const lockAbort = new AbortController()
      let settled = false
      let leading = false
      let stopWaiting: (() => void) | null = null
      let release!: () => void
      const released = new Promise<void>((r) => {
        release = r
      })

      const settle = (fn: () => void): void => {
        if (settled) return
        settled = true
        waiters.delete(onOutcome)
        pending.delete(onDispose)
        signal.removeEventListener('abort', onAbort)
        lockAbort.abort()
        stopWaiting?.()
        release()
        fn()
      }
      const onOutcome = (msg: CrossTabMessage): void => {
        // A concurrent leader (two tabs racing one lease) finishes its own flight.
        if (leading || msg.at <= startedAt) return
        if (msg.kind === 'success') settle(() => resolve({ leader: false, generation: msg.generation }))
        else settle(() => reject(new ReauthError("Another tab's re-login failed")))
      }
      const onAbort = (): void => settle(() => reject(signal.reason))
      const onDispose = (error: Error): void => settle(() => reject(error))
      waiters.add(onOutcome)
      pending.add(onDispose)
      signal.addEventListener('abort', onAbort, { once: true })

      /** Runs while holding the lock or lease; returns when it may be given up. */
      const runHeld = async (): Promise<void> => {
        if (settled) return
        readStoredOutcome()
        if (settled) return
        if (lastSuccessAt > startedAt) {
          settle(() => resolve({ leader: false, generation }))
          return
        }
        leading = true
        try {
          const run = lead(signal)
          run.catch(() => {})
          // A lead that ignores its signal must not keep the lock after an abort.
          await Promise.race([run, released])
        } catch (error) {
          // An aborted flight says nothing: the next waiting tab takes over, as after a crash.
          if (settled) return
          waiters.delete(onOutcome)
          publish('failure')
          settle(() => reject(error))
          await sleep(HOLD_AFTER_OUTCOME_MS)
          return
        } finally {
          leading = false
        }
        if (settled) return
        waiters.delete(onOutcome)
        const gen = publish('success')
        settle(() => resolve({ leader: true, generation: gen }))
        await sleep(HOLD_AFTER_OUTCOME_MS)
      }

      if (useLocks) {
        env.locks!.request(channel, { signal: lockAbort.signal }, runHeld).catch((error: unknown) => {
          settle(() => reject(error))
        })
        return
      }
      if (!storage) {
        runHeld().catch(() => {})
        return
      }
      const s = storage
      const owner = randomId()
      const onPageHide = (): void => releaseLease(s, owner)
      ;(async () => {
        while (!settled) {
          readStoredOutcome()
          if (settled) break
          if (lastSuccessAt > startedAt) {
            settle(() => resolve({ leader: false, generation }))
            return
          }
          if (await tryLease(s, owner)) {
            if (settled) break
            const renew = setInterval(() => writeLease(s, owner), RENEW_MS)
            env.target?.addEventListener('pagehide', onPageHide)
            try {
              await runHeld()
            } finally {
              clearInterval(renew)
              env.target?.removeEventListener('pagehide', onPageHide)
            }
            break
          }
          const change = leaseChange(s)
          stopWaiting = change.cancel
          await change.promise
          stopWaiting = null
        }
        releaseLease(s, owner)
      })().catch((error: unknown) => {
        releaseLease(s, owner)
        settle(() => reject(error))
      })
    })
  }

  // Another copy of the SDK on this page (or another instance) that is signing in already answers this
  // flight too; its success also counts as this tab's.
  const flight: CrossTab['flight'] = (lead, signal) =>
    joinOrStart(channel, () => ownFlight(lead, signal), signal, env.page).then(({ value, joined }) => {
      if (!joined) return value
      generation = Math.max(generation, value.generation)
      return { leader: false, generation: value.generation }
    })

  return {
    flight,
    onRemote: (cb) => {
      remotes.add(cb)
      return () => {
        remotes.delete(cb)
      }
    },
    remoteSettled: async (maxMs) => {
      if (!active || disposed) return
      let busy = false
      try {
        if (useLocks) busy = !!(await env.locks!.query?.())?.held?.some((l) => l.name === channel)
        else if (storage) busy = (readLease(storage)?.expires ?? 0) > env.now()
      } catch {
        busy = false
      }
      if (!busy) return
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, maxMs)
        waiters.add(done)
      })
    },
    lastSuccessAt: () => {
      readStoredOutcome()
      return Math.max(lastSuccessAt, lastSharedSuccess(channel, env.page))
    },
    dispose: () => {
      if (disposed) return
      disposed = true
      for (const reject of [...pending]) reject(new ReauthError('ajax-reauth was uninstalled'))
      remotes.clear()
      waiters.clear()
      for (const wake of [...leaseWakers]) wake()
      env.target?.removeEventListener('storage', onStorage)
      if (bc) {
        bc.onmessage = null
        bc.close()
        bc = null
      }
    },
  }
}
