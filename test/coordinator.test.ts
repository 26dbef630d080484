import fc from 'fast-check'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth, type Reauth } from '../src/client'
import { FAILURE_MEMORY_MS } from '../src/coordinator'
import { AuthRequiredError, isAuthRequiredError, ReauthQueueFullError } from '../src/errors'
import { engineOf } from '../src/internal'
import type { ReauthOptions } from '../src/options'
import { lostOrValue } from './helpers/answers'
import { ORIGIN, stubPage } from './helpers/page'

let session: 'valid' | 'gone' = 'valid'
const hits = new Map<string, number>()
const server = setupServer(
  http.get(
    `${ORIGIN}/oauth2/auth`,
    () => new HttpResponse(null, { status: session === 'valid' ? 202 : 401 }),
  ),
  http.all(`${ORIGIN}/api/:name`, async ({ request, params }) => {
    const name = String(params.name)
    hits.set(name, (hits.get(name) ?? 0) + 1)
    if (name === 'always401') return HttpResponse.json({}, { status: 401 })
    if (name === 'cookies') return new HttpResponse(null, { status: 431 })
    if (session === 'gone') return HttpResponse.json({}, { status: 401 })
    const body = request.body ? await request.text() : ''
    return HttpResponse.json({ name, body })
  }),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  session = 'valid'
  hits.clear()
})
afterEach(() => {
  server.resetHandlers()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

interface Harness {
  reauth: Reauth
  relogins: number
  events: string[]
  /** Resolve the pending re-login (the session comes back) or fail it (with `error`, where given). */
  finish(ok: boolean, error?: Error): void
}

/** A re-login the test controls: it waits until finish() is called. */
const harness = (options: ReauthOptions = {}): Harness => {
  const h: Harness = { relogins: 0, events: [], finish: () => {}, reauth: undefined as unknown as Reauth }
  h.reauth = createReauth({
    crossTab: false,
    relogin: ({ signal }) =>
      new Promise<void>((resolve, reject) => {
        h.relogins++
        signal.addEventListener('abort', () => reject(signal.reason))
        h.finish = (ok, error) => {
          if (ok) {
            session = 'valid'
            resolve()
          } else reject(error ?? new Error('provider said no'))
        }
      }),
    ...options,
  })
  for (const type of [
    'reauth:required',
    'reauth:start',
    'reauth:success',
    'reauth:failure',
    'circuit:open',
    'circuit:close',
    'request:replayed',
  ] as const) {
    h.reauth.on(type, () => h.events.push(type))
  }
  return h
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(check()).toBe(true)
}

describe('coordinator: one flight, queue, replay', () => {
  it('100 concurrent failures → 1 re-login, every request replayed and answered', async () => {
    const h = harness()
    session = 'gone'
    const all = Promise.all(
      Array.from({ length: 100 }, (_, i) => h.reauth.fetch(`/api/r${i}`).then((r) => r.json())),
    )
    await until(() => h.relogins === 1 && engineOf(h.reauth).coordinator.state === 'reauthenticating')
    await new Promise((r) => setTimeout(r, 50))
    // Once per episode, not once per failed request.
    expect(h.events.filter((e) => e === 'reauth:required')).toHaveLength(1)
    expect(h.reauth.state).toBe('reauthenticating')
    h.finish(true)
    const bodies = await all
    expect(bodies.map((b) => b.name)).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`))
    expect(h.relogins).toBe(1)
    expect(h.events.filter((e) => e === 'request:replayed')).toHaveLength(100)
    expect(h.events.indexOf('reauth:start')).toBeGreaterThan(h.events.indexOf('reauth:required'))
    expect(h.events.indexOf('reauth:success')).toBeLessThan(h.events.indexOf('request:replayed'))
    expect(h.reauth.state).toBe('idle')
  })

  it('replays requests that were already in flight when the flight started', async () => {
    const h = harness()
    let release!: () => void
    const slow = new Promise<void>((r) => (release = r))
    server.use(
      http.post(`${ORIGIN}/api/slow`, async () => {
        await slow
        return session === 'gone'
          ? HttpResponse.json({}, { status: 401 })
          : HttpResponse.json({ name: 'slow' })
      }),
    )
    session = 'gone'
    // A POST: never aborted (a GET would be, see below), so the re-login waits for its answer.
    const inFlight = h.reauth.fetch('/api/slow', { method: 'POST' }).then((r) => r.json())
    const first = h.reauth.fetch('/api/a').then((r) => r.json())
    await until(() => h.events.includes('reauth:start'))
    // The strategy waits for the request on the wire: its answer could clear the new cookie.
    await new Promise((r) => setTimeout(r, 50))
    expect(h.relogins).toBe(0)
    release()
    await until(() => h.relogins === 1)
    expect(h.events.filter((e) => e === 'reauth:required')).toHaveLength(1)
    h.finish(true)
    expect(await inFlight).toEqual({ name: 'slow' })
    expect(await first).toMatchObject({ name: 'a' })
    expect(h.relogins).toBe(1)
  })

  it('at the first proven loss, an unanswered GET is aborted and replayed once; the re-login does not wait for it', async () => {
    const h = harness()
    let answered = 0
    const never = new Promise<void>(() => {})
    server.use(
      http.get(`${ORIGIN}/api/slow`, async () => {
        // The first one hangs (a browser's queue behind a slow provider); the replay answers.
        if (answered++ === 0) await never
        return HttpResponse.json({ name: 'slow' })
      }),
    )
    session = 'gone'
    const inFlight = h.reauth.fetch('/api/slow').then((r) => r.json())
    const first = h.reauth.fetch('/api/a').then((r) => r.json())
    await until(() => h.relogins === 1)
    h.finish(true)
    expect(await inFlight).toEqual({ name: 'slow' })
    expect(await first).toMatchObject({ name: 'a' })
    expect(answered).toBe(2)
    expect(h.events.filter((e) => e === 'reauth:required')).toHaveLength(1)
    expect(h.events.filter((e) => e === 'request:replayed')).toHaveLength(2)
  })

  it("the app's abort of a GET stopped at the loss rejects it with the app's abort, never replayed", async () => {
    const h = harness()
    let answered = 0
    const never = new Promise<void>(() => {})
    server.use(
      http.get(`${ORIGIN}/api/slow`, async () => {
        answered++
        await never
        return HttpResponse.json({ name: 'slow' })
      }),
    )
    session = 'gone'
    const app = new AbortController()
    const inFlight = h.reauth.fetch('/api/slow', { signal: app.signal }).then(
      () => 'resolved',
      (e: Error) => e.name,
    )
    const first = h.reauth.fetch('/api/a').then((r) => r.json())
    await until(() => h.relogins === 1)
    app.abort()
    expect(await inFlight).toBe('AbortError')
    h.finish(true)
    expect(await first).toMatchObject({ name: 'a' })
    expect(answered).toBe(1)
  })

  it('holds new in-scope requests at the gate: none reaches the server during the flight', async () => {
    const h = harness()
    session = 'gone'
    const first = h.reauth.fetch('/api/first')
    await until(() => h.relogins === 1)
    const held = Promise.all(
      Array.from({ length: 20 }, () => h.reauth.fetch('/api/held').then((r) => r.status)),
    )
    await new Promise((r) => setTimeout(r, 30))
    expect(hits.get('held') ?? 0).toBe(0)
    h.finish(true)
    expect(await held).toEqual(Array(20).fill(200))
    expect(hits.get('held')).toBe(20)
    expect((await first).status).toBe(200)
  })

  it('rejects held and queued requests with AuthRequiredError when the re-login fails', async () => {
    const h = harness()
    session = 'gone'
    const queued = h.reauth.fetch('/api/q').then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    const held = h.reauth.fetch('/api/h').then(lostOrValue, (e) => e)
    h.finish(false)
    const [q, g] = await Promise.all([queued, held])
    expect(q).toBeInstanceOf(AuthRequiredError)
    expect(q.reason).toBe('unauthorized')
    expect(g).toBeInstanceOf(AuthRequiredError)
    expect(g.url).toBe(`${ORIGIN}/api/h`)
    expect(hits.get('h') ?? 0).toBe(0)
    expect(h.events).toContain('reauth:failure')
  })

  it('runs the strategy a second time when a late answer wiped the fresh session, and no more', async () => {
    let passes = 0
    const reauth = createReauth({
      crossTab: false,
      relogin: async () => {
        passes++
        // The first pass "succeeds" but a stale answer clears the cookie: the probe still says 401.
        if (passes === 2) session = 'valid'
      },
    })
    session = 'gone'
    expect(await reauth.fetch('/api/twice').then((r) => r.status)).toBe(200)
    expect(passes).toBe(2)

    passes = -10
    session = 'gone'
    const error = await reauth.fetch('/api/never').then(lostOrValue, (e) => e)
    expect(error).toBeInstanceOf(AuthRequiredError)
    expect(passes).toBe(-8)
  })

  it('replays at most once: a replay that gets a 401 again starts nothing; the app gets that 401', async () => {
    const h = harness()
    session = 'gone'
    const pending = h.reauth.fetch('/api/always401')
    await until(() => h.relogins === 1)
    h.finish(true)
    const res = await pending
    // The probe now says signed in: the replay's 401 is the upstream's own, handed back as it came.
    expect(res.status).toBe(401)
    expect(res.headers.get('x-ajax-reauth')).toBeNull()
    expect(await res.json()).toEqual({})
    expect(hits.get('always401')).toBe(2)
    expect(h.relogins).toBe(1)
  })

  it('an upstream that answers 401 with the proxy’s own bytes, with a valid session, starts nothing', async () => {
    const h = harness()
    const res = await h.reauth.fetch('/api/always401', { method: 'POST', body: 'order' })
    expect(res.status).toBe(401)
    expect(hits.get('always401')).toBe(1)
    expect(h.relogins).toBe(0)
    expect(h.events).toEqual([])
  })

  it('does not replay a ReadableStream body; the cause says why', async () => {
    const h = harness()
    session = 'gone'
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('x'))
        c.close()
      },
    })
    const error = await h.reauth
      .fetch('/api/upload', { method: 'POST', body, duplex: 'half' } as RequestInit)
      .then(lostOrValue, (e) => e)
    expect(error).toMatchObject({ name: 'AuthRequiredError', reason: 'unauthorized' })
    expect(String(error.cause)).toMatch(/ReadableStream/)
    await until(() => h.relogins === 1)
    h.finish(true)
  })

  it("replay: 'idempotent' replays a GET and rejects a POST; 'none' replays nothing", async () => {
    const h = harness({ replay: 'idempotent' })
    session = 'gone'
    const get = h.reauth.fetch('/api/g').then((r) => r.status)
    const post = h.reauth.fetch('/api/p', { method: 'POST', body: 'x' }).then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    expect(await post).toBeInstanceOf(AuthRequiredError)
    h.finish(true)
    expect(await get).toBe(200)

    const n = harness({ replay: 'none' })
    session = 'gone'
    expect(await n.reauth.fetch('/api/n').then(lostOrValue, (e) => e)).toBeInstanceOf(AuthRequiredError)
    n.finish(true)
  })

  it('replays a POST with its body', async () => {
    const h = harness()
    session = 'gone'
    const res = h.reauth
      .fetch(new Request(`${ORIGIN}/api/post`, { method: 'POST', body: 'payload' }))
      .then((r) => r.json())
    await until(() => h.relogins === 1)
    h.finish(true)
    expect(await res).toEqual({ name: 'post', body: 'payload' })
  })
})

describe('coordinator: bounds', () => {
  it('an app AbortSignal aborts a request waiting in the queue and at the gate', async () => {
    const h = harness()
    session = 'gone'
    const c1 = new AbortController()
    const queued = h.reauth.fetch('/api/q', { signal: c1.signal }).then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    const c2 = new AbortController()
    const gated = h.reauth.fetch('/api/g', { signal: c2.signal }).then(lostOrValue, (e) => e)
    c1.abort()
    c2.abort()
    expect((await queued).name).toBe('AbortError')
    expect((await gated).name).toBe('AbortError')
    h.finish(true)
  })

  it('maxQueue: overflow rejects with a typed error', async () => {
    const h = harness({ maxQueue: 3 })
    session = 'gone'
    let settledEarly = 0
    const results = Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        h.reauth
          .fetch(`/api/m${i}`)
          .then(lostOrValue, (e) => e)
          .finally(() => settledEarly++),
      ),
    )
    await until(() => h.relogins === 1 && settledEarly === 2)
    h.finish(true)
    const settled = await results
    const overflow = settled.filter((r) => isAuthRequiredError(r))
    expect(overflow).toHaveLength(2)
    for (const e of overflow) expect((e as AuthRequiredError).cause).toBeInstanceOf(ReauthQueueFullError)
    expect(settled.filter((r) => r instanceof Response)).toHaveLength(3)
  })

  it('reloginTimeoutMs: a flight that outlives it fails and rejects everything', async () => {
    const h = harness({ reloginTimeoutMs: 50 })
    session = 'gone'
    const error = await h.reauth.fetch('/api/t').then(lostOrValue, (e) => e)
    expect(error).toBeInstanceOf(AuthRequiredError)
    expect(h.events).toContain('reauth:failure')
    expect(h.reauth.state).not.toBe('reauthenticating')
  })

  it('uninstall() during a flight rejects every held request and counts no failure', async () => {
    const h = harness({ circuit: { failures: 1 } })
    h.reauth.install()
    session = 'gone'
    const queued = fetch('/api/q').then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    const held = fetch('/api/h').then(lostOrValue, (e) => e)
    h.reauth.uninstall()
    expect(await queued).toBeInstanceOf(AuthRequiredError)
    expect(await held).toBeInstanceOf(AuthRequiredError)
    expect(h.events).not.toContain('circuit:open')
    expect(h.reauth.state).toBe('idle')
  })
})

describe('coordinator: circuit breaker', () => {
  it('opens after N failed flights, fails fast, half-opens after the cooldown and closes on success', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = harness({ circuit: { failures: 2, windowMs: 60_000, cooldownMs: 30_000 } })
    session = 'gone'
    for (let i = 0; i < 2; i++) {
      const p = h.reauth.fetch('/api/c').then(lostOrValue, (e) => e)
      await until(() => h.relogins === i + 1)
      h.finish(false)
      expect(await p).toBeInstanceOf(AuthRequiredError)
      // A failed re-login is remembered for a while: a retry right after it starts no flight.
      vi.setSystemTime(Date.now() + FAILURE_MEMORY_MS)
    }
    expect(h.events).toContain('circuit:open')
    expect(h.reauth.state).toBe('circuit-open')
    const fast = await h.reauth.fetch('/api/c').then(lostOrValue, (e) => e)
    expect(fast).toMatchObject({ name: 'AuthRequiredError', reason: 'circuit-open' })
    expect(h.relogins).toBe(2)

    vi.setSystemTime(Date.now() + 30_001)
    expect(h.reauth.state).toBe('idle')
    const trial = h.reauth.fetch('/api/c').then((r) => r.status)
    await until(() => h.relogins === 3)
    h.finish(true)
    expect(await trial).toBe(200)
    expect(h.events).toContain('circuit:close')
    expect(h.reauth.state).toBe('idle')
  })

  it('a failed half-open trial opens the circuit again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = harness({ circuit: { failures: 1, cooldownMs: 1000 } })
    session = 'gone'
    const p = h.reauth.fetch('/api/c').then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    h.finish(false)
    await p
    vi.setSystemTime(Date.now() + 1001)
    const trial = h.reauth.fetch('/api/c').then(lostOrValue, (e) => e)
    await until(() => h.relogins === 2)
    h.finish(false)
    await trial
    expect(h.events.filter((e) => e === 'circuit:open')).toHaveLength(2)
    expect(h.reauth.state).toBe('circuit-open')
  })

  it('a 431 (CSRF cookie flood) opens the circuit at once, without a re-login', async () => {
    const h = harness()
    const error = await h.reauth.fetch('/api/cookies').then(lostOrValue, (e) => e)
    expect(error).toMatchObject({ reason: 'header-overflow' })
    expect(h.events).toContain('circuit:open')
    expect(h.relogins).toBe(0)
    session = 'gone'
    expect(await h.reauth.fetch('/api/x').then(lostOrValue, (e) => e)).toMatchObject({
      reason: 'circuit-open',
    })
  })

  it('a network failure whose session probe is refused for its cookies (nginx 400) is a cookie flood', async () => {
    const h = harness()
    server.use(
      http.get(`${ORIGIN}/api/redirected`, () => HttpResponse.error()),
      http.get(
        `${ORIGIN}/oauth2/auth`,
        () =>
          new HttpResponse(
            '<html><center><h1>400 Bad Request</h1></center><center>Request Header Or Cookie Too Large</center></html>',
            {
              status: 400,
              headers: { 'content-type': 'text/html' },
            },
          ),
      ),
    )
    const error = await h.reauth.fetch('/api/redirected').then(lostOrValue, (e) => e)
    expect(error).toMatchObject({ name: 'AuthRequiredError', reason: 'header-overflow' })
    expect(h.events).toContain('circuit:open')
    expect(h.relogins).toBe(0)
  })

  it('a network failure whose probe gets some other 400 proves nothing: the TypeError is handed back', async () => {
    const h = harness()
    server.use(
      http.get(`${ORIGIN}/api/redirected`, () => HttpResponse.error()),
      http.get(`${ORIGIN}/oauth2/auth`, () => new HttpResponse('bad', { status: 400 })),
    )
    const error = await h.reauth.fetch('/api/redirected').then(lostOrValue, (e) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(h.events).toEqual([])
  })

  it('relogin() runs a flight by hand and joins one in progress', async () => {
    const h = harness()
    const a = h.reauth.relogin()
    const b = h.reauth.relogin()
    await until(() => h.relogins === 1)
    h.finish(true)
    await Promise.all([a, b])
    expect(h.relogins).toBe(1)
  })
})

describe('coordinator: signed in but not allowed', () => {
  it("a re-login that ends as 'not-allowed' fails its requests so; no loss starts another until one succeeds", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = harness({ circuit: { failures: 100, windowMs: 60_000, cooldownMs: 60_000 } })
    session = 'gone'
    const queued = h.reauth.fetch('/api/q').then(lostOrValue, (e) => e)
    await until(() => h.relogins === 1)
    const held = h.reauth.fetch('/api/h').then(lostOrValue, (e) => e)
    const refused = new AuthRequiredError({
      reason: 'not-allowed',
      url: `${ORIGIN}/oauth2/callback`,
      method: 'GET',
    })
    h.finish(false, refused)
    expect(await queued).toMatchObject({ reason: 'not-allowed', url: `${ORIGIN}/api/q` })
    expect(await held).toMatchObject({ reason: 'not-allowed', url: `${ORIGIN}/api/h` })
    // long after the failure memory and the cooldown: still no new re-login
    vi.setSystemTime(Date.now() + 10 * 60_000)
    expect(await h.reauth.fetch('/api/l').then(lostOrValue, (e) => e)).toMatchObject({
      reason: 'not-allowed',
    })
    expect(h.relogins).toBe(1)
    // a re-login by hand that succeeds ends it
    const manual = h.reauth.relogin()
    await until(() => h.relogins === 2)
    h.finish(true)
    await manual
    expect(await h.reauth.fetch('/api/a').then((r) => r.status)).toBe(200)
  })
})

describe('coordinator: properties', () => {
  it('every request settles exactly once and at most one flight runs at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            kind: fc.constantFrom('ok', 'lost', 'abort', 'post'),
            delay: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        fc.array(fc.constantFrom('succeed', 'fail', 'hang'), { minLength: 1, maxLength: 4 }),
        async (requests, outcomes) => {
          session = 'valid'
          let active = 0
          let maxActive = 0
          let flights = 0
          const reauth = createReauth({
            crossTab: false,
            reloginTimeoutMs: 40,
            circuit: { failures: 100 },
            relogin: async ({ signal }) => {
              active++
              maxActive = Math.max(maxActive, active)
              const outcome = outcomes[flights++ % outcomes.length]
              try {
                await new Promise<void>((resolve, reject) => {
                  signal.addEventListener('abort', () => reject(signal.reason))
                  if (outcome === 'succeed') {
                    setTimeout(() => {
                      session = 'valid'
                      resolve()
                    }, 2)
                  }
                  if (outcome === 'fail') setTimeout(() => reject(new Error('no')), 2)
                })
              } finally {
                active--
              }
            },
          })
          const settled: number[] = []
          const all = requests.map(async (r, i) => {
            await new Promise((res) => setTimeout(res, r.delay))
            if (r.kind === 'lost') session = 'gone'
            const controller = new AbortController()
            if (r.kind === 'abort') setTimeout(() => controller.abort(), 1)
            const init: RequestInit = { signal: controller.signal }
            if (r.kind === 'post') Object.assign(init, { method: 'POST', body: 'b' })
            await reauth.fetch(`/api/p${i}`, init).then(
              () => settled.push(i),
              () => settled.push(i),
            )
          })
          await Promise.all(all)
          expect(settled.sort((a, b) => a - b)).toEqual(requests.map((_, i) => i))
          expect(maxActive).toBeLessThanOrEqual(1)
          reauth.uninstall()
        },
      ),
      { numRuns: 40 },
    )
  }, 30_000)
})

describe('coordinator: requests sent before the last success', () => {
  it('replays a request that went out with the old cookie without a new re-login', async () => {
    const { createCoordinator } = await import('../src/coordinator')
    const { normalizeOptions } = await import('../src/options')
    const { createEmitter } = await import('../src/events')
    const { clock } = await import('../src/clock')
    const options = normalizeOptions({ crossTab: false })
    let strategyRuns = 0
    const coordinator = createCoordinator({
      options,
      emitter: createEmitter(),
      profile: options.profile,
      probe: async () => 'signed-in',
      baseFetch: () => fetch,
      scope: { origin: ORIGIN },
      strategy: async () => {
        strategyRuns++
      },
    })
    const error = () =>
      new AuthRequiredError({ reason: 'unauthorized', url: `${ORIGIN}/api/x`, method: 'GET' })
    const facts = { url: `${ORIGIN}/api/x`, method: 'GET', accept: null, inScope: true }
    const sentBefore = clock()
    await coordinator.relogin()
    expect(strategyRuns).toBe(1)
    const replayed = await coordinator.recover(error(), {
      facts,
      send: async () => 'again',
      sentAt: sentBefore,
    })
    expect(replayed).toBe('again')
    expect(strategyRuns).toBe(1)
    // Sent after the success: a real loss, a new flight.
    const later = coordinator.recover(error(), { facts, send: async () => 'after flight', sentAt: clock() })
    expect(await later).toBe('after flight')
    expect(strategyRuns).toBe(2)
  })
})

describe('coordinator: a proxy 401 answered while its re-login ends', () => {
  it("a 401 {} sent before the flight, whose probe is the re-login's own (signed in, success not recorded yet), waits for the flight and is replayed", async () => {
    // The session probe the 401's judge asks is held until the re-login's cookie is renewed: the
    // re-login's own confirmation probe then shares it, and both read "signed in" before the flight
    // has recorded its success.
    let holdProbe: Promise<void> | null = null
    let releaseProbe = (): void => {}
    let probes = 0
    let probesAnswered = 0
    server.use(
      http.get(`${ORIGIN}/oauth2/auth`, async () => {
        probes++
        if (holdProbe) await holdProbe
        return new HttpResponse(null, { status: session === 'valid' ? 202 : 401 })
      }),
    )
    const realFetch = globalThis.fetch
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await realFetch(input, init)
      if (String(input).endsWith('/oauth2/auth')) probesAnswered++
      return response
    })
    const h = harness()
    session = 'gone'
    holdProbe = new Promise<void>((r) => (releaseProbe = r))
    // Sent with the dead cookie: the proxy answers 401 {} at once; its judge's probe waits.
    const lost = h.reauth.fetch('/api/before').then(lostOrValue, (e) => e)
    await until(() => probes === 1)
    const flight = h.reauth.relogin()
    await until(() => h.relogins === 1)
    // The re-login renews the cookie and ends; its confirmation probe joins the held one.
    h.finish(true)
    await new Promise((r) => setTimeout(r, 0))
    expect(probes).toBe(1)
    releaseProbe()
    await until(() => probesAnswered === 1)
    await flight
    const result = await lost
    expect(result).toBeInstanceOf(Response)
    expect(await (result as Response).json()).toMatchObject({ name: 'before' })
    expect(h.relogins).toBe(1)
    expect(h.events.filter((e) => e === 'request:replayed')).toHaveLength(1)
  })
})
