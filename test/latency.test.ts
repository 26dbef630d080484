/**
 * The re-login under real latency, against a simulated proxy and provider (no msw: the schedule is the
 * point). The session dies at t = 0; what a request meets depends on when it reaches the proxy.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import { FAILURE_MEMORY_MS } from '../src/coordinator'
import { authRequiredReason } from '../src/errors'
import type { ReauthOptions } from '../src/options'
import { pomerium } from '../src/profiles'
import { InteractionRequiredError } from '../src/relogin'
import { ORIGIN, stubPage } from './helpers/page'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface World {
  /** How the proxy answers a request with a dead session. */
  mode: 'redirect-to-idp' | 'ajax-401'
  idpMs: number
  probeMs: number
  upstreamMs: number
  flightMs: number
  alive: boolean
  relogins: number
  flying: number
  maxFlying: number
  probes: number
  /** Requests that reached the proxy with a dead session. */
  deadHits: number
}

const world = (over: Partial<World> = {}): World => ({
  mode: 'redirect-to-idp',
  idpMs: 0,
  probeMs: 0,
  upstreamMs: 0,
  flightMs: 0,
  alive: false,
  relogins: 0,
  flying: 0,
  maxFlying: 0,
  probes: 0,
  deadHits: 0,
  ...over,
})

/** The network: the proxy in front of the upstream, a redirect to a slow provider that fails CORS. */
const network =
  (w: World) =>
  async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      ORIGIN,
    )
    if (url.pathname === '/oauth2/auth') {
      w.probes++
      await sleep(w.probeMs)
      return new Response(null, { status: w.alive ? 202 : 401 })
    }
    if (w.alive) {
      await sleep(w.upstreamMs)
      return Response.json({ path: url.pathname + url.search, method: init?.method ?? 'GET' })
    }
    w.deadHits++
    if (w.mode === 'ajax-401') return Response.json({}, { status: 401 })
    // 302 to the provider: the browser follows it, the provider answers, the CORS check fails.
    await sleep(w.idpMs)
    throw new TypeError('Failed to fetch')
  }

const sdk = (w: World, options: ReauthOptions = {}): Reauth => {
  vi.stubGlobal('fetch', network(w))
  return createReauth({
    crossTab: false,
    relogin: async () => {
      w.relogins++
      w.flying++
      w.maxFlying = Math.max(w.maxFlying, w.flying)
      await sleep(w.flightMs)
      w.alive = true
      w.flying--
    },
    ...options,
  })
}

beforeEach(() => stubPage())
afterEach(() => vi.unstubAllGlobals())

describe('a slow identity provider', () => {
  it('120 requests spread 2 ms apart, provider 300 ms: every one gets its data, 1 re-login', async () => {
    const w = world({ idpMs: 300, flightMs: 100 })
    const reauth = sdk(w)
    const required = vi.fn()
    reauth.onReauthRequired(required)
    const calls: Promise<unknown>[] = []
    for (let i = 0; i < 120; i++) {
      calls.push(
        reauth.fetch(`/api/items?n=${i}`).then(
          (r) => r.json(),
          (e: unknown) => e,
        ),
      )
      await sleep(2)
    }
    const out = await Promise.all(calls)
    const lost = out.filter((o) => !(o && typeof o === 'object' && 'path' in o))
    expect(lost).toEqual([])
    expect(w.relogins).toBe(1)
    expect(required).toHaveBeenCalledTimes(1)
  })

  it('property: every request settles once with its data; never a raw TypeError; one flight at a time', async () => {
    const schedule = fc.record({
      arrivals: fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 12 }),
      idpMs: fc.integer({ min: 0, max: 120 }),
      probeMs: fc.integer({ min: 0, max: 40 }),
      upstreamMs: fc.integer({ min: 0, max: 40 }),
      flightMs: fc.integer({ min: 0, max: 120 }),
      mode: fc.constantFrom<World['mode']>('redirect-to-idp', 'ajax-401'),
      method: fc.constantFrom('GET', 'POST'),
    })
    await fc.assert(
      fc.asyncProperty(schedule, async ({ arrivals, method, ...timing }) => {
        const w = world(timing)
        const reauth = sdk(w)
        const settled: number[] = arrivals.map(() => 0)
        const out = await Promise.all(
          arrivals.map(async (at, i) => {
            await sleep(at)
            return reauth
              .fetch(`/api/r${i}`, { method, body: method === 'POST' ? `n=${i}` : null })
              .then(
                (r) => r.json(),
                (e: unknown) => e,
              )
              .finally(() => settled[i]!++)
          }),
        )
        expect(settled.every((n) => n === 1)).toBe(true)
        for (const [i, o] of out.entries()) expect(o).toEqual({ path: `/api/r${i}`, method })
        expect(w.maxFlying).toBeLessThanOrEqual(1)
        expect(w.relogins).toBe(1)
      }),
      { numRuns: 25 },
    )
  }, 60_000)
})

