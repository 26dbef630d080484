import type { CrossTabEnv } from './env'
import { randomId, readJson } from './env'

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

/**
 * How far a message's `at` may lie ahead of the receiver's clock. `clock()` is epoch time in every tab,
 * so tabs agree to within a millisecond or so, but not exactly: each tab's clock is fixed at its
 * navigation (`performance.timeOrigin`) and then runs on the monotonic clock, so a wall-clock step
 * (NTP) or a suspended machine makes tabs loaded at different times drift apart. A message dated
 * further ahead is a forgery or a broken clock: believing it would make this tab take every flight
 * for answered until that time.
 */
export const MAX_SKEW_MS = 2000

/**
 * The fields of a message of the SDK's own shape (`source`, `v: 1`) for `channel`, or null: every message
 * between tabs, iframes and popups is checked for it before anything else is read.
 *
 * @example
 * const m = ownMessage(event.data, channel)
 * if (m?.kind === 'success') …
 */
export const ownMessage = (data: unknown, channel: string): Record<string, unknown> | null => {
  if (typeof data !== 'object' || data === null) return null
  const m = data as Record<string, unknown>
  return m.source === 'ajax-reauth' && m.v === 1 && m.channel === channel ? m : null
}

const isMessage = (data: unknown, channel: string, latest: number): data is CrossTabMessage => {
  const m = ownMessage(data, channel)
  return (
    m !== null &&
    (m.kind === 'success' || m.kind === 'failure') &&
    Number.isSafeInteger(m.generation) &&
    (m.generation as number) > 0 &&
    (m.generation as number) <= latest &&
    typeof m.id === 'string' &&
    m.id.length > 0 &&
    m.id.length <= 64 &&
    typeof m.at === 'number' &&
    m.at >= 0 &&
    m.at <= latest
  )
}

/** Outcomes between the tabs of one origin: checked, sent by every transport there is, counted once. */
export interface Channel {
  /** The last generation this tab knows of (its own or another tab's). */
  readonly generation: number
  /** When (`clock()`) the last success this tab heard of happened; -Infinity if none. */
  readonly lastSuccessAt: number
  /** A generation above every one known (and at least the clock's millisecond). */
  nextGeneration(): number
  /** A generation learnt elsewhere (a flight of another copy of the SDK on this page). */
  adopt(generation: number): void
  /** Tell the other tabs (and this tab's `onOutcome` listeners); returns its generation. */
  publish(kind: CrossTabMessage['kind']): number
  /** Handle the outcome stored last as if it had just arrived (the lock grant can come before it). */
  readStored(): void
  /** Every outcome, this tab's own included. Returns the unsubscribe function. */
  onOutcome(listener: (msg: CrossTabMessage) => void): () => void
  /** Other tabs' outcomes only. Returns the unsubscribe function. */
  onRemote(listener: (msg: RemoteOutcome) => void): () => void
  dispose(): void
}

const subscribe = <T>(set: Set<T>, item: T): (() => void) => {
  set.add(item)
  return () => {
    set.delete(item)
  }
}

/** The `storage` event of another tab's outcome, parsed; undefined for anything else. */
const storedMessage = (
  event: { key?: string | null; newValue?: string | null; url?: string },
  key: string,
  origin: string,
): unknown => {
  if (event.key !== key || !event.newValue) return undefined
  try {
    if (event.url && new URL(event.url).origin !== origin) return undefined
    return JSON.parse(event.newValue)
  } catch {
    return undefined
  }
}

/**
 * BroadcastChannel, and a localStorage key (its `storage` events) where the page has one: every message
 * goes by both, and `receive` hears each arrival (the channel counts a message once).
 */
const openTransports = (
  env: CrossTabEnv,
  opts: { name: string; origin: string; active: boolean },
  key: string,
  receive: (data: unknown, from?: string) => void,
) => {
  const storage = opts.active ? env.storage : undefined
  let bc: InstanceType<NonNullable<CrossTabEnv['BroadcastChannel']>> | null = null
  if (opts.active && env.BroadcastChannel) {
    try {
      bc = new env.BroadcastChannel(opts.name)
      bc.onmessage = (event) => receive(event.data, event.origin)
    } catch {
      bc = null
    }
  }
  const onStorage = (event: { key?: string | null; newValue?: string | null; url?: string }): void => {
    const data = storedMessage(event, key, opts.origin)
    if (data !== undefined) receive(data)
  }
  if (storage) env.target?.addEventListener('storage', onStorage)
  return {
    /** The message stored last, or null. */
    read: (): unknown => (storage ? readJson(storage, key) : null),
    post: (msg: CrossTabMessage): void => {
      try {
        bc?.postMessage(msg)
      } catch {}
      try {
        storage?.setItem(key, JSON.stringify(msg))
      } catch {}
    },
    close: (): void => {
      env.target?.removeEventListener('storage', onStorage)
      if (bc) {
        bc.onmessage = null
        bc.close()
        bc = null
      }
    },
  }
}

/**
 * @example
 * const channel = createChannel(env, { name: 'ajax-reauth:https://app.example:oauth2-proxy', origin, active: true })
 * channel.onRemote(({ kind }) => console.log(kind))
 */
export const createChannel = (
  env: CrossTabEnv,
  opts: { name: string; origin: string; active: boolean },
): Channel => {
  const { name, origin } = opts
  const key = `${name}:msg`
  let generation = 0
  let lastSuccessAt = -Infinity
  let disposed = false
  const seen: string[] = []
  const outcomes = new Set<(msg: CrossTabMessage) => void>()
  const remotes = new Set<(msg: RemoteOutcome) => void>()

  const note = (msg: CrossTabMessage): boolean => {
    if (seen.includes(msg.id)) return false
    seen.push(msg.id)
    if (seen.length > 32) seen.shift()
    generation = Math.max(generation, msg.generation)
    if (msg.kind === 'success') lastSuccessAt = Math.max(lastSuccessAt, msg.at)
    return true
  }
  const receive = (data: unknown, from?: string): void => {
    const now = env.now()
    if (disposed || !isMessage(data, name, now + MAX_SKEW_MS)) return
    if (from && from !== origin) return
    // A sender whose clock runs a little ahead: its outcome happened by the time it arrived here.
    const msg: CrossTabMessage = { ...data, at: Math.min(data.at, now) }
    if (!note(msg)) return
    for (const listener of [...outcomes]) listener(msg)
    for (const listener of [...remotes]) listener({ kind: msg.kind, generation: msg.generation })
  }

  const transports = openTransports(env, opts, key, receive)

  const nextGeneration = (): number => {
    generation = Math.max(generation + 1, Math.floor(env.now()))
    return generation
  }
  const publish = (kind: CrossTabMessage['kind']): number => {
    const msg: CrossTabMessage = {
      source: 'ajax-reauth',
      v: 1,
      kind,
      generation: nextGeneration(),
      channel: name,
      id: randomId(),
      at: env.now(),
    }
    note(msg)
    transports.post(msg) // (inactive: none to post by)
    for (const listener of [...outcomes]) listener(msg)
    return msg.generation
  }

  return {
    get generation() {
      return generation
    },
    get lastSuccessAt() {
      return lastSuccessAt
    },
    nextGeneration,
    adopt: (g) => {
      generation = Math.max(generation, g)
    },
    publish,
    readStored: () => receive(transports.read()),
    onOutcome: (listener) => subscribe(outcomes, listener),
    onRemote: (listener) => subscribe(remotes, listener),
    dispose: () => {
      disposed = true
      remotes.clear()
      outcomes.clear()
      transports.close()
    },
  }
}
