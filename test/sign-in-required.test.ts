import axios from 'axios'
import ky from 'ky'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { AuthRequiredError, authRequiredReason, isAuthRequiredError } from '../src'
import { axiosReauth } from '../src/axios'
import { createReauth, type Reauth } from '../src/client'
import { clock } from '../src/clock'
import { createCoordinator, FAILURE_MEMORY_MS } from '../src/coordinator'
import type { CrossTab, RemoteOutcome } from '../src/cross-tab'
import { createEmitter, type ReauthEvents } from '../src/events'
import { kyReauth } from '../src/ky'
import { normalizeOptions, type ReauthOptions } from '../src/options'
import { InteractionRequiredError } from '../src/relogin'
import type { ProbeResult } from '../src/types'
import { rejectionOf } from './helpers/answers'
import { ORIGIN, stubPage } from './helpers/page'

// Issue 24 item 2: after `interaction-required` (the provider shows its login form), every in-scope request
// can only fail, and behind a redirecting front each one would mint a CSRF cookie and hit the provider.

let signedIn = true
/** What reached the "proxy" and the third party, in order. */
let log: string[] = []
const server = setupServer(
  http.get(`${ORIGIN}/oauth2/auth`, () => {
    log.push('probe')
    return new HttpResponse(null, { status: signedIn ? 202 : 401 })
  }),
  http.all(`${ORIGIN}/api/:name`, ({ params }) => {
    log.push(`api:${String(params.name)}`)
    return signedIn ? HttpResponse.json({ name: params.name }) : HttpResponse.json({}, { status: 401 })
  }),
  http.get('http://other.test/data', () => {
    log.push('other')
    return HttpResponse.json({ other: true })
  }),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  signedIn = true
  log = []
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

interface Recorded {
  type: string
  leader?: boolean
  generation?: number
}

/** An SDK whose silent re-login meets the provider's login form, until `userSignsIn`. */
const setup = (options: ReauthOptions = {}) => {
  const s = {
    relogins: 0,
    userSignsIn: false,
    events: [] as Recorded[],
    reauth: undefined as unknown as Reauth,
    types: () => s.events.map((e) => e.type),
    successes: () => s.events.filter((e) => e.type === 'reauth:success'),
  }
  s.reauth = createReauth({
    crossTab: false,
    wake: false,
    relogin: async () => {
      s.relogins++
      if (!s.userSignsIn) throw new InteractionRequiredError('sign-in-page')
      signedIn = true
    },
    ...options,
  })
  for (const type of [
    'reauth:required',
    'reauth:start',
    'reauth:success',
    'reauth:failure',
    'reauth:interaction-required',
    'circuit:open',
    'circuit:close',
  ] as const) {
    s.reauth.on(type, (e) => {
      const x = e as Partial<ReauthEvents['reauth:success']>
      s.events.push({
        type,
        ...(type === 'reauth:success' ? { leader: x.leader, generation: x.generation } : {}),
      })
    })
  }
  return s
}

/** The session ends, the first request finds it, the silent re-login fails: the user must sign in. */
const mustSignIn = async (s: ReturnType<typeof setup>): Promise<void> => {
  signedIn = false
  const first = await s.reauth.fetch('/api/first')
  expect(first.status).toBe(401)
  expect(s.types()).toEqual([
    'reauth:required',
    'reauth:start',
    'reauth:failure',
    'reauth:interaction-required',
  ])
  log = []
}

describe('while the user must sign in', () => {
  it("3 queries × 4 attempts: each settles at once with the SDK's 401 and nothing is sent", async () => {
    const s = setup()
    await mustSignIn(s)
    const seen: [number, string | null][] = []
    for (let attempt = 0; attempt < 4; attempt++) {
      const round = await Promise.all(['a', 'b', 'c'].map((q) => s.reauth.fetch(`/api/${q}`)))
      seen.push(...round.map((r): [number, string | null] => [r.status, authRequiredReason(r)]))
    }
    expect(seen).toEqual(Array(12).fill([401, 'unauthorized']))
    expect(log).toEqual([])
    expect(s.relogins).toBe(1)
    // Nothing more: reauth:required and reauth:interaction-required were said once.
    expect(s.types()).toHaveLength(4)
  })

  it('it outlasts the failure memory: no second silent re-login, no second reauth:required', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const s = setup()
    await mustSignIn(s)
    vi.setSystemTime(Date.now() + FAILURE_MEMORY_MS + 1)
    const later = await s.reauth.fetch('/api/later')
    expect([later.status, authRequiredReason(later)]).toEqual([401, 'unauthorized'])
    expect(log).toEqual([])
    expect(s.relogins).toBe(1)
    expect(s.types()).toHaveLength(4)
  })

  it("ky and axios: each client's own 401, nothing sent", async () => {
    const s = setup()
    await mustSignIn(s)
    const client = ky.create({ hooks: kyReauth(s.reauth), fetch: s.reauth.fetch, retry: 0 })
    const kyError = await rejectionOf(client.get(`${ORIGIN}/api/ky`))
    expect(kyError.name).toBe('HTTPError')
    expect(kyError.response.status).toBe(401)
    expect(authRequiredReason(kyError)).toBe('unauthorized')
    const instance = axios.create({ adapter: 'fetch' })
    axiosReauth(instance, s.reauth)
    const axiosError = await rejectionOf(instance.get(`${ORIGIN}/api/axios`))
    expect(isAuthRequiredError(axiosError)).toBe(true)
    expect(axios.isAxiosError(axiosError)).toBe(true)
    expect(axiosError.response.status).toBe(401)
    expect(log).toEqual([])
  })

  it('out-of-scope requests go out as usual; an aborted one still rejects with its abort', async () => {
    const s = setup()
    await mustSignIn(s)
    const other = await s.reauth.fetch('http://other.test/data')
    expect(await other.json()).toEqual({ other: true })
    const aborted = await rejectionOf(s.reauth.fetch('/api/gone', { signal: AbortSignal.abort() }))
    expect(aborted.name).toBe('AbortError')
    expect(log).toEqual(['other'])
  })

  it('a re-login in this tab ends it (relogin(), as start() from a click): requests go out again', async () => {
    const s = setup()
    await mustSignIn(s)
    s.userSignsIn = true
    await s.reauth.relogin()
    const r = await s.reauth.fetch('/api/after')
    expect(await r.json()).toEqual({ name: 'after' })
    expect(s.successes()).toEqual([{ type: 'reauth:success', leader: true, generation: 2 }])
  })

  it('the wake-up check (check()) finding the session alive ends it: reauth:success, not led here', async () => {
    const s = setup()
    await mustSignIn(s)
    // Signed in elsewhere (a tab without the SDK, another app behind the same proxy).
    signedIn = true
    expect(await s.reauth.check()).toBe('signed-in')
    expect(s.successes()).toEqual([{ type: 'reauth:success', leader: false, generation: 1 }])
    const r = await s.reauth.fetch('/api/after')
    expect(r.status).toBe(200)
    expect(log).toEqual(['probe', 'api:after'])
    expect(s.relogins).toBe(1)
  })

  it("a sign-in the proxy refuses (not-allowed) ends it: requests go out and say 'not-allowed'", async () => {
    let relogins = 0
    const reauth = createReauth({
      crossTab: false,
      wake: false,
      // The silent re-login meets the login form; the user then signs in with an account the proxy refuses.
      relogin: async () => {
        if (relogins++ === 0) throw new InteractionRequiredError('sign-in-page')
        throw new AuthRequiredError({
          reason: 'not-allowed',
          url: `${ORIGIN}/oauth2/callback`,
          method: 'GET',
        })
      },
    })
    signedIn = false
    expect((await reauth.fetch('/api/first')).status).toBe(401)
    await reauth.relogin().catch(() => {})
    log = []
    const r = await reauth.fetch('/api/q')
    expect([r.status, authRequiredReason(r)]).toEqual([401, 'not-allowed'])
    // (sent, then confirmed by the probe as before)
    expect(log).toEqual(['api:q', 'probe'])
    expect(relogins).toBe(2)
  })

  it("the user's own failed attempts open the circuit: requests say circuit-open, nothing is sent; a success closes it", async () => {
    const s = setup({ circuit: { failures: 2 } })
    await mustSignIn(s)
    await s.reauth.relogin().catch(() => {})
    expect(s.types()).toContain('circuit:open')
    const r = await s.reauth.fetch('/api/q')
    expect([r.status, authRequiredReason(r)]).toEqual([401, 'circuit-open'])
    expect(log).toEqual([])
    s.userSignsIn = true
    await s.reauth.relogin()
    expect(s.types()).toContain('circuit:close')
    expect((await s.reauth.fetch('/api/q')).status).toBe(200)
  })
})