describe('failed re-logins and client retries', () => {
  it('a failed silent re-login is remembered: a client retrying 3 times costs one flight', async () => {
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    let flights = 0
    const reauth = createReauth({
      crossTab: false,
      relogin: async () => {
        flights++
        throw new InteractionRequiredError('frame-blocked')
      },
    })
    const required = vi.fn()
    reauth.onReauthRequired(required)
    const statuses: number[] = []
    // TanStack-Query-style: the call and three retries.
    for (let attempt = 0; attempt < 4; attempt++) {
      const res = await reauth.fetch('/api/items')
      statuses.push(authRequiredReason(res) === 'unauthorized' ? res.status : -1)
    }
    expect(statuses).toEqual([401, 401, 401, 401])
    expect(flights).toBe(1)
    expect(required).toHaveBeenCalledTimes(1)
    expect(reauth.state).toBe('idle')
  })

  it('once the memory of a failed re-login expires, the next loss opens a new episode: reported, one flight', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const w = world({ mode: 'ajax-401' })
      vi.stubGlobal('fetch', network(w))
      let flights = 0
      const reauth = createReauth({
        crossTab: false,
        circuit: { failures: 10 },
        // A failure the user cannot fix either (one that needs a sign-in lasts until a session is seen
        // again: test/sign-in-required.test.ts).
        relogin: async () => {
          flights++
          throw new Error('the provider is down')
        },
      })
      const required = vi.fn()
      reauth.onReauthRequired(required)
      await reauth.fetch('/api/items')
      vi.setSystemTime(Date.now() + FAILURE_MEMORY_MS)
      await reauth.fetch('/api/items')
      expect(flights).toBe(2)
      expect(required).toHaveBeenCalledTimes(2)
    } finally {
      vi.useRealTimers()
    }
  })

  it('start() without a user gesture fails at once and starts nothing: no loop from the event handler', async () => {
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    vi.stubGlobal('navigator', { userActivation: { isActive: false } })
    let flights = 0
    const reauth = createReauth({
      crossTab: false,
      relogin: async () => {
        flights++
        throw new InteractionRequiredError('frame-blocked')
      },
    })
    const starts: unknown[] = []
    reauth.on('reauth:interaction-required', ({ start }) => {
      starts.push(start().catch((e: unknown) => e))
    })
    await reauth.fetch('/api/items').catch(() => {})
    await sleep(100)
    expect(flights).toBe(1)
    expect(starts).toHaveLength(1)
    expect(await starts[0]).toMatchObject({ name: 'InteractionRequiredError', reason: 'no-user-gesture' })
  })

  it('where the browser cannot tell a gesture, the circuit bounds start() loops', async () => {
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    vi.stubGlobal('navigator', {})
    let flights = 0
    const reauth = createReauth({
      crossTab: false,
      relogin: async () => {
        flights++
        throw new InteractionRequiredError('frame-blocked')
      },
    })
    reauth.on('reauth:interaction-required', ({ start }) => {
      start().catch(() => {})
    })
    await reauth.fetch('/api/items').catch(() => {})
    await sleep(300)
    expect(flights).toBeLessThanOrEqual(3)
    expect(reauth.state).toBe('circuit-open')
  })

  it('a probe that gives no answer after the strategy fails the flight', async () => {
    const w = world({ mode: 'ajax-401' })
    const net = network(w)
    let strategyRan = false
    // The probe proves the loss (401), then, once the strategy ran, gives no answer.
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) =>
      String(input).endsWith('/oauth2/auth')
        ? new Response('busy', { status: strategyRan ? 503 : 401 })
        : net(input, init),
    )
    const reauth = createReauth({
      crossTab: false,
      relogin: async () => {
        strategyRan = true
      },
    })
    const failures = vi.fn()
    reauth.on('reauth:failure', failures)
    const res = await reauth.fetch('/api/items')
    expect(res.status).toBe(401)
    expect(authRequiredReason(res)).toBe('unauthorized')
    expect(failures).toHaveBeenCalledTimes(1)
    expect(String(failures.mock.calls[0]![0].error.message)).toMatch(/no answer/)
  })
})

describe("the strategy's own requests", () => {
  it('a custom re-login that fetches the re-login URL through the patched fetch does not wait for itself', async () => {
    stubPage(`${ORIGIN}/app/`)
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    const reauth = createReauth({
      proxy: pomerium(),
      crossTab: false,
      reloginTimeoutMs: 2000,
      relogin: async ({ url }) => {
        // Pomerium's re-login URL is the current page: in scope, and fetched while the gate is closed.
        await fetch(url, { headers: { accept: 'text/html' } })
        w.alive = true
      },
    }).install()
    try {
      const res = await fetch('/api/items')
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ path: '/api/items' })
    } finally {
      reauth.uninstall()
    }
  })

  it('a custom re-login that calls the patched global fetch for another in-scope URL: warned at once (development)', async () => {
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    let warnedAtOnce: unknown[][] = []
    let own: Promise<Response> | null = null
    const reauth = createReauth({
      crossTab: false,
      reloginTimeoutMs: 2000,
      relogin: async () => {
        // The app's session endpoint, in scope: through the patched fetch it waits at the gate.
        own = fetch(`${ORIGIN}/api/session/renew`, { method: 'POST' })
        warnedAtOnce = [...warn.mock.calls]
        w.alive = true
      },
    }).install()
    try {
      expect((await fetch('/api/items')).status).toBe(200)
      expect(warnedAtOnce).toHaveLength(1)
      const message = String(warnedAtOnce[0]![0])
      expect(message).toContain(`POST ${ORIGIN}/api/session/renew waits for the re-login in progress`)
      expect(message).toContain('`fetch` of its context')
      // Released once the re-login it waited for succeeded.
      expect((await own!)?.status).toBe(200)
      // An app request held while a built-in strategy runs, or after the function returned: no warning.
      expect(warn).toHaveBeenCalledTimes(1)
    } finally {
      warn.mockRestore()
      reauth.uninstall()
    }
  })

  it('ctx.fetch goes straight to the network, around the gate', async () => {
    const w = world({ mode: 'ajax-401' })
    vi.stubGlobal('fetch', network(w))
    const reauth = createReauth({
      crossTab: false,
      reloginTimeoutMs: 2000,
      relogin: async (ctx) => {
        await ctx.fetch(`${ORIGIN}/api/other`)
        w.alive = true
      },
    }).install()
    try {
      expect((await fetch('/api/items')).status).toBe(200)
    } finally {
      reauth.uninstall()
    }
  })
})
