import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CrossTab, type CrossTabEnv, createCrossTab } from '../src/cross-tab'
import { isReauthError } from '../src/errors'

const ORIGIN = 'http://app.test'
const PROFILE = 'oauth2-proxy'
const CHANNEL = `ajax-reauth:${ORIGIN}:${PROFILE}`

/** One "browser": a shared localStorage, BroadcastChannel bus and Web Locks manager for several tabs. */
class Browser {
  store = new Map<string, string>()
  targets = new Set<EventTarget>()
  channels = new Set<FakeChannel>()
  locks = new FakeLocks()
  channelsCreated = 0

  /** Deliver a raw message on the channel bus, as if from a page of `origin`. */
  inject(data: unknown, origin = ORIGIN, name = CHANNEL): void {
    for (const ch of this.channels) if (ch.name === name) ch.deliver(data, origin)
  }

  tab(opts: { locks?: boolean; channel?: boolean; enabled?: boolean; now?: () => number } = {}): {
    tab: CrossTab
    target: EventTarget
  } {
    const target = new EventTarget()
    this.targets.add(target)
    const browser = this
    const storage = {
      getItem: (k: string) => browser.store.get(k) ?? null,
      setItem: (k: string, v: string) => {
        browser.store.set(k, v)
        browser.storageEvent(target, k, v)
      },
      removeItem: (k: string) => {
        browser.store.delete(k)
        browser.storageEvent(target, k, null)
      },
    }
    class Channel extends FakeChannel {
      constructor(name: string) {
        super(name, browser)
        browser.channelsCreated++
      }
    }
    const env: Partial<CrossTabEnv> = {
      locks: opts.locks === false ? undefined : this.locks,
      BroadcastChannel: opts.channel === false ? undefined : Channel,
      storage,
      target,
      // Each simulated tab is its own page: copies of the SDK share a flight only within one.
      page: target,
      ...(opts.now ? { now: opts.now } : {}),
    }
    const tab = createCrossTab({ enabled: opts.enabled ?? true, origin: ORIGIN, profileName: PROFILE, env })
    return { tab, target }
  }

  /** Like a browser: other tabs get a `storage` event, asynchronously; the writer does not. */
  storageEvent(from: EventTarget, key: string, newValue: string | null): void {
    for (const t of this.targets) {
      if (t === from) continue
      setTimeout(() =>
        t.dispatchEvent(Object.assign(new Event('storage'), { key, newValue, url: `${ORIGIN}/` })),
      )
    }
  }
}

class FakeChannel {
  onmessage: ((event: MessageEvent) => void) | null = null
  closed = false
  constructor(
    readonly name: string,
    readonly browser: Browser,
  ) {
    browser.channels.add(this)
  }
  postMessage(data: unknown): void {
    const copy = structuredClone(data)
    for (const ch of this.browser.channels) if (ch !== this && ch.name === this.name) ch.deliver(copy, ORIGIN)
  }
  deliver(data: unknown, origin: string): void {
    setTimeout(() => {
      if (!this.closed) this.onmessage?.({ data, origin } as MessageEvent)
    })
  }
  close(): void {
    this.closed = true
    this.browser.channels.delete(this)
  }
}