describe('while the user must sign in, the coordinator', () => {
  const coordinatorWithTabs = (options: ReauthOptions = {}) => {
    const listeners: ((msg: RemoteOutcome) => void)[] = []
    const remote = { successAt: Number.NEGATIVE_INFINITY }
    const tabs: CrossTab = {
      flight: (lead, signal) => lead(signal).then(() => ({ leader: true, generation: 1 })),
      onRemote: (cb) => {
        listeners.push(cb)
        return () => {}
      },
      lastSuccessAt: () => remote.successAt,
      remoteSettled: async () => {},
      dispose: () => {},
    }
    const emitter = createEmitter()
    const successes: ReauthEvents['reauth:success'][] = []
    emitter.on('reauth:success', (e) => successes.push(e))
    const normalized = normalizeOptions({ crossTab: true, ...options })
    const clockAt = { now: 1_000_000 }
    const probe = { sent: 0, answer: 'signed-out' as ProbeResult }
    const coordinator = createCoordinator({
      options: normalized,
      emitter,
      profile: normalized.profile,
      probe: async () => {
        probe.sent++
        return probe.answer
      },
      now: () => clockAt.now,
      baseFetch: () => fetch,
      scope: { origin: ORIGIN },
      strategy: async () => {
        throw new InteractionRequiredError('sign-in-page')
      },
      crossTab: () => tabs,
    })
    return { coordinator, listeners, remote, successes, clockAt, probe }
  }

  it("sends one session probe at most every circuit.cooldownMs while requests come; 'signed in' ends it", async () => {
    const t = coordinatorWithTabs({ circuit: { cooldownMs: 5_000 } })
    await t.coordinator.relogin().catch(() => {})
    const gate = async (): Promise<string> => {
      const outcome = await t.coordinator.gate(`${ORIGIN}/api/a`, 'GET').then(
        () => 'sent',
        (e: { reason?: string }) => `401:${e.reason}`,
      )
      // (the background probe's answer is in)
      await new Promise((r) => setTimeout(r, 0))
      return outcome
    }
    expect(await gate()).toBe('401:unauthorized')
    t.clockAt.now += 4_999
    expect(await gate()).toBe('401:unauthorized')
    expect(t.probe.sent).toBe(0)
    t.clockAt.now += 1
    expect(await gate()).toBe('401:unauthorized')
    expect(await gate()).toBe('401:unauthorized')
    expect(t.probe.sent).toBe(1)
    // The user signs in elsewhere (a tab without the SDK, another app behind the same proxy).
    t.probe.answer = 'signed-in'
    t.clockAt.now += 5_000
    expect(await gate()).toBe('401:unauthorized')
    expect(t.probe.sent).toBe(2)
    expect(t.successes).toMatchObject([{ leader: false, generation: 1, durationMs: 10_000 }])
    expect(await gate()).toBe('sent')
    expect(t.coordinator.gated).toBe(false)
  })

  it('another tab signing in (its BroadcastChannel message) ends it: reauth:success with its generation', async () => {
    const t = coordinatorWithTabs()
    await t.coordinator.relogin().catch(() => {})
    expect(t.coordinator.gated).toBe(true)
    const refused = await rejectionOf(t.coordinator.gate(`${ORIGIN}/api/a`, 'GET'))
    expect(refused).toMatchObject({ name: 'AuthRequiredError', reason: 'unauthorized' })
    for (const cb of t.listeners) cb({ kind: 'success', generation: 7 })
    expect(t.successes).toMatchObject([{ generation: 7, leader: false }])
    expect(t.coordinator.gated).toBe(false)
  })

  it('a success another tab stored (or another copy of the SDK on the page) ends it at the next request', async () => {
    const t = coordinatorWithTabs()
    await t.coordinator.relogin().catch(() => {})
    t.remote.successAt = clock() + 1
    await t.coordinator.gate(`${ORIGIN}/api/a`, 'GET')
    expect(t.successes).toMatchObject([{ leader: false }])
    expect(t.coordinator.gated).toBe(false)
  })
})
