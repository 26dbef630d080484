import { MAX_SKEW_MS } from './channel'
import { type CrossTabEnv, randomId, readJson, type StorageLike, sleep } from './env'

/** The part of the Web Locks API (`navigator.locks`) the SDK uses; tests pass fakes. */
export interface LockManagerLike {
  request(
    name: string,
    options: { mode?: 'shared' | 'exclusive'; signal?: AbortSignal },
    callback: () => Promise<unknown>,
  ): Promise<unknown>
  query?(): Promise<{ held?: { name?: string }[] }>
}

/** A lease older than this without renewal is free (its tab died without `pagehide`). */
export const LEASE_MS = 3000
const RENEW_MS = 1000
/** localStorage has no compare-and-swap: write, wait for other tabs' writes to land, read back. */
const LEASE_SETTLE_MS = 60
const LEASE_POLL_MS = 400

/** One tab at a time in the browser: Web Locks, a localStorage lease where they are missing, or none. */
export interface TabLock {
  /**
   * Run `fn` while holding the lock; aborting `signal` gives up the wait. `stop` is asked before each try
   * for the lease: true ends the wait without running `fn` (another tab's outcome answered it).
   */
  run(signal: AbortSignal, fn: () => Promise<void>, stop: () => boolean): Promise<void>
  /** Does another tab hold it now? */
  busy(): Promise<boolean>
  dispose(): void
}

interface Lease {
  owner: string
  expires: number
}

/** Until the lease changes (a waker runs), `signal` aborts, or `lease` may have expired. */
const leaseChange = (
  env: CrossTabEnv,
  lease: Lease | null,
  wakers: Set<() => void>,
  signal: AbortSignal,
): Promise<void> =>
  new Promise<void>((wake) => {
    const untilExpiry = lease ? lease.expires - env.now() + 20 : 0
    const timer = setTimeout(done, Math.max(20, Math.min(LEASE_POLL_MS, untilExpiry)) + Math.random() * 40)
    function done(): void {
      clearTimeout(timer)
      wakers.delete(done)
      signal.removeEventListener('abort', done)
      wake()
    }
    wakers.add(done)
    signal.addEventListener('abort', done, { once: true })
  })

/** localStorage lease: written, renewed while held, released on `pagehide`; a dead tab's runs out. */
const createLease = (env: CrossTabEnv, s: StorageLike, key: string) => {
  const wakers = new Set<() => void>()
  const onStorage = (event: { key?: string | null }): void => {
    if (event.key === key) for (const wake of [...wakers]) wake()
  }
  env.target?.addEventListener('storage', onStorage)
  /** The lease, unless it is malformed or runs out later than any tab could have set (a skewed clock). */
  const read = (): Lease | null => {
    const v = readJson(s, key) as Partial<Lease> | null
    return v &&
      typeof v.owner === 'string' &&
      typeof v.expires === 'number' &&
      v.expires <= env.now() + LEASE_MS + MAX_SKEW_MS
      ? (v as Lease)
      : null
  }
  const write = (owner: string): void => {
    try {
      s.setItem(key, JSON.stringify({ owner, expires: env.now() + LEASE_MS }))
    } catch {}
  }
  const release = (owner: string): void => {
    try {
      if (read()?.owner === owner) s.removeItem(key)
    } catch {}
  }
  const take = async (owner: string): Promise<boolean> => {
    const current = read()
    if (current && current.owner !== owner && current.expires > env.now()) return false
    write(owner)
    await sleep(LEASE_SETTLE_MS)
    return read()?.owner === owner
  }
  const change = (signal: AbortSignal): Promise<void> => leaseChange(env, read(), wakers, signal)
  const hold = async (owner: string, fn: () => Promise<void>): Promise<void> => {
    const renew = setInterval(() => write(owner), RENEW_MS)
    const onPageHide = (): void => release(owner)
    env.target?.addEventListener('pagehide', onPageHide)
    try {
      await fn()
    } finally {
      clearInterval(renew)
      env.target?.removeEventListener('pagehide', onPageHide)
    }
  }
  const run: TabLock['run'] = async (signal, fn, stop) => {
    const owner = randomId()
    try {
      while (!signal.aborted && !stop()) {
        if (await take(owner)) {
          if (!signal.aborted) await hold(owner, fn)
          break
        }
        await change(signal)
      }
    } finally {
      release(owner)
    }
  }
  return {
    run,
    busy: async () => (read()?.expires ?? 0) > env.now(),
    dispose: () => {
      for (const wake of [...wakers]) wake()
      env.target?.removeEventListener('storage', onStorage)
    },
  }
}

/**
 * @example
 * const lock = createTabLock(env, 'ajax-reauth:https://app.example:oauth2-proxy', true)
 * await lock.run(signal, () => signIn(), () => false)
 */
export const createTabLock = (env: CrossTabEnv, name: string, active: boolean): TabLock => {
  const locks = active ? env.locks : undefined
  const noop = (): void => {}
  if (locks) {
    return {
      run: (signal, fn) => locks.request(name, { signal }, fn).then(noop),
      busy: async () => !!(await locks.query?.())?.held?.some((l) => l.name === name),
      dispose: noop,
    }
  }
  if (active && env.storage) return createLease(env, env.storage, `${name}:lease`)
  return { run: (_signal, fn) => fn(), busy: async () => false, dispose: noop }
}
