import type { FetchLike, SessionProbe } from '../core/probe'
import { ReauthError } from '../errors'
import type { NormalizedOptions, ReloginStrategy } from '../options'
import { InteractionRequiredError, prepareRelogin, type Strategy } from '../relogin'
import type { ProxyProfile } from '../types'
import { waitFor } from './wait'

export interface AttemptDeps {
  options: Pick<NormalizedOptions, 'callbackPath' | 'reloginTimeoutMs' | 'interactiveTimeoutMs'>
  profile: ProxyProfile
  probe: SessionProbe
  baseFetch: () => FetchLike
  scope: { readonly origin: string }
  /** Resolves once the requests on the wire (every tab's) have landed, or after a bound. */
  quiet: () => Promise<void>
}

/** One re-login attempt: what a flight asks for. */
export interface AttemptSpec {
  error: Error
  relogin: ReloginStrategy
  strategy: Strategy
  /** The blank popup `start()` opened in the click, for the popup strategy to navigate. */
  popup: Window | null
  /** Told the re-login URL before the strategy runs: its own requests never wait at the gate. */
  onUrl: (url: string) => void
  /** Told when the strategy starts (true) and ends (false). */
  onStrategy?: ((running: boolean) => void) | undefined
}

/** A re-login with its timeout; the cross-tab leader runs it, other tabs only wait for its outcome. */
export interface Attempt {
  /** Aborted when the timeout runs out or `abort()` is called. */
  readonly signal: AbortSignal
  abort(reason: unknown): void
  /** Run the re-login in this tab (the proxy's refresh, the strategy, the probe that confirms it). */
  run(signal: AbortSignal): Promise<void>
  /** The flight is over: the timer goes. */
  end(): void
}

/** The proxy's page-less refresh (Easy Auth's /.auth/refresh): true when the probe then finds a session. */
const refreshed = async (deps: AttemptDeps, signal: AbortSignal): Promise<boolean> => {
  const { profile, scope } = deps
  if (!profile.refreshPath || !scope.origin) return false
  const ok = await deps
    .baseFetch()(scope.origin + profile.refreshPath, {
      credentials: 'same-origin',
      redirect: 'manual',
      signal,
    })
    .then((r) => r.ok)
    .catch(() => false)
  return ok && (await deps.probe()) === 'signed-in'
}

/** The page-less refresh, then the strategy; the probe confirms. */
const reloginOnce = async (deps: AttemptDeps, spec: AttemptSpec, signal: AbortSignal): Promise<void> => {
  const { profile, probe, options, scope } = deps
  if (await refreshed(deps, signal)) return
  const target = prepareRelogin(
    { relogin: spec.relogin, profile, callbackPath: options.callbackPath },
    scope.origin,
  )
  spec.onUrl(target.url)
  // A late answer to a request sent with the old cookie clears the new one (oauth2-proxy clears a bad
  // session cookie on every answer): let the requests on the wire land first, and run the strategy a
  // second time if another tab's late answer still wiped the fresh session.
  await waitFor(deps.quiet(), signal)
  for (let attempt = 1; ; attempt++) {
    spec.onStrategy?.(true)
    await spec
      .strategy({ signal, error: spec.error, probe, fetch: deps.baseFetch(), popup: spec.popup, ...target })
      .finally(() => spec.onStrategy?.(false))
    signal.throwIfAborted()
    // A profile without a probe trusts its strategy; otherwise only "signed in" proves a re-login.
    const result = profile.probe ? await probe() : 'signed-in'
    if (result === 'signed-in') return
    if (result === 'unknown') throw new ReauthError('re-login done, but the session probe gave no answer')
    if (attempt === 2) throw new ReauthError('re-login done, but the session probe still finds no session')
  }
}

/**
 * @example
 * const attempt = createAttempt(deps, { error, relogin: 'iframe', strategy, popup: null, onUrl })
 * try { await tabs.flight((signal) => attempt.run(signal), attempt.signal) } finally { attempt.end() }
 */
export const createAttempt = (deps: AttemptDeps, spec: AttemptSpec): Attempt => {
  const controller = new AbortController()
  // A popup is the user's: they type a password, do MFA, and end it themselves (signed in, or the popup
  // closed); only `interactiveTimeoutMs` bounds it, and then the app may offer `start()` again. Every
  // other strategy runs silently within `reloginTimeoutMs`.
  const interactive = spec.relogin === 'popup'
  const ms = interactive ? deps.options.interactiveTimeoutMs : deps.options.reloginTimeoutMs
  const timer = setTimeout(() => {
    const timedOut = new ReauthError(`re-login timed out after ${ms} ms`)
    controller.abort(interactive ? new InteractionRequiredError('timeout', { cause: timedOut }) : timedOut)
  }, ms)
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    run: (signal) => reloginOnce(deps, spec, signal),
    end: () => clearTimeout(timer),
  }
}