/** Web Locks, exclusive mode, one name: granted in request order, released when the callback settles. */
class FakeLocks {
  held = false
  queue: { cb: () => Promise<void>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = []
  request(_name: string, options: { signal?: AbortSignal }, cb: () => Promise<void>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry = { cb, resolve, reject }
      const signal = options.signal
      if (signal?.aborted) return reject(signal.reason)
      signal?.addEventListener('abort', () => {
        const i = this.queue.indexOf(entry)
        if (i >= 0) {
          this.queue.splice(i, 1)
          reject(signal.reason)
        }
      })
      this.queue.push(entry)
      this.pump()
    })
  }
  pump(): void {
    if (this.held) return
    const next = this.queue.shift()
    if (!next) return
    this.held = true
    Promise.resolve()
      .then(next.cb)
      .then(next.resolve, next.reject)
      .finally(() => {
        this.held = false
        this.pump()
      })
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const tabs: CrossTab[] = []
const track = <T extends { tab: CrossTab }>(t: T): T => {
  tabs.push(t.tab)
  return t
}
afterEach(() => {
  for (const t of tabs.splice(0)) t.dispose()
})

const slowLead =
  (calls: { n: number }, ms = 80) =>
  async (signal: AbortSignal) => {
    calls.n++
    await sleep(ms)
    signal.throwIfAborted()
  }

describe.each([
  ['Web Locks + BroadcastChannel', { locks: true, channel: true }],
  ['localStorage lease + BroadcastChannel', { locks: false, channel: true }],
  ['localStorage lease + storage events only', { locks: false, channel: false }],
])('%s', (_label, mode) => {
  it('runs lead once for many concurrent flights in several tabs', async () => {
    const browser = new Browser()
    const [a, b, c] = [0, 1, 2].map(() => track(browser.tab(mode)).tab) as [CrossTab, CrossTab, CrossTab]
    const calls = { n: 0 }
    const results = await Promise.all(
      [a, b, c].flatMap((t) =>
        Array.from({ length: 10 }, () => t.flight(slowLead(calls), new AbortController().signal)),
      ),
    )
    expect(calls.n).toBe(1)
    expect(results.filter((r) => r.leader)).toHaveLength(1)
    expect(new Set(results.map((r) => r.generation)).size).toBe(1)
  })

  it("rejects every waiting tab when the leader's re-login fails", async () => {
    const browser = new Browser()
    const a = track(browser.tab(mode)).tab
    const b = track(browser.tab(mode)).tab
    let calls = 0
    const lead = async () => {
      calls++
      await sleep(50)
      throw new Error('iframe said no')
    }
    const results = await Promise.allSettled([
      a.flight(lead, new AbortController().signal),
      b.flight(lead, new AbortController().signal),
    ])
    expect(calls).toBe(1)
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'resolved'))
    expect(reasons.sort()).toEqual(["Another tab's re-login failed", 'iframe said no'])
  })

  it('tells onRemote about other tabs only', async () => {
    const browser = new Browser()
    const a = track(browser.tab(mode)).tab
    const b = track(browser.tab(mode)).tab
    const seenA = vi.fn()
    const seenB = vi.fn()
    a.onRemote(seenA)
    const off = b.onRemote(seenB)
    await a.flight(async () => {}, new AbortController().signal)
    await vi.waitFor(() => expect(seenB).toHaveBeenCalledTimes(1))
    expect(seenB.mock.calls[0]![0]).toMatchObject({ kind: 'success', generation: expect.any(Number) })
    off()
    await a.flight(async () => {}, new AbortController().signal)
    await sleep(30)
    expect(seenB).toHaveBeenCalledTimes(1)
    expect(seenA).not.toHaveBeenCalled()
  })
})

