import { describe, expect, it } from 'vitest'
import { createHeaderPolicy, isSafelistedAccept } from '../src/core/headers'

const policy = createHeaderPolicy({ headers: { accept: 'application/json', requestedWith: false } })
const acceptOf = (current: string | null, crossOrigin: boolean) =>
  policy((n) => (n === 'accept' ? current : null), crossOrigin).find(([n]) => n === 'accept')?.[1] ?? null

describe('the Accept extension keeps a cross-origin request CORS-safelisted (issue #22.13)', () => {
  // 124 bytes with `*/*`: `, application/json` takes it to 142.
  const long = `application/vnd.example.report+json;version=2, application/vnd.example.summary+json;version=3, text/csv;q=0.5, */*;q=0.1`

  it('Fetch: at most 128 bytes, no CORS-unsafe byte', () => {
    expect(isSafelistedAccept('*/*')).toBe(true)
    expect(isSafelistedAccept('a'.repeat(128))).toBe(true)
    expect(isSafelistedAccept('a'.repeat(129))).toBe(false)
    for (const c of ['"', '(', ')', ':', '<', '>', '?', '@', '[', '\\', ']', '{', '}', '\x7f', '\x01', '\n'])
      expect(isSafelistedAccept(`text/${c}`)).toBe(false)
    expect(isSafelistedAccept('text/html;\tq=0.9')).toBe(true)
  })

  it('cross-origin: not extended past 128 bytes; extended when it stays within', () => {
    expect(acceptOf(long, true)).toBeNull()
    expect(acceptOf('*/*', true)).toBe('*/*, application/json')
    expect(acceptOf(null, true)).toBe('application/json')
  })

  it('cross-origin: an Accept the app made unsafe already is extended (its preflight is the app’s)', () => {
    const unsafe = `${long}, text/plain;q=0.01`
    expect(isSafelistedAccept(unsafe)).toBe(false)
    expect(acceptOf(unsafe, true)).toBe(`${unsafe}, application/json`)
  })

  it('same origin: no preflight to lose, always extended', () => {
    expect(acceptOf(long, false)).toBe(`${long}, application/json`)
  })
})
