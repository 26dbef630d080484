import { describe, expect, it } from 'vitest'
import { ReauthError } from '../src/errors'
import { applyPatch, isWrapper, unwrap } from '../src/patch'

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
    expect(isWrapper(target.fn)).toBe(true)
    expect(unwrap(target.fn)).toBe(original)
    restore()
    restore()
    expect(Object.getOwnPropertyDescriptor(target, 'fn')).toEqual(before)
    expect(target.fn).toBe(original)
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
