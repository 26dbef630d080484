import type { LockManagerLike } from '../cross-tab/lock'

/** A request that hangs must not hold a re-login back for long. */
const DRAIN_MAX_MS = 1500
/** How long a tab keeps its shared "wire" lock after its last request landed. */
const WIRE_LINGER_MS = 250

/**
 * Requests on the wire carry the old cookie: their answers can clear (Set-Cookie Max-Age=0) the session a
 * re-login has just created, so the leader waits for them before it starts. This page's are counted;
 * other tabs' are seen through Web Locks, where they exist: every tab holds a shared "wire" lock while it
 * has requests out, and the leader takes it exclusively (briefly) once every tab's requests have landed.
 */
export interface Wire {
  /**
   * Count an in-scope request as on the wire until its response headers arrive; returns the (idempotent)
   * function that ends it. `key` (`METHOD url`) names the request: when an outer layer holds a count for
   * it (`hold`), this layer takes that count over instead of adding one.
   */
  track(key?: string, stop?: AbortController): () => void
  /**
   * Abort every request counted with a `stop` controller (safe to send again) whose answer has not come:
   * at the first proven loss they would only reach the proxy with the dead cookie. The abort's reason is an
   * `AbortError` carrying `loss`.
   */
  stop(reason: unknown): void
  /**
   * An outer layer's count (axios's interceptors), which sees the answer only after the layers under it
   * (the XHR or fetch patch) have let it through, perhaps after a re-login. Counted until released, or
   * until an inner layer sends the same request (`track(key)`) and takes it over: one request seen through
   * several layers is counted once, and lands when the layer closest to the network sees its answer.
   */
  hold(key: string): () => void
  /** This page's requests and (with Web Locks) every tab's have landed, or `DRAIN_MAX_MS` passed. */
  quiet(): Promise<void>
  /** How many of this page's requests are counted on the wire now. */
  readonly count: number
  /** Whether an outer layer's count waits to be taken over (callers name requests only then). */
  readonly holding: boolean
}

/** `promise`, or nothing after `ms`; the timer goes as soon as either settles. */
const within = (promise: Promise<void>, ms: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

/** The shared "wire" lock a tab holds while it has requests out (none without Web Locks). */
const createWireLock = (locks: LockManagerLike | undefined, name: string) => {
  let release: (() => void) | null = null
  let linger: ReturnType<typeof setTimeout> | undefined
  const drop = (): void => {
    clearTimeout(linger)
    linger = undefined
    release?.()
    release = null
  }
  const busy = (on: boolean): void => {
    if (!locks) return
    if (on) {
      clearTimeout(linger)
      linger = undefined
      if (release) return
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      locks.request(name, { mode: 'shared' }, () => held).catch(() => {})
    } else if (release && linger === undefined) {
      // Kept a little after the last request lands: a lock request is a round trip to the browser
      // process, and back-to-back requests should not pay it each time.
      linger = setTimeout(drop, WIRE_LINGER_MS)
    }
  }
  /** Every tab's requests have landed: this tab's lock goes, then the exclusive one is taken (briefly). */
  const exclusive = (signal: AbortSignal): Promise<unknown> | undefined => {
    drop()
    return locks?.request(name, { mode: 'exclusive', signal }, async () => {})
  }
  return { busy, exclusive }
}

/** The requests that may be aborted and sent again (`track(key, stop)`), until their answer comes. */
const createStops = () => {
  const stoppable = new Set<AbortController>()
  const watch = (end: () => void, stop: AbortController | undefined): (() => void) => {
    if (!stop) return end
    stoppable.add(stop)
    return () => {
      stoppable.delete(stop)
      end()
    }
  }
  const stop = (loss: unknown): void => {
    if (!stoppable.size) return
    const all = [...stoppable]
    stoppable.clear()
    // An AbortError, not the loss itself: a layer under this one (the patched fetch under reauth.fetch)
    // sees it as its caller's abort and lets go; the layer that stopped it finds the loss on it.
    const reason = Object.assign(
      new DOMException('lost session: replayed after the re-login', 'AbortError'),
      { loss },
    )
    for (const ctrl of all) ctrl.abort(reason)
  }
  return { watch, stop }
}

/**
 * @example
 * const wire = createWire({ locks: navigator.locks, name: 'ajax-reauth:https://app.example:oauth2-proxy:wire' })
 * const end = wire.track('GET https://app.example/api/items') // at the response headers: end()
 * await wire.quiet() // before a re-login
 */
export const createWire = (opts: { locks: LockManagerLike | undefined; name: string }): Wire => {
  const lock = createWireLock(opts.locks, opts.name)
  let onWire = 0
  let drainWaiters: (() => void)[] = []

  const count = (): (() => void) => {
    if (onWire++ === 0) lock.busy(true)
    let open = true
    return () => {
      if (!open) return
      open = false
      if (--onWire === 0) {
        lock.busy(false)
        const waiters = drainWaiters
        drainWaiters = []
        for (const wake of waiters) wake()
      }
    }
  }
  // Outer layers' counts not taken over yet, by request key (counts are alike: any one will do).
  const held = new Map<string, Set<() => void>>()
  const forget = (key: string, ends: Set<() => void>): void => {
    if (!ends.size && held.get(key) === ends) held.delete(key)
  }

  const hold = (key: string): (() => void) => {
    const end = count()
    const ends = held.get(key) ?? new Set()
    held.set(key, ends.add(end))
    return () => {
      ends.delete(end)
      forget(key, ends)
      end()
    }
  }

  const take = (key?: string): (() => void) => {
    const ends = key === undefined ? undefined : held.get(key)
    // The outer layer's release is now a no-op (its end is idempotent): this request's answer ends it.
    for (const end of ends ?? []) {
      ends!.delete(end)
      forget(key!, ends!)
      return end
    }
    return count()
  }
  const stops = createStops()
  const track = (key?: string, stop?: AbortController): (() => void) => stops.watch(take(key), stop)
  const stop = stops.stop

  const drained = (): Promise<void> =>
    onWire === 0 ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push(resolve))

  const quiet = (): Promise<void> => {
    const give = new AbortController()
    const landed = drained().then(() => lock.exclusive(give.signal))
    return within(
      landed.then(
        () => {},
        () => {},
      ),
      DRAIN_MAX_MS,
    ).finally(() => give.abort())
  }

  return {
    track,
    stop,
    hold,
    quiet,
    get count() {
      return onWire
    },
    get holding() {
      return held.size > 0
    },
  }
}
