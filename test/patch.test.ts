import { describe, expect, it } from 'vitest'
import { ReauthError } from '../src/errors'
import { applyPatch, unwrap } from '../src/patch'

describe('applyPatch', () => {
  it('restores the exact original descriptor, and restoring twice is safe', () => {
    const target: Record<string, unknown> = {}
    const original = () => 'native'
    Object.defineProperty(target, 'fn', {
      value: original,
      writable: false,
      enumerable: false,
      configurable: true,
    })
    const before = Object.getOwnPropertyDescriptor(target, 'fn')
    const owner = {}
    const restore = applyPatch<() => string>(target, 'fn', owner, (real) => () => `wrapped ${real()}`)
    expect((target.fn as () => string)()).toBe('wrapped native')
    expect(unwrap(target.fn)).toBe(original)
    restore()
    restore()
    expect(Object.getOwnPropertyDescriptor(target, 'fn')).toEqual(before)
    expect(target.fn).toBe(original)
  })

  it('unwraps only its own layer: a wrapper installed on top stays, and still calls through', () => {
    const target: Record<string, unknown> = { fn: () => 'native' }
    const restore = applyPatch<() => string>(target, 'fn', {}, (real) => () => `sdk ${real()}`)
    const sdk = target.fn as () => string
    const later = () => `later ${sdk()}`
    target.fn = later
    restore()
    expect(target.fn).toBe(later)
    expect(later()).toBe('later sdk native')
    restore()
    expect(target.fn).toBe(later)
  })

  it('leaves an accessor another library defined on top in place', () => {
    const target: Record<string, unknown> = { fn: () => 1 }
    const restore = applyPatch(target, 'fn', {}, (real) => real)
    const later = () => 2
    Object.defineProperty(target, 'fn', { configurable: true, get: () => later })
    restore()
    expect(target.fn).toBe(later)
  })

  it('a new patch after a restore under a later wrapper wraps that wrapper', () => {
    const target: Record<string, unknown> = { fn: () => 'native' }
    const owner = {}
    const restore = applyPatch<() => string>(target, 'fn', owner, (real) => () => `a ${real()}`)
    const a = target.fn as () => string
    target.fn = () => `later ${a()}`
    restore()
    const again = applyPatch<() => string>(target, 'fn', owner, (real) => () => `b ${real()}`)
    expect((target.fn as () => string)()).toBe('b later a native')
    again()
    expect((target.fn as () => string)()).toBe('later a native')
  })

  it('removes a property that was not there', () => {
    const target: Record<string, unknown> = {}
    const restore = applyPatch(target, 'missing', {}, () => () => 1)
    expect(typeof target.missing).toBe('function')
    restore()
    expect('missing' in target).toBe(false)
  })

  it('refuses a double patch, by the same or another owner', () => {
    const target = { fn: () => 1 }
    const a = {}
    const restore = applyPatch(target, 'fn', a, (f) => f)
    expect(() => applyPatch(target, 'fn', a, (f) => f)).toThrow(ReauthError)
    expect(() => applyPatch(target, 'fn', {}, (f) => f)).toThrow(/another ajax-reauth instance/)
    restore()
    expect(() => applyPatch(target, 'fn', {}, (f) => f)()).not.toThrow()
  })

  it('keeps its registry on a Symbol.for key, shared by every copy', () => {
    expect(Object.getOwnPropertySymbols(globalThis).map(String)).toContain(
      'Symbol(ajax-reauth.patch-registry)',
    )
  })
})
