import { describe, expect, it } from 'vitest'
import { createHeaderPolicy, isSafelistedAccept } from '../src/core/headers'
import { normalizeOptions } from '../src/options'
import { pomerium } from '../src/profiles'

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

describe('the default Accept policy: what the app or the browser sends, as without the SDK (issue #26.3)', () => {
  // Negotiating servers pick by Accept: any entry the SDK adds can change the representation (Express's
  // negotiator ranks an exact `application/json` over `*/*`; Rails and Laravel answer JSON
  // to a bare `application/json`).
  const defaults = createHeaderPolicy(normalizeOptions())
  const APOLLO = 'application/graphql-response+json,application/json;q=0.9'
  const namesOf = (current: string | null, crossOrigin = false) =>
    defaults((n) => (n === 'accept' ? current : null), crossOrigin)

  it('sets no Accept where the app set none (htmx, a bare fetch or XHR: the browser sends */*)', () => {
    expect(namesOf(null)).toEqual([])
    expect(namesOf(null, true)).toEqual([])
  })

  it("never extends the app's own Accept (Apollo's, */*, application/*)", () => {
    for (const accept of [APOLLO, '*/*', 'application/*', 'text/html, */*;q=0.8', 'application/json'])
      expect(namesOf(accept)).toEqual([])
  })

  it('behind a proxy that reads X-Requested-With: that header alone, only where the app set none', () => {
    const pomeriumDefaults = createHeaderPolicy(normalizeOptions({ proxy: pomerium() }))
    expect(pomeriumDefaults(() => null)).toEqual([['x-requested-with', 'XMLHttpRequest']])
    expect(pomeriumDefaults((n) => (n === 'x-requested-with' ? 'Mine' : null))).toEqual([])
  })

  it("headers.accept: 'application/json' is the opt-in: set where none, appended where JSON is admitted", () => {
    const optIn = createHeaderPolicy(normalizeOptions({ headers: { accept: 'application/json' } }))
    const of = (current: string | null) => optIn((n) => (n === 'accept' ? current : null))
    expect(of(null)).toEqual([['accept', 'application/json']])
    expect(of('*/*')).toEqual([['accept', '*/*, application/json']])
    expect(of(APOLLO)).toEqual([['accept', `${APOLLO}, application/json`]])
    expect(of('text/html')).toEqual([])
    expect(of('application/json')).toEqual([])
  })
})
