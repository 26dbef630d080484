// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCoordinator } from '../src/coordinator'
import { createEmitter, type InteractionRequiredEvent } from '../src/events'
import { normalizeOptions, type ReauthOptions } from '../src/options'
import { InteractionRequiredError } from '../src/relogin'

/** A popup window as the SDK sees it: on the provider's origin (unreadable) until the user is done. */
const fakePopup = () => {
  const popup = {
    closed: false,
    close: vi.fn(() => {
      popup.closed = true
    }),
  }
  Object.defineProperty(popup, 'location', {
    configurable: true,
    get: () => ({
      set href(_url: string) {},
      get href(): string {
        throw new DOMException('cross-origin', 'SecurityError')
      },
    }),
  })
  const landOn = (href: string): void => {
    Object.defineProperty(popup, 'location', { configurable: true, value: { href } })
  }
  return { popup, landOn }
}

/**
 * A coordinator whose silent re-login needs the user (the provider shows its form): the app gets
 * `reauth:interaction-required` and its `start()`, which opens the popup the user drives.
 */
const setup = async (options: ReauthOptions) => {
  let signedIn = false
  const emitter = createEmitter()
  const normalized = normalizeOptions({ crossTab: false, ...options })
  const coordinator = createCoordinator({
    options: normalized,
    emitter,
    profile: normalized.profile,
    probe: async () => (signedIn ? 'signed-in' : 'signed-out'),
    baseFetch: () => fetch,
    scope: { origin: location.origin },
    strategy: async () => {
      throw new InteractionRequiredError('frame-blocked')
    },
  })
  const interactions: InteractionRequiredEvent[] = []
  emitter.on('reauth:interaction-required', (e) => interactions.push(e))
  await coordinator.relogin().catch(() => {})
  expect(interactions.map((e) => e.reason)).toEqual(['frame-blocked'])
  const { popup, landOn } = fakePopup()
  vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window)
  let outcome: 'pending' | 'ok' | Error = 'pending'
  // The app's click handler.
  interactions[0]!.start().then(
    () => (outcome = 'ok'),
    (e: Error) => (outcome = e),
  )
  return {
    coordinator,
    popup,
    interactions,
    outcome: () => outcome,
    /** The user finishes at the provider: the proxy's callback sets the cookie, the popup lands. */
    signIn: () => {
      signedIn = true
      landOn(`${location.origin}/app/`)
    },
  }
}

beforeEach(() => {
  vi.useFakeTimers()
  Object.defineProperty(navigator, 'userActivation', { configurable: true, value: { isActive: true } })
})
afterEach(() => {
  delete (navigator as { userActivation?: unknown }).userActivation
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('a re-login the user drives (the popup of start())', () => {
  it('is not cut by reloginTimeoutMs: it ends when the user has signed in', async () => {
    const s = await setup({ reloginTimeoutMs: 1_000 })
    expect(window.open).toHaveBeenCalledTimes(1)
    // Typing a password, doing MFA: well past the silent path's timeout.
    await vi.advanceTimersByTimeAsync(30_000)
    expect(s.outcome()).toBe('pending')
    expect(s.popup.close).not.toHaveBeenCalled()
    expect(s.coordinator.state).toBe('reauthenticating')
    s.signIn()
    await vi.advanceTimersByTimeAsync(200)
    expect(s.outcome()).toBe('ok')
    expect(s.popup.close).toHaveBeenCalledTimes(1)
    expect(s.coordinator.state).toBe('idle')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('ends when the user closes the popup, long after reloginTimeoutMs', async () => {
    const s = await setup({ reloginTimeoutMs: 1_000 })
    await vi.advanceTimersByTimeAsync(60_000)
    s.popup.closed = true
    await vi.advanceTimersByTimeAsync(300)
    expect(s.outcome()).toMatchObject({ name: 'InteractionRequiredError', reason: 'popup-closed' })
    expect(s.coordinator.state).toBe('idle')
  })

  it('interactiveTimeoutMs bounds it: the popup closes, start() rejects (timeout), start() is offered again', async () => {
    const s = await setup({ reloginTimeoutMs: 1_000, interactiveTimeoutMs: 120_000 })
    await vi.advanceTimersByTimeAsync(119_000)
    expect(s.outcome()).toBe('pending')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(s.outcome()).toMatchObject({ name: 'InteractionRequiredError', reason: 'timeout' })
    expect(s.popup.close).toHaveBeenCalledTimes(1)
    expect(s.interactions.map((e) => e.reason)).toEqual(['frame-blocked', 'timeout'])
    expect(s.coordinator.state).toBe('idle')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('the default bound is minutes: 10', async () => {
    const s = await setup({})
    await vi.advanceTimersByTimeAsync(599_000)
    expect(s.outcome()).toBe('pending')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(s.outcome()).toMatchObject({ reason: 'timeout' })
  })
})

describe("relogin: 'popup'", () => {
  it("a popup opened for the loss itself (in a click) is the user's too: not cut by reloginTimeoutMs", async () => {
    let signedIn = false
    const options = normalizeOptions({ crossTab: false, relogin: 'popup', reloginTimeoutMs: 1_000 })
    const coordinator = createCoordinator({
      options,
      emitter: createEmitter(),
      profile: options.profile,
      probe: async () => (signedIn ? 'signed-in' : 'signed-out'),
      baseFetch: () => fetch,
      scope: { origin: location.origin },
    })
    const { popup, landOn } = fakePopup()
    vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window)
    let outcome: unknown = 'pending'
    coordinator.relogin().then(
      () => (outcome = 'ok'),
      (e: unknown) => (outcome = e),
    )
    await vi.advanceTimersByTimeAsync(30_000)
    expect(window.open).toHaveBeenCalledWith(
      expect.stringContaining('/oauth2/start'),
      'ajax-reauth',
      expect.any(String),
    )
    expect(outcome).toBe('pending')
    signedIn = true
    landOn(`${location.origin}/app/`)
    await vi.advanceTimersByTimeAsync(200)
    expect(outcome).toBe('ok')
    expect(popup.close).toHaveBeenCalledTimes(1)
  })
})

describe('a silent re-login', () => {
  it('is still cut by reloginTimeoutMs', async () => {
    const emitter = createEmitter()
    const options = normalizeOptions({ crossTab: false, reloginTimeoutMs: 1_000 })
    const coordinator = createCoordinator({
      options,
      emitter,
      profile: options.profile,
      probe: async () => 'signed-out',
      baseFetch: () => fetch,
      scope: { origin: location.origin },
      strategy: ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })
    const flight = coordinator.relogin().catch((e: Error) => e)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await flight).toMatchObject({ name: 'ReauthError', message: 're-login timed out after 1000 ms' })
  })
})
