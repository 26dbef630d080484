import { clock } from '../clock'
import type { LockManagerLike } from './lock'

type Listener = (event: any) => void
export interface EventTargetLike {
  addEventListener(type: string, listener: Listener): void
  removeEventListener(type: string, listener: Listener): void
}
export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>
export interface ChannelLike {
  postMessage(message: unknown): void
  close(): void
  onmessage: ((event: MessageEvent) => void) | null
}

/** The browser APIs cross-tab coordination uses; tests pass fakes (two "tabs" in one process). */
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

/** The page's `localStorage`, or undefined: reading it throws in some privacy modes and sandboxed frames. */
export const pageStorage = (): StorageLike | undefined => {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage
  } catch {
    return undefined
  }
}

/** The page's own APIs. */
export const globalEnv = (): CrossTabEnv => {
  const g = globalThis as {
    window?: EventTargetLike
    navigator?: { locks?: LockManagerLike }
    BroadcastChannel?: new (name: string) => ChannelLike
  }
  return {
    locks: g.navigator?.locks,
    BroadcastChannel: g.BroadcastChannel,
    storage: pageStorage(),
    target: g.window,
    // Sub-millisecond and comparable across tabs: a flight that starts in the same millisecond as the
    // previous success must not be taken for one that success already answered.
    now: clock,
    page: globalThis,
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export const randomId = (): string =>
  typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`

/** The JSON stored under `key`; null when there is none, or it does not parse, or storage throws. */
export const readJson = (storage: Pick<StorageLike, 'getItem'>, key: string): unknown => {
  try {
    const raw = storage.getItem(key)
    return raw ? JSON.parse(raw) : null
  } catch {
    return null
  }
}
