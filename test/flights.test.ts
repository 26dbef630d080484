import { describe, expect, it, vi } from 'vitest'
import { joinOrStart, lastSharedSuccess, sharedGuarded } from '../src/flights'

const deferred = <T = void>() => {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('joinOrStart', () => {
  it('one flight per key: a second caller joins it and gets the same value', async () => {
    const page = {}
    const flight = deferred<number>()
    const start = vi.fn(() => flight.promise)
    const first = joinOrStart('k', start, undefined, page)
    const second = joinOrStart('k', start, undefined, page)
    const other = joinOrStart('other', async () => 7, undefined, page)
    expect(start).toHaveBeenCalledTimes(1)
    flight.resolve(42)
    expect(await first).toEqual({ value: 42, joined: false })
    expect(await second).toEqual({ value: 42, joined: true })
    expect(await other).toEqual({ value: 7, joined: false })
  })

  it('after the flight settles, the next caller starts a new one', async () => {
    const page = {}
    const start = vi.fn(async () => 1)
    await joinOrStart('k', start, undefined, page)
    await joinOrStart('k', start, undefined, page)
    expect(start).toHaveBeenCalledTimes(2)
  })

  it('a failure reaches every joiner, and the next caller starts afresh', async () => {
    const page = {}
    const flight = deferred()
    const first = joinOrStart('k', () => flight.promise, undefined, page)
    const second = joinOrStart('k', async () => {}, undefined, page)
    const error = new Error('provider said no')
    flight.reject(error)
    await expect(first).rejects.toBe(error)
    await expect(second).rejects.toBe(error)
    // A joiner that reacts to the failure by starting again starts a new flight, not the failed one.
    const start = vi.fn(async () => {})
    await second.catch(() => joinOrStart('k', start, undefined, page))
    expect(start).toHaveBeenCalledTimes(1)
  })

  it("aborting a joiner's signal ends only its wait", async () => {
    const page = {}
    const flight = deferred<string>()
    const first = joinOrStart('k', () => flight.promise, undefined, page)
    const ctrl = new AbortController()
    const joiner = joinOrStart('k', async () => 'never', ctrl.signal, page)
    ctrl.abort(new Error('timed out'))
    await expect(joiner).rejects.toThrow('timed out')
    const aborted = new AbortController()
    aborted.abort(new Error('already'))
    await expect(joinOrStart('k', async () => 'never', aborted.signal, page)).rejects.toThrow('already')
    flight.resolve('done')
    expect(await first).toEqual({ value: 'done', joined: false })
  })

  it('a start that throws synchronously rejects and leaves nothing behind', async () => {
    const page = {}
    await expect(
      joinOrStart(
        'k',
        () => {
          throw new Error('sync')
        },
        undefined,
        page,
      ),
    ).rejects.toThrow('sync')
    expect(await joinOrStart('k', async () => 'next', undefined, page)).toEqual({
      value: 'next',
      joined: false,
    })
  })

  it('remembers when the last flight succeeded, per key; failures do not count', async () => {
    const page = {}
    expect(lastSharedSuccess('k', page)).toBe(Number.NEGATIVE_INFINITY)
    const before = performance.timeOrigin + performance.now()
    await joinOrStart('k', async () => {}, undefined, page)
    const at = lastSharedSuccess('k', page)
    expect(at).toBeGreaterThanOrEqual(before)
    await joinOrStart('k', () => Promise.reject(new Error('no')), undefined, page).catch(() => {})
    expect(lastSharedSuccess('k', page)).toBe(at)
    expect(lastSharedSuccess('other', page)).toBe(Number.NEGATIVE_INFINITY)
  })

  it('lives on the global under a versioned Symbol.for key, shared by every copy of the module', async () => {
    vi.resetModules()
    const copy = await import('../src/flights')
    expect(copy.joinOrStart).not.toBe(joinOrStart)
    const flight = deferred<string>()
    const first = joinOrStart('shared', () => flight.promise)
    const second = copy.joinOrStart('shared', async () => 'second copy ran')
    flight.resolve('first copy ran')
    expect(await second).toEqual({ value: 'first copy ran', joined: true })
    await first
    expect(copy.lastSharedSuccess('shared')).toBe(lastSharedSuccess('shared'))
    expect(Object.getOwnPropertySymbols(globalThis).map(String)).toContain('Symbol(ajax-reauth.flights.v1)')
  })
})

describe('sharedGuarded', () => {
  it('is one WeakMap per page, the same for every copy of the module', async () => {
    const page = {}
    expect(sharedGuarded(page)).toBe(sharedGuarded(page))
    expect(sharedGuarded({})).not.toBe(sharedGuarded(page))
    vi.resetModules()
    const copy = await import('../src/flights')
    const request = {}
    sharedGuarded<Error | null>().set(request, null)
    expect(copy.sharedGuarded().has(request)).toBe(true)
  })
})
