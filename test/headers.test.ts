import { describe, expect, it } from 'vitest'
import { createHeaderPolicy, isSafelistedAccept } from '../src/core/headers'
import { normalizeOptions } from '../src/options'
import { pomerium } from '../src/profiles'

const policy = createHeaderPolicy({ headers: { accept: 'application/json', requestedWith: false } })
const acceptOf = (current: string | null, crossOrigin: boolean) =>
  policy((n) => (n === 'accept' ? current : null), crossOrigin).find(([n]) => n === 'accept')?.[1] ?? null

describe('the Accept extension keeps a cross-origin request CORS-safelisted (issue #22.13)', () => {
  // 115 bytes, every entry admitting JSON: `, application/json` takes it to 133.
  const long =
    'application/json;v=4;q=0.9, application/json;v=3;q=0.8, application/json;v=2;q=0.7, application/*;q=0.6, */*;q=0.1'

  it('Fetch: at most 128 bytes, no CORS-unsafe byte', () => {
    expect(isSafelistedAccept('*/*')).toBe(true)
    expect(isSafelistedAccept('a'.repeat(128))).toBe(true)
    expect(isSafelistedAccept('a'.repeat(129))).toBe(false)
    for (const c of ['"', '(', ')', ':', '<', '>', '?', '@', '[', '\\', ']', '{', '}', '\x7f', '\x01', '\n'])
      expect(isSafelistedAccept(`text/${c}`)).toBe(false)
    expect(isSafelistedAccept('text/html;\tq=0.9')).toBe(true)
  })

  it('cross-origin: not extended past 128 bytes; extended when it stays within', () => {
    expect(long.length + ', application/json'.length).toBeGreaterThan(128)
    expect(acceptOf(long, true)).toBeNull()
    expect(acceptOf('*/*', true)).toBe('*/*, application/json')
    expect(acceptOf(null, true)).toBe('application/json')
  })

  it('cross-origin: an Accept the app made unsafe already is extended (its preflight is the app’s)', () => {
    const unsafe = `${long}, application/json;v=1;q=0.01`
    expect(isSafelistedAccept(unsafe)).toBe(false)
    expect(acceptOf(unsafe, true)).toBe(`${unsafe}, application/json`)
  })

  it('same origin: no preflight to lose, always extended', () => {
    expect(acceptOf(long, false)).toBe(`${long}, application/json`)
  })
})

describe('the default Accept policy: the app keeps the representation it asked for (issue #26.3)', () => {
  // Negotiating servers pick by Accept: an exact `application/json` outranks `*/*` in Express's
  // negotiator, and Rails and Laravel answer JSON to it. oauth2-proxy answers its Ajax 401 only to an
  // exact entry (oauthproxy.go isAjax). So the SDK adds one only where the app asked for no type.
  const defaults = createHeaderPolicy(normalizeOptions())
  const APOLLO = 'application/graphql-response+json,application/json;q=0.9'
  const of = (current: string | null, more: Record<string, string> = {}, crossOrigin = false) =>
    defaults((n) => (n === 'accept' ? current : (more[n] ?? null)), crossOrigin)

  it('sets application/json where the app set none (a bare fetch or XHR: a data request)', () => {
    expect(of(null)).toEqual([['accept', 'application/json']])
    expect(of(null, {}, true)).toEqual([['accept', 'application/json']])
  })

  it("leaves a hypermedia library's request alone (htmx's HX-Request, Unpoly, Turbo Frames, pjax)", () => {
    for (const marker of ['hx-request', 'x-up-version', 'turbo-frame', 'x-pjax']) {
      expect(of(null, { [marker]: 'true' })).toEqual([])
      expect(of('*/*', { [marker]: 'true' })).toEqual([])
    }
  })

  it("never outranks a type the app named (Apollo's, jQuery load()'s text/html, an exact application/json)", () => {
    for (const accept of [
      APOLLO,
      'text/html, */*; q=0.01',
      'application/json',
      'application/json, text/plain, */*',
    ])
      expect(of(accept)).toEqual([])
  })

  it('appends to an Accept that names no other type (jQuery’s */*, application/json with parameters)', () => {
    expect(of('*/*')).toEqual([['accept', '*/*, application/json']])
    expect(of('application/json; charset=utf-8')).toEqual([
      ['accept', 'application/json; charset=utf-8, application/json'],
    ])
    expect(of('application/*')).toEqual([['accept', 'application/*, application/json']])
  })

  it('behind a proxy that reads X-Requested-With: that header too, only where the app set none', () => {
    const pomeriumDefaults = createHeaderPolicy(normalizeOptions({ proxy: pomerium() }))
    expect(pomeriumDefaults(() => null)).toEqual([
      ['accept', 'application/json'],
      ['x-requested-with', 'XMLHttpRequest'],
    ])
    expect(
      pomeriumDefaults((n) => (n === 'x-requested-with' ? 'Mine' : n === 'accept' ? APOLLO : null)),
    ).toEqual([])
  })

  it('headers: { accept: false } never touches Accept', () => {
    const off = createHeaderPolicy(normalizeOptions({ headers: { accept: false } }))
    expect(off(() => null)).toEqual([])
    expect(off((n) => (n === 'accept' ? '*/*' : null))).toEqual([])
  })
})
