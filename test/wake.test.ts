import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import { authRequiredReason, isReauthConfigError } from '../src/errors'
import { engineOf } from '../src/internal'
import type { ReauthOptions } from '../src/options'
import type { ProbeResult } from '../src/types'
import { createWake, FRESH_MS, type WakeDeps, type WakeEnv } from '../src/wake'
import { ORIGIN, stubPage } from './helpers/page'

let session: 'valid' | 'gone' = 'valid'
let probeAnswer: 'session' | 500 = 'session'
let probeDelayMs = 0
/** What reached the "proxy", in order: `probe:<status>` and `api:<name>`. */
let log: string[] = []
const server = setupServer(
  http.get(`${ORIGIN}/oauth2/auth`, async () => {
    const delay = probeDelayMs
    if (delay) await new Promise((r) => setTimeout(r, delay))
    const status = probeAnswer === 500 ? 500 : session === 'valid' ? 202 : 401
    log.push(`probe:${status}`)
    return new HttpResponse(null, { status })
  }),
  http.all(`${ORIGIN}/api/:name`, ({ params }) => {
    log.push(`api:${String(params.name)}${session === 'gone' ? ':dead' : ''}`)
    if (session === 'gone') return HttpResponse.json({}, { status: 401 })
    return HttpResponse.json({ name: String(params.name) })
  }),
)

const doc = { visibilityState: 'visible' as 'visible' | 'hidden', cookie: '' }
const MINUTE = 60_000

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  vi.stubGlobal('document', doc)
  doc.visibilityState = 'visible'
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('ajax-reauth.wake.v1')]
  vi.useFakeTimers({ toFake: ['Date'] })
  session = 'valid'
  probeAnswer = 'session'
  probeDelayMs = 0
  log = []
})
const made: Reauth[] = []
afterEach(() => {
  vi.restoreAllMocks()
  for (const r of made.splice(0)) r.uninstall()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

const probes = (): number => log.filter((l) => l.startsWith('probe')).length
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))
const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !check(); i++) await wait(5)
  expect(check()).toBe(true)
}

interface Tab {
  reauth: Reauth
  relogins: number
  required: string[]
  /** The `url` of each `reauth:required`. */
  requiredUrls: string[]
  finish(ok: boolean): void
}

/** An SDK instance whose re-login waits for finish(). */
const tab = (options: ReauthOptions = {}): Tab => {
  const t: Tab = {
    relogins: 0,
    required: [],
    requiredUrls: [],
    finish: () => {},
    reauth: undefined as unknown as Reauth,
  }
  t.reauth = createReauth({
    crossTab: false,
    wake: { afterMs: 5 * MINUTE, holdMs: 1000 },
    relogin: ({ signal }) =>
      new Promise<void>((resolve, reject) => {
        t.relogins++
        signal.addEventListener('abort', () => reject(signal.reason))
        t.finish = (ok) => {
          if (ok) {
            session = 'valid'
            resolve()
          } else reject(new Error('provider said no'))
        }
      }),
    ...options,
  })
  t.reauth.onReauthRequired(({ reason, url }) => {
    t.required.push(reason)
    t.requiredUrls.push(url)
  })
  made.push(t.reauth)
  return t
}

const setVisibility = (state: 'visible' | 'hidden'): void => {
  doc.visibilityState = state
  dispatchEvent(new Event('visibilitychange'))
}
/** Hidden for `ms` (wall clock), then visible again. */
const away = (ms: number): void => {
  setVisibility('hidden')
  vi.setSystemTime(Date.now() + ms)
  setVisibility('visible')
}
/** The app's refetch-on-focus: `n` requests in the same task as the trigger. */
const refetch = (reauth: Reauth, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      reauth.fetch(`/api/r${i}`).then(async (r) => (r.ok ? (await r.json()).name : authRequiredReason(r))),
    ),
  )

