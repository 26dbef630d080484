import { describe, expect, it } from 'vitest'
import { createWire } from '../src/coordinator/wire'

const KEY = 'GET http://app.test/api/items'

describe('wire: one request seen through several layers is counted once', () => {
  it('the layer that sends a request takes over the outer layer’s count for it', async () => {
    const wire = createWire({ locks: undefined, name: 'test' })
    const releaseOuter = wire.hold(KEY)
    expect(wire.count).toBe(1)
    const endInner = wire.track(KEY)
    expect(wire.count).toBe(1)
    // the inner layer saw the answer: the request has landed, whatever the outer layer does later
    endInner()
    expect(wire.count).toBe(0)
    await wire.quiet()
    releaseOuter()
    expect(wire.count).toBe(0)
  })

  it('an outer count nobody takes over lasts until it is released; other requests count for themselves', () => {
    const wire = createWire({ locks: undefined, name: 'test' })
    const releaseOuter = wire.hold(KEY)
    const other = wire.track('GET http://app.test/api/other')
    const unnamed = wire.track()
    expect(wire.count).toBe(3)
    releaseOuter()
    releaseOuter()
    expect(wire.count).toBe(2)
    // released, it can no longer be taken over: this one counts for itself
    const late = wire.track(KEY)
    expect(wire.count).toBe(3)
    for (const end of [other, unnamed, late]) end()
    expect(wire.count).toBe(0)
  })

  it('two outer counts for the same request are taken over one each', () => {
    const wire = createWire({ locks: undefined, name: 'test' })
    const outers = [wire.hold(KEY), wire.hold(KEY)]
    const inners = [wire.track(KEY), wire.track(KEY), wire.track(KEY)]
    expect(wire.count).toBe(3)
    for (const end of inners) end()
    expect(wire.count).toBe(0)
    for (const release of outers) release()
    expect(wire.count).toBe(0)
  })
})

describe('wire: stop what is unanswered at the first proven loss', () => {
  it('aborts only the requests counted with a stop controller and not answered yet, once, with the loss', () => {
    const wire = createWire({ locks: undefined, name: 'test' })
    const [a, b, c] = [new AbortController(), new AbortController(), new AbortController()]
    const endA = wire.track(undefined, a)
    const endB = wire.track(undefined, b)
    const endPlain = wire.track()
    wire.track(undefined, c)
    // b's answer came: it is no longer stoppable
    endB()
    const loss = new Error('lost')
    wire.stop(loss)
    expect([a.signal.aborted, b.signal.aborted, c.signal.aborted]).toEqual([true, false, true])
    expect(a.signal.reason).toMatchObject({ name: 'AbortError', loss })
    // a second loss finds nothing left to stop
    const again = a.signal.reason
    wire.stop(new Error('again'))
    expect(a.signal.reason).toBe(again)
    endA()
    endPlain()
    expect(wire.count).toBe(1)
  })
})