describe('leader loss and abort', () => {
  it('Web Locks: a leader that aborts announces nothing and the next waiter runs lead itself', async () => {
    const browser = new Browser()
    const a = track(browser.tab()).tab
    const b = track(browser.tab()).tab
    const aCtrl = new AbortController()
    const aRan = vi.fn()
    const aFlight = a.flight(async () => {
      aRan()
      await new Promise(() => {}) // a lead that never settles and ignores its signal
    }, aCtrl.signal)
    await vi.waitFor(() => expect(aRan).toHaveBeenCalled())
    const bLead = vi.fn(async () => {})
    const bFlight = b.flight(bLead, new AbortController().signal)
    await sleep(20)
    expect(bLead).not.toHaveBeenCalled()
    aCtrl.abort(new Error('timeout'))
    await expect(aFlight).rejects.toThrow('timeout')
    await expect(bFlight).resolves.toMatchObject({ leader: true })
    expect(bLead).toHaveBeenCalledTimes(1)
  })

  it('lease: pagehide of the leader releases the lease and a waiter takes over', async () => {
    const browser = new Browser()
    const a = track(browser.tab({ locks: false }))
    const b = track(browser.tab({ locks: false }))
    const aRan = vi.fn()
    const parked = a.tab.flight(async () => {
      aRan()
      await new Promise(() => {})
    }, new AbortController().signal)
    parked.catch(() => {}) // rejected by dispose() after the test
    await vi.waitFor(() => expect(aRan).toHaveBeenCalled())
    expect(browser.store.has(`${CHANNEL}:lease`)).toBe(true)
    const bLead = vi.fn(async () => {})
    const bFlight = b.tab.flight(bLead, new AbortController().signal)
    await sleep(100)
    expect(bLead).not.toHaveBeenCalled()
    a.target.dispatchEvent(new Event('pagehide'))
    await expect(bFlight).resolves.toMatchObject({ leader: true })
    expect(bLead).toHaveBeenCalledTimes(1)
  })

  it('lease: an expired lease of a dead tab is taken over without any event', async () => {
    const browser = new Browser()
    const b = track(browser.tab({ locks: false })).tab
    browser.store.set(`${CHANNEL}:lease`, JSON.stringify({ owner: 'dead-tab', expires: Date.now() + 300 }))
    const bLead = vi.fn(async () => {})
    const started = Date.now()
    await expect(b.flight(bLead, new AbortController().signal)).resolves.toMatchObject({ leader: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(280)
    expect(bLead).toHaveBeenCalledTimes(1)
    await vi.waitFor(() => expect(browser.store.has(`${CHANNEL}:lease`)).toBe(false))
  })

  it.each([true, false])(
    'abort rejects a waiting flight at once with its reason (locks: %s)',
    async (locks) => {
      const browser = new Browser()
      const a = track(browser.tab({ locks })).tab
      const b = track(browser.tab({ locks })).tab
      let releaseA!: () => void
      const aFlight = a.flight(() => new Promise<void>((r) => (releaseA = r)), new AbortController().signal)
      await vi.waitFor(() => expect(releaseA).toBeDefined())
      const ctrl = new AbortController()
      const bLead = vi.fn(async () => {})
      const bFlight = b.flight(bLead, ctrl.signal)
      ctrl.abort(new Error('uninstalled'))
      await expect(bFlight).rejects.toThrow('uninstalled')
      if (locks) expect(browser.locks.queue).toHaveLength(0)
      releaseA()
      await expect(aFlight).resolves.toMatchObject({ leader: true })
      expect(bLead).not.toHaveBeenCalled()
    },
  )

  it('a flight that starts in the same clock tick as the previous success still runs lead', async () => {
    const browser = new Browser()
    const a = track(browser.tab({ now: () => 1_000 })).tab
    const b = track(browser.tab({ now: () => 1_000 })).tab
    const calls = { n: 0 }
    await a.flight(slowLead(calls, 1), new AbortController().signal)
    await sleep(200)
    await b.flight(slowLead(calls, 1), new AbortController().signal)
    await a.flight(slowLead(calls, 1), new AbortController().signal)
    expect(calls.n).toBe(3)
  })

  it('a tab that gets the lock after a success it heard of does nothing', async () => {
    const browser = new Browser()
    const started = 1_000_000
    let t = started
    // Time goes on while b waits for the lock.
    const b = track(browser.tab({ now: () => t++ })).tab
    // A success that happened after b's flight began is already in storage when b is granted the lock,
    // before the broadcast could arrive.
    const lead = vi.fn(async () => {})
    const flight = b.flight(lead, new AbortController().signal)
    browser.store.set(
      `${CHANNEL}:msg`,
      JSON.stringify({
        source: 'ajax-reauth',
        v: 1,
        kind: 'success',
        generation: started + 5,
        channel: CHANNEL,
        id: 'x',
        at: started + 1,
      }),
    )
    await expect(flight).resolves.toEqual({ leader: false, generation: started + 5 })
    expect(lead).not.toHaveBeenCalled()
  })

  it('dispose rejects flights still waiting', async () => {
    const browser = new Browser()
    const a = track(browser.tab()).tab
    const b = browser.tab().tab
    a.flight(() => new Promise(() => {}), new AbortController().signal).catch(() => {})
    const waiting = b.flight(async () => {}, new AbortController().signal)
    b.dispose()
    await expect(waiting).rejects.toSatisfy(isReauthError)
  })
})

describe('message validation', () => {
  const valid = (over: Record<string, unknown> = {}) => ({
    source: 'ajax-reauth',
    v: 1,
    kind: 'success',
    generation: Date.now() + 10,
    channel: CHANNEL,
    id: Math.random().toString(36),
    at: Date.now() + 10,
    ...over,
  })

  it.each([
    ['another library', { source: 'other-lib' }],
    ['another version', { v: 2 }],
    ['an unknown kind', { kind: 'callback' }],
    ['another channel (profile)', { channel: `ajax-reauth:${ORIGIN}:pomerium` }],
    ['a non-integer generation', { generation: 1.5 }],
    ['a string generation', { generation: '9' }],
    ['no id', { id: undefined }],
  ])('ignores %s', async (_label, over) => {
    const browser = new Browser()
    const tab = track(browser.tab()).tab
    const seen = vi.fn()
    tab.onRemote(seen)
    browser.inject(valid(over))
    browser.inject('success')
    browser.inject(null)
    await sleep(20)
    expect(seen).not.toHaveBeenCalled()
    browser.inject(valid())
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(1))
  })

  it('ignores a well-formed message from another origin, and storage events from another origin', async () => {
    const browser = new Browser()
    const { tab, target } = track(browser.tab())
    const seen = vi.fn()
    tab.onRemote(seen)
    browser.inject(valid(), 'http://evil.test')
    target.dispatchEvent(
      Object.assign(new Event('storage'), {
        key: `${CHANNEL}:msg`,
        newValue: JSON.stringify(valid()),
        url: 'http://evil.test/',
      }),
    )
    await sleep(20)
    expect(seen).not.toHaveBeenCalled()
  })

  it('a foreign message does not settle a waiting flight', async () => {
    const browser = new Browser()
    const a = track(browser.tab()).tab
    const b = track(browser.tab()).tab
    let releaseA!: () => void
    const aFlight = a.flight(() => new Promise<void>((r) => (releaseA = r)), new AbortController().signal)
    await vi.waitFor(() => expect(releaseA).toBeDefined())
    const settled = vi.fn()
    b.flight(async () => {}, new AbortController().signal).then(settled, settled)
    browser.inject(valid(), 'http://evil.test')
    browser.inject(valid({ kind: 'failure', source: 'x' }))
    await sleep(30)
    expect(settled).not.toHaveBeenCalled()
    browser.inject(valid({ kind: 'failure' }))
    await vi.waitFor(() => expect(settled).toHaveBeenCalledWith(expect.any(Error)))
    releaseA()
    await expect(aFlight).resolves.toMatchObject({ leader: true })
  })
})

describe('disabled', () => {
  it('crossTab: false runs lead as leader and creates no channel, lock or listener', async () => {
    const browser = new Browser()
    const spy = vi.spyOn(browser.locks, 'request')
    const { tab } = track(browser.tab({ enabled: false }))
    const other = track(browser.tab()).tab
    let hold!: () => void
    const held = other.flight(() => new Promise<void>((r) => (hold = r)), new AbortController().signal)
    await vi.waitFor(() => expect(hold).toBeDefined())
    spy.mockClear()
    const lead = vi.fn(async () => {})
    // Another tab holds the lock, yet the disabled tab runs at once.
    await expect(tab.flight(lead, new AbortController().signal)).resolves.toMatchObject({ leader: true })
    expect(lead).toHaveBeenCalledTimes(1)
    expect(spy).not.toHaveBeenCalled()
    expect(browser.channelsCreated).toBe(1)
    hold()
    await held
  })

  it('without a window it runs lead as leader', async () => {
    const tab = createCrossTab({ enabled: true, origin: ORIGIN, profileName: PROFILE })
    tabs.push(tab)
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined')
    const lead = vi.fn(async () => {})
    const first = await tab.flight(lead, new AbortController().signal)
    const second = await tab.flight(lead, new AbortController().signal)
    expect(first.leader && second.leader).toBe(true)
    expect(second.generation).toBeGreaterThan(first.generation)
    expect(lead).toHaveBeenCalledTimes(2)
  })
})

describe("messages dated by the sender's clock", () => {
  const message = (at: number, over: Record<string, unknown> = {}) => ({
    source: 'ajax-reauth',
    v: 1,
    kind: 'success',
    generation: Math.floor(at),
    channel: CHANNEL,
    id: Math.random().toString(36),
    at,
    ...over,
  })

  it.each([
    ['broadcast', 'channel'],
    ['stored outcome', 'storage'],
  ] as const)(
    'a %s dated in the future is ignored: later flights still sign in',
    async (_label, transport) => {
      const browser = new Browser()
      const tab = track(browser.tab()).tab
      const seen = vi.fn()
      tab.onRemote(seen)
      const forged = message(Date.now() + 3_600_000)
      if (transport === 'channel') browser.inject(forged)
      else browser.store.set(`${CHANNEL}:msg`, JSON.stringify(forged))
      await sleep(20)
      expect(tab.lastSuccessAt()).toBe(Number.NEGATIVE_INFINITY)
      expect(seen).not.toHaveBeenCalled()
      const lead = vi.fn(async () => {})
      await expect(tab.flight(lead, new AbortController().signal)).resolves.toMatchObject({ leader: true })
      expect(lead).toHaveBeenCalledTimes(1)
    },
  )

  it('a waiting flight is not settled by a future-dated success; a current one settles it', async () => {
    const browser = new Browser()
    const a = track(browser.tab()).tab
    const b = track(browser.tab()).tab
    let releaseA!: () => void
    const aFlight = a.flight(() => new Promise<void>((r) => (releaseA = r)), new AbortController().signal)
    await vi.waitFor(() => expect(releaseA).toBeDefined())
    const settled = vi.fn()
    b.flight(async () => {}, new AbortController().signal).then(settled, settled)
    browser.inject(message(Date.now() + 60_000))
    await sleep(30)
    expect(settled).not.toHaveBeenCalled()
    browser.inject(message(Date.now() + 1))
    await vi.waitFor(() => expect(settled).toHaveBeenCalledWith(expect.objectContaining({ leader: false })))
    releaseA()
    await aFlight
  })

  it('a small skew is tolerated, but never dated later than its arrival', async () => {
    const browser = new Browser()
    const tab = track(browser.tab()).tab
    const seen = vi.fn()
    tab.onRemote(seen)
    const before = Date.now()
    browser.inject(message(before + 500))
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(1))
    // Counted as "succeeded by the time it arrived": a flight that starts now is not taken as answered.
    expect(tab.lastSuccessAt()).toBeLessThanOrEqual(Date.now())
    expect(tab.lastSuccessAt()).toBeGreaterThanOrEqual(before)
    const lead = vi.fn(async () => {})
    await tab.flight(lead, new AbortController().signal)
    expect(lead).toHaveBeenCalledTimes(1)
  })

  it.each([
    ['a generation far ahead of the clock', { generation: Date.now() + 3_600_000 }],
    ['a huge id', { id: 'x'.repeat(10_000) }],
    ['an empty id', { id: '' }],
    ['a negative at', { at: -1 }],
  ])('ignores %s', async (_label, over) => {
    const browser = new Browser()
    const tab = track(browser.tab()).tab
    const seen = vi.fn()
    tab.onRemote(seen)
    browser.inject(message(Date.now(), over))
    await sleep(20)
    expect(seen).not.toHaveBeenCalled()
  })

  it('lease: a lease dated far in the future does not block every tab forever', async () => {
    const browser = new Browser()
    const b = track(browser.tab({ locks: false })).tab
    browser.store.set(
      `${CHANNEL}:lease`,
      JSON.stringify({ owner: 'skewed', expires: Date.now() + 3_600_000 }),
    )
    const lead = vi.fn(async () => {})
    await expect(b.flight(lead, new AbortController().signal)).resolves.toMatchObject({ leader: true })
    expect(lead).toHaveBeenCalledTimes(1)
  })

  it('end to end: a forged future success does not make relogin() resolve without signing in', async () => {
    const { createReauth } = await import('../src/client')
    const { stubPage } = await import('./helpers/page')
    stubPage(`${ORIGIN}/app/`)
    // The session probe answers "signed in" after each re-login.
    vi.stubGlobal('fetch', async () => new Response(null, { status: 202 }))
    const relogin = vi.fn(async () => {})
    const reauth = createReauth({ relogin, crossTab: true })
    // Node's own BroadcastChannel, as any script of the origin could post.
    const forger = new BroadcastChannel(CHANNEL)
    try {
      await reauth.relogin() // opens the channel
      relogin.mockClear()
      forger.postMessage(message(Date.now() + 3_600_000))
      await sleep(30)
      await reauth.relogin()
      expect(relogin).toHaveBeenCalledTimes(1)
    } finally {
      forger.close()
      reauth.uninstall()
      vi.unstubAllGlobals()
    }
  })
})
