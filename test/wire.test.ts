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