describe('wake-up check: when it runs', () => {
  it('a short absence (under afterMs) does nothing: no probe, requests go out at once', async () => {
    const t = tab()
    away(5 * MINUTE - 1000)
    expect(await refetch(t.reauth, 3)).toEqual(['r0', 'r1', 'r2'])
    expect(log).toEqual(['api:r0', 'api:r1', 'api:r2'])
    expect(engineOf(t.reauth).coordinator.gated).toBe(false)
  })

  it('a long absence with a live session: one probe, the refetches wait for it and go out after', async () => {
    const t = tab()
    probeDelayMs = 50
    away(5 * MINUTE)
    expect(engineOf(t.reauth).coordinator.gated).toBe(true)
    expect(await refetch(t.reauth, 5)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4'])
    expect(log[0]).toBe('probe:202')
    expect(probes()).toBe(1)
    expect(log.slice(1).every((l) => l.startsWith('api:') && !l.endsWith(':dead'))).toBe(true)
    expect(t.relogins).toBe(0)
    expect(t.required).toEqual([])
  })

  it('a long absence with a dead session: one re-login before any request reaches the proxy, all get their data', async () => {
    const t = tab()
    session = 'gone'
    away(6 * MINUTE)
    const all = refetch(t.reauth, 50)
    await until(() => t.relogins === 1)
    await wait(20)
    expect(log).toEqual(['probe:401'])
    expect(t.reauth.state).toBe('reauthenticating')
    t.finish(true)
    expect(await all).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`))
    expect(t.relogins).toBe(1)
    // once per episode, with the check's reason, and the page's URL: no request of the app's failed
    expect(t.required).toEqual(['session-check'])
    expect(t.requiredUrls).toEqual([location.href])
    expect(log.filter((l) => l.endsWith(':dead'))).toEqual([])
  })

  it('a dead session whose re-login fails: the held requests end as the gate ends them (the 401 with the reason)', async () => {
    const t = tab()
    session = 'gone'
    away(6 * MINUTE)
    const all = refetch(t.reauth, 3)
    await until(() => t.relogins === 1)
    t.finish(false)
    expect(await all).toEqual(['session-check', 'session-check', 'session-check'])
    expect(log.filter((l) => l.startsWith('api:'))).toEqual([])
  })

  it('the hold is bounded: a slow probe lets the requests go after holdMs; its "signed out" still starts the re-login', async () => {
    const t = tab({ wake: { afterMs: MINUTE, holdMs: 100 } })
    probeDelayMs = 300
    session = 'gone'
    away(MINUTE)
    const t0 = performance.now()
    const early = t.reauth.fetch('/api/early')
    await until(() => log.includes('api:early:dead'))
    // it went out after the hold, before the probe answered
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90)
    expect(probes()).toBe(0)
    // its 401 started the re-login; the probe's "signed out" joins it and reports nothing more
    await until(() => t.relogins === 1 && probes() === 1)
    t.finish(true)
    expect((await early).status).toBe(200)
    expect(t.relogins).toBe(1)
    expect(t.required).toEqual(['unauthorized'])
  }, 10_000)

  it('a slow probe\'s "signed out" starts the re-login by itself after the hold ended', async () => {
    const t = tab({ wake: { afterMs: MINUTE, holdMs: 50 } })
    probeDelayMs = 200
    session = 'gone'
    away(MINUTE)
    await wait(100)
    expect(engineOf(t.reauth).coordinator.gated).toBe(false)
    await until(() => t.relogins === 1)
    expect(t.required).toEqual(['session-check'])
    t.finish(true)
  }, 10_000)

  it('the hold is bounded even when the probe never answers in time (requests never hang)', async () => {
    const t = tab({ wake: { afterMs: MINUTE, holdMs: 80 } })
    probeDelayMs = 1000
    away(MINUTE)
    const t0 = performance.now()
    expect(await refetch(t.reauth, 2)).toEqual(['r0', 'r1'])
    expect(performance.now() - t0).toBeLessThan(900)
    expect(log.slice(0, 2)).toEqual(['api:r0', 'api:r1'])
    await until(() => probes() === 1)
    expect(t.relogins).toBe(0)
  }, 10_000)

  it('a probe without an answer (500) releases the requests and starts nothing', async () => {
    const t = tab()
    probeAnswer = 500
    away(10 * MINUTE)
    expect(await refetch(t.reauth, 2)).toEqual(['r0', 'r1'])
    expect(log[0]).toBe('probe:500')
    expect(t.relogins).toBe(0)
    expect(t.required).toEqual([])
  })

  it("the app's AbortSignal still aborts a request held by the check", async () => {
    const t = tab()
    probeDelayMs = 300
    away(10 * MINUTE)
    const ctrl = new AbortController()
    const held = t.reauth.fetch('/api/held', { signal: ctrl.signal })
    setTimeout(() => ctrl.abort(), 20)
    await expect(held).rejects.toMatchObject({ name: 'AbortError' })
    expect(log).toEqual([])
  })

  it('`online` checks (once for triggers of the same moment)', async () => {
    const t = tab()
    probeDelayMs = 20
    dispatchEvent(new Event('online'))
    dispatchEvent(new Event('online'))
    expect(await refetch(t.reauth, 1)).toEqual(['r0'])
    expect(log).toEqual(['probe:202', 'api:r0'])
  })

  it('`pageshow` with `persisted` after a long absence checks; a fresh load or a short one does not', async () => {
    const t = tab()
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }))
    await wait(20)
    expect(probes()).toBe(0)
    // into the back/forward cache for a moment: pagehide, pageshow
    dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }))
    vi.setSystemTime(Date.now() + 1000)
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
    await wait(20)
    expect(probes()).toBe(0)
    dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }))
    vi.setSystemTime(Date.now() + 30 * MINUTE)
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
    expect(engineOf(t.reauth).coordinator.gated).toBe(true)
    await until(() => probes() === 1)
    // a restore whose visibilitychange already judged the return is not checked twice
    away(30 * MINUTE)
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
    await until(() => probes() === 2)
    await wait(30)
    expect(probes()).toBe(2)
  })

  it('no probe while a re-login runs: its success answers the check', async () => {
    const t = tab()
    session = 'gone'
    const lost = t.reauth.fetch('/api/lost')
    await until(() => t.relogins === 1)
    const probesBefore = probes()
    away(10 * MINUTE)
    const checked = t.reauth.check()
    await wait(30)
    expect(probes()).toBe(probesBefore)
    t.finish(true)
    expect(await checked).toBe('signed-in')
    expect((await lost).status).toBe(200)
    // the only probe after the flight is its own confirmation
    expect(probes()).toBe(probesBefore + 1)
    expect(t.relogins).toBe(1)
  })

  it('`wake: false` turns the triggers off; `check()` still works', async () => {
    const t = tab({ wake: false })
    away(60 * MINUTE)
    dispatchEvent(new Event('online'))
    expect(await refetch(t.reauth, 1)).toEqual(['r0'])
    expect(log).toEqual(['api:r0'])
    expect(await t.reauth.check()).toBe('signed-in')
    expect(probes()).toBe(1)
  })

  it('uninstall() stops listening', async () => {
    const t = tab()
    t.reauth.uninstall()
    away(60 * MINUTE)
    await wait(20)
    expect(probes()).toBe(0)
    t.reauth.install()
    away(60 * MINUTE)
    await until(() => probes() === 1)
  })

  it('a page hidden when the SDK starts counts its absence from then', async () => {
    doc.visibilityState = 'hidden'
    tab()
    vi.setSystemTime(Date.now() + 10 * MINUTE)
    setVisibility('visible')
    await until(() => probes() === 1)
  })
})

/** Move both clocks: the wall clock (absences) and `clock()` (the age of a probe's answer). */
const realPerfNow = performance.now.bind(performance)
let perfOffset = 0
const later = (ms: number): void => {
  perfOffset += ms
  vi.spyOn(performance, 'now').mockImplementation(() => realPerfNow() + perfOffset)
  vi.setSystemTime(Date.now() + ms)
}

describe('reauth.check()', () => {
  it("resolves 'signed-in', 'unknown' or 'signed-out' (and then the re-login has started)", async () => {
    const t = tab()
    expect(await t.reauth.check()).toBe('signed-in')
    probeAnswer = 500
    later(FRESH_MS + 1)
    expect(await t.reauth.check()).toBe('unknown')
    probeAnswer = 'session'
    session = 'gone'
    later(FRESH_MS + 1)
    expect(await t.reauth.check()).toBe('signed-out')
    expect(t.reauth.state).toBe('reauthenticating')
    const held = t.reauth.fetch('/api/after')
    await until(() => t.relogins === 1)
    t.finish(true)
    expect((await held).status).toBe(200)
    expect(t.required).toEqual(['session-check'])
    expect(log.filter((l) => l.endsWith(':dead'))).toEqual([])
  })

  it('an answer of the last seconds is reused: two checks in a row cost one probe', async () => {
    const t = tab()
    expect(await t.reauth.check()).toBe('signed-in')
    expect(await t.reauth.check()).toBe('signed-in')
    expect(probes()).toBe(1)
    later(FRESH_MS + 1)
    expect(await t.reauth.check()).toBe('signed-in')
    expect(probes()).toBe(2)
  })

  it('a probe from before the page went away does not answer its return', async () => {
    const t = tab()
    expect(await t.reauth.check()).toBe('signed-in')
    setVisibility('hidden')
    later(10 * MINUTE)
    session = 'gone'
    setVisibility('visible')
    await until(() => t.relogins === 1)
    expect(probes()).toBe(2)
    t.finish(true)
  })

  it('two SDK instances on one page: one probe per wake', async () => {
    const a = tab()
    const b = tab()
    probeDelayMs = 30
    away(10 * MINUTE)
    const [ra, rb] = await Promise.all([refetch(a.reauth, 2), refetch(b.reauth, 2)])
    expect([ra, rb]).toEqual([
      ['r0', 'r1'],
      ['r0', 'r1'],
    ])
    expect(probes()).toBe(1)
    expect(log[0]).toBe('probe:202')
  })
})

describe('environments without events', () => {
  it('a window without addEventListener (a stub, a vm context): createReauth works, no check runs', () => {
    vi.stubGlobal('window', { location: globalThis.location })
    const reauth = createReauth({ crossTab: false })
    expect(reauth.state).toBe('idle')
    reauth.uninstall()
  })
})

describe('options', () => {
  it('validates wake in the rule table', () => {
    const bad = (wake: unknown): string => {
      try {
        createReauth({ wake } as ReauthOptions)
      } catch (error) {
        expect(isReauthConfigError(error)).toBe(true)
        return (error as Error).message
      }
      throw new Error('accepted')
    }
    expect(bad({ holdMs: 30_001 })).toContain('wake.holdMs: expected an integer from 0 to 30000, got 30001')
    expect(bad({ afterMs: -1 })).toContain('wake.afterMs: expected an integer from 0 to 2147483647, got -1')
    expect(bad({ after: 1 })).toContain('wake.after: unknown option, got 1')
    expect(bad('soon')).toContain("wake: expected a boolean or an object { afterMs?, holdMs? }, got 'soon'")
    expect(() => createReauth({ wake: true })).not.toThrow()
    expect(() => createReauth({ wake: { holdMs: 0 } })).not.toThrow()
  })
})

// --- across tabs: the module alone, with one fake "browser": Web Locks and localStorage ---

class FakeLocks {
  #tail = Promise.resolve()
  request(_name: string, _options: object, callback: () => Promise<void>): Promise<unknown> {
    const run = this.#tail.then(callback)
    this.#tail = run.then(
      () => {},
      () => {},
    )
    return run
  }
}

const browser = () => {
  const store = new Map<string, string>()
  const locks = new FakeLocks()
  let probesSent = 0
  let answer: ProbeResult = 'signed-in'
  const tabOf = (lastSuccessAt = () => Number.NEGATIVE_INFINITY) => {
    const target = new EventTarget()
    const document = { visibilityState: 'visible' }
    const coordinator = {
      state: 'idle' as const,
      hold: vi.fn(),
      recover: vi.fn(() => Promise.reject(new Error('lost'))),
      settled: () => Promise.resolve(),
      lastSuccessAt,
      sessionAlive: vi.fn(),
    }
    const env: Partial<WakeEnv> = {
      target,
      document,
      locks,
      storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
      page: {},
    }
    const deps: WakeDeps = {
      options: { crossTab: true, wake: { afterMs: 0, holdMs: 1000 } },
      coordinator: coordinator as unknown as WakeDeps['coordinator'],
      probe: async () => {
        probesSent++
        await wait(20)
        return answer
      },
      channel: `ajax-reauth:${ORIGIN}:oauth2-proxy`,
      env,
    }
    const wake = createWake(deps)
    wake.start()
    return { wake, target, document, coordinator }
  }
  return {
    tabOf,
    probes: () => probesSent,
    setAnswer: (a: ProbeResult) => {
      answer = a
    },
  }
}

describe('across tabs', () => {
  it('`online` in three tabs at once: one probe in the browser, every tab gets its answer', async () => {
    const b = browser()
    const tabs = [b.tabOf(), b.tabOf(), b.tabOf()]
    const answers = await Promise.all(tabs.map((t) => t.wake.check('online')))
    expect(answers).toEqual(['signed-in', 'signed-in', 'signed-in'])
    expect(b.probes()).toBe(1)
    for (const t of tabs) expect(t.coordinator.hold).toHaveBeenCalledTimes(1)
    for (const t of tabs) expect(t.coordinator.recover).not.toHaveBeenCalled()
  })

  it("another tab's recent answer is used: a second tab coming back a moment later sends no probe", async () => {
    const b = browser()
    const [one, two] = [b.tabOf(), b.tabOf()]
    b.setAnswer('signed-out')
    expect(await one.wake.check()).toBe('signed-out')
    expect(one.coordinator.recover).toHaveBeenCalledTimes(1)
    await wait(10)
    expect(await two.wake.check()).toBe('signed-out')
    expect(b.probes()).toBe(1)
    // it joins the re-login (the coordinator's cross-tab flight) with the check's reason
    expect(two.coordinator.recover).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'session-check' }),
      { facts: expect.objectContaining({ method: 'GET', accept: null, inScope: true }), send: null },
    )
  })

  it('a "signed out" that a re-login in any tab has answered since counts as signed in', async () => {
    const b = browser()
    let success = Number.NEGATIVE_INFINITY
    const one = b.tabOf()
    const two = b.tabOf(() => success)
    b.setAnswer('signed-out')
    await one.wake.check()
    success = performance.timeOrigin + performance.now()
    expect(await two.wake.check()).toBe('signed-in')
    expect(two.coordinator.recover).not.toHaveBeenCalled()
    expect(b.probes()).toBe(1)
  })
})
