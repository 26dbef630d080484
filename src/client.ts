import { createFetchAdapter } from './adapters/fetch'
import { installXhr } from './adapters/xhr'
import { createCoordinator, type ReauthState } from './coordinator'
import { createEngine, type Engine } from './core/engine'
import type { FetchLike } from './core/probe'
import { createEmitter, type ReauthEvents, type ReauthRequiredEvent } from './events'
import { attachEngine } from './internal'
import { normalizeOptions, type ReauthOptions } from './options'
import { applyPatch, unwrap } from './patch'
import type { ProbeResult } from './types'
import { createWake } from './wake'

type Handler<K extends keyof ReauthEvents> = (event: ReauthEvents[K]) => void

/** An SDK instance: patches on demand, emits typed events, coordinates re-login. */
export interface Reauth {
  /** Patch `globalThis.fetch` and `XMLHttpRequest`. Idempotent. */
  install(): Reauth
  /**
   * Undo `install()`; rejects every request held for a re-login. Puts back the exact property
   * `install()` replaced, unless another library (Sentry, msw) has wrapped it since: that wrapper stays,
   * and the SDK's layer under it, like any reference to it the app kept, passes every call straight through.
   */
  uninstall(): Reauth
  /** Whether `install()` is in effect. */
  readonly installed: boolean
  /** A fetch with the SDK in front that patches nothing. */
  readonly fetch: typeof fetch
  /**
   * Subscribe to lost sessions, once per episode; returns the unsubscribe function. The documented
   * alias of `on('reauth:required', callback)`, kept as the one-line headline API.
   *
   * @example
   * reauth.onReauthRequired(({ reason }) => showBanner('Signing you in again…', reason))
   */
  onReauthRequired(callback: (event: ReauthRequiredEvent) => void): () => void
  /** Subscribe to an event; returns the unsubscribe function. */
  on<K extends keyof ReauthEvents>(type: K, handler: Handler<K>): () => void
  off<K extends keyof ReauthEvents>(type: K, handler: Handler<K>): void
  /** Run a re-login now (joins one in progress). */
  relogin(): Promise<void>
  /**
   * The wake-up check on demand (after a long-running modal, on a route change to a protected area):
   * one session probe (shared with other tabs' checks of the last seconds), in-scope requests held
   * meanwhile (`wake.holdMs`, 1500 ms by default). Resolves with what the probe found: `'signed-in'`,
   * `'unknown'` (no answer: nothing happens), or `'signed-out'`: the re-login has started then
   * (`reauth:required` with reason `'session-check'`), and requests made meanwhile wait for it. During a
   * re-login it probes nothing and resolves once that ends: `'signed-in'` if it succeeded.
   *
   * @example
   * router.beforeEach(async () => { if ((await reauth.check()) === 'signed-out') showBanner() })
   */
  check(): Promise<ProbeResult>
  /** `'idle' | 'reauthenticating' | 'circuit-open'` */
  readonly state: ReauthState
}

/**
 * Patch `fetch` and `XMLHttpRequest` for `engine`; the restores, last in first out (null outside a
 * browser: nothing patched). `setOriginal` learns what the fetch patch replaced, and null once restored.
 */
const patchGlobals = (
  engine: Engine,
  owner: Reauth,
  setOriginal: (fetch: FetchLike | null) => void,
): (() => void)[] | null => {
  const g = globalThis as { window?: unknown; fetch?: unknown }
  if (typeof g.window === 'undefined' || typeof g.fetch !== 'function') {
    console.warn('[ajax-reauth] install() is a no-op outside a browser (no window or fetch)')
    return null
  }
  // What the patches see: the engine, with nothing in scope once this install is undone. A wrapper
  // installed on top of ours (or a reference the app kept) still calls ours: it must pass through.
  let active = true
  const scope = Object.create(engine.scope, {
    test: { value: (url: string) => active && engine.scope.test(url) },
  }) as Engine['scope']
  const patched = Object.create(engine, { scope: { value: scope } }) as Engine
  const applied: (() => void)[] = [
    () => {
      active = false
    },
  ]
  try {
    applied.push(
      applyPatch<typeof fetch>(globalThis, 'fetch', owner, (native) => {
        const own = native.bind(globalThis)
        setOriginal(own)
        // Bound to what it replaced, not looked up: after uninstall() a later wrapper may be
        // `globalThis.fetch`, and it calls this one.
        return createFetchAdapter(patched, () => own)
      }),
      () => setOriginal(null),
    )
    const restoreXhr = installXhr(patched, owner, applyPatch)
    if (restoreXhr) applied.push(restoreXhr)
  } catch (error) {
    for (const restore of applied.reverse()) restore()
    throw error
  }
  return applied
}

/**
 * Create an SDK instance. Nothing is patched until `install()`.
 *
 * @example
 * const reauth = createReauth().install() // oauth2-proxy; createReauth({ proxy: pomerium() }) for another
 * reauth.onReauthRequired(({ reason }) => console.warn('session ended:', reason))
 */
export const createReauth = (options?: ReauthOptions): Reauth => {
  const normalized = normalizeOptions(options)
  const emitter = createEmitter()
  // While installed, the SDK's own calls go to what install() replaced, never through later wrappers
  // (Sentry, msw) that would call back into the patch.
  let original: FetchLike | null = null
  const engine = createEngine({
    options: normalized,
    emitter,
    baseFetch: () => original ?? unwrap(globalThis.fetch).bind(globalThis),
    coordinator: (core) => createCoordinator({ ...core, options: normalized, emitter }),
  })
  const wake = createWake({
    options: normalized,
    coordinator: engine.coordinator,
    probe: engine.probe,
    channel: `ajax-reauth:${engine.scope.origin}:${engine.profile.name}`,
  })
  // Also without install(): an app on reauth.axios() or kyHooks alone gets the check too.
  wake.start()
  let restores: (() => void)[] = []
  const on: Reauth['on'] = (type, handler) => {
    emitter.on(type, handler)
    return () => emitter.off(type, handler)
  }

  const reauth: Reauth = {
    fetch: createFetchAdapter(engine),
    get installed() {
      return restores.length > 0
    },
    get state() {
      return engine.coordinator.state
    },
    install() {
      wake.start()
      if (!restores.length)
        restores =
          patchGlobals(engine, reauth, (fetch) => {
            original = fetch
          }) ?? []
      return reauth
    },
    uninstall() {
      wake.stop()
      engine.coordinator.dispose()
      const pending = restores
      restores = []
      // Last in, first out.
      for (const restore of pending.reverse()) restore()
      return reauth
    },
    onReauthRequired: (callback) => on('reauth:required', callback),
    on,
    off(type, handler) {
      emitter.off(type, handler)
    },
    relogin: () => engine.coordinator.relogin(),
    check: () => wake.check(),
  }
  attachEngine(reauth, engine)
  return reauth
}
