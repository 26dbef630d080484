import { createReauth, type Reauth } from '../../src'
import type { ReauthRequiredEvent } from '../../src/events'

type Options = NonNullable<Parameters<typeof createReauth>[0]>

/**
 * The re-login side of an adapter's unit tests (axios, ky, XHR): an SDK instance whose custom re-login
 * signs the fake session in (`'ok'`) or is refused (`'fail'`), or lasts until the test ends it
 * (`makeHeld()`, `finish()`), with the lost sessions it reported and the re-logins it ran.
 *
 * @example
 * const h = createReloginHarness()
 * afterEach(() => h.reset())
 * h.make('ok')
 */
export const createReloginHarness = (opts: { install?: boolean } = {}) => {
  let settle: ((ok: boolean) => void) | null = null
  let early: boolean | null = null
  const h = {
    reauth: undefined as unknown as Reauth,
    events: [] as ReauthRequiredEvent[],
    relogins: 0,
    /** The fake session behind the proxy: what the handlers and the probe stub read. */
    signedIn: false,
    make(relogin: 'ok' | 'fail' = 'fail', options: Options = {}): Reauth {
      const reauth = createReauth({
        crossTab: false,
        relogin: async () => {
          h.relogins++
          if (relogin === 'fail') throw new Error('re-login refused in this test')
          h.signedIn = true
        },
        ...options,
      })
      h.reauth = opts.install ? reauth.install() : reauth
      h.reauth.onReauthRequired((e) => h.events.push(e))
      return h.reauth
    },
    /** A re-login that lasts until `finish()`: the gate can be observed while it runs. */
    makeHeld(options: Options = {}): { finish: () => void } {
      h.make('ok', {
        ...options,
        relogin: () =>
          new Promise<void>((resolve, reject) => {
            h.relogins++
            settle = (ok) => {
              settle = null
              if (!ok) return reject(new Error('re-login refused in this test'))
              h.signedIn = true
              resolve()
            }
            if (early !== null) settle(early)
            early = null
          }),
      })
      return { finish: () => h.finish(true) }
    },
    /** Ends the re-login `makeHeld()` started (or the next one): true signs in, false refuses. */
    finish(ok: boolean): void {
      if (settle) settle(ok)
      else early = ok
    },
    /** For `afterEach`: ends a held re-login and forgets this test's state. */
    reset(): void {
      settle?.(true)
      early = null
      h.signedIn = false
      h.events = []
      h.relogins = 0
    },
  }
  return h
}
