import { afterEach, describe, expect, it, vi } from 'vitest'
import { createScope } from '../src/core/scope'
import { normalizeOptions, type ReauthOptions } from '../src/options'
import { azureEasyAuth } from '../src/profiles'
import { stubPage } from './helpers/page'

const scopeOf = (options: ReauthOptions = {}, href = 'https://app.example.com/app/page?x=1') => {
  stubPage(href)
  const o = normalizeOptions(options)
  const s = createScope(o, o.profile)
  return (url: string) => s.test(s.resolve(url))
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('scope', () => {
  it('is same-origin by default, whatever form the URL takes', () => {
    const inScope = scopeOf()
    expect(inScope('/api/items')).toBe(true)
    expect(inScope('api/items')).toBe(true)
    expect(inScope('../api')).toBe(true)
    expect(inScope('https://app.example.com/api')).toBe(true)
    expect(inScope('https://app.example.com')).toBe(true)
    expect(inScope('HTTPS://APP.EXAMPLE.COM/api')).toBe(true)
    expect(inScope('https://app.example.com:443/api')).toBe(true)
  })

  it('never touches third parties or look-alike origins', () => {
    const inScope = scopeOf()
    expect(inScope('https://api.example.com/x')).toBe(false)
    expect(inScope('//cdn.example.com/x')).toBe(false)
    expect(inScope('https://app.example.com.evil.test/api')).toBe(false)
    expect(inScope('https://app.example.com:8443/api')).toBe(false)
    expect(inScope('http://app.example.com/api')).toBe(false)
    expect(inScope('data:text/plain,hi')).toBe(false)
    expect(inScope('blob:https://app.example.com/uuid')).toBe(false)
  })

  it("keeps the profile's own endpoints out of scope", () => {
    const inScope = scopeOf()
    expect(inScope('/oauth2/auth')).toBe(false)
    expect(inScope('/oauth2/start?rd=/')).toBe(false)
    expect(inScope('https://app.example.com/oauth2/sign_in')).toBe(false)
    expect(inScope('/oauth2')).toBe(true)
    const easy = scopeOf({ proxy: azureEasyAuth() })
    expect(easy('/.auth/me')).toBe(false)
    expect(easy('/oauth2/auth')).toBe(true)
  })

  it('adds listed origins, and applies include and exclude with strings and RegExps', () => {
    const inScope = scopeOf({
      scope: {
        origins: ['same-origin', 'https://api.example.com/'],
        include: ['/api/', 'https://api.example.com/v1/', /\/graphql$/],
        exclude: ['/api/public/', /\.png$/],
      },
    })
    expect(inScope('/api/items')).toBe(true)
    expect(inScope('/graphql')).toBe(true)
    expect(inScope('/static/app.js')).toBe(false)
    expect(inScope('/api/public/x')).toBe(false)
    expect(inScope('/api/logo.png')).toBe(false)
    expect(inScope('https://api.example.com/v1/users')).toBe(true)
    expect(inScope('https://api.example.com/v2/users')).toBe(false)
  })

  it('parses every URL like the browser: tabs, CR/LF, backslashes and protocol-relative tricks', () => {
    const s = (() => {
      stubPage('https://app.example.com/app/')
      const o = normalizeOptions()
      return createScope(o, o.profile)
    })()
    for (const url of [
      '/\t/evil.example/x',
      '/\n/evil.example/x',
      '/\r/evil.example/x',
      '/\\evil.example/x',
      '\\\\evil.example/x',
    ]) {
      const resolved = s.resolve(url)
      expect(resolved).toBe(new URL(url, 'https://app.example.com/app/').href)
      expect(resolved.startsWith('https://evil.example/')).toBe(true)
      expect(s.test(resolved)).toBe(false)
    }
  })

  it('judges exclude and the profile endpoints on the normalised path (dot segments, escapes)', () => {
    const inScope = scopeOf({ scope: { exclude: ['/api/private/'] } })
    expect(inScope('/api/../oauth2/auth')).toBe(false)
    expect(inScope('/api/x/%2e%2e/%2E%2E/oauth2/auth')).toBe(false)
    expect(inScope('/api/./private/../private/key')).toBe(false)
    expect(inScope('/api/public/../items')).toBe(true)
  })

  it("resolves against <base href> (document.baseURI), and the origin stays the page's", () => {
    stubPage('https://app.example.com/shop/orders/')
    vi.stubGlobal('document', { baseURI: 'https://cdn.example.com/assets/' })
    const o = normalizeOptions()
    const s = createScope(o, o.profile)
    expect(s.resolve('/api/items')).toBe('https://cdn.example.com/api/items')
    expect(s.test(s.resolve('/api/items'))).toBe(false)
    expect(s.origin).toBe('https://app.example.com')
    vi.stubGlobal('document', { baseURI: 'https://app.example.com/shop/' })
    expect(s.resolve('api/items')).toBe('https://app.example.com/shop/api/items')
    expect(s.test(s.resolve('api/items'))).toBe(true)
  })

  it('answers a URL seen before from its memo, and forgets it when the base moves', () => {
    stubPage('https://app.example.com/shop/orders/')
    const o = normalizeOptions({ scope: { exclude: ['/api/private'] } })
    const s = createScope(o, o.profile)
    for (let round = 0; round < 3; round++) {
      expect(s.resolve('items')).toBe('https://app.example.com/shop/orders/items')
      expect(s.test(s.resolve('/api/items'))).toBe(true)
      expect(s.test(s.resolve('/api/private/1'))).toBe(false)
    }
    // A client-side route change moves what a path-relative URL means, and a <base> what a root-relative does.
    stubPage('https://app.example.com/account/')
    expect(s.resolve('items')).toBe('https://app.example.com/account/items')
    vi.stubGlobal('document', { baseURI: 'https://cdn.example.com/assets/' })
    expect(s.resolve('/api/items')).toBe('https://cdn.example.com/api/items')
    expect(s.test(s.resolve('/api/items'))).toBe(false)
    // More URLs than the memo keeps, and URLs too long to keep: each still judged right.
    vi.stubGlobal('document', undefined)
    for (let i = 0; i < 600; i++) expect(s.test(s.resolve(`/api/items/${i}`))).toBe(true)
    const long = `/api/${'x'.repeat(5000)}`
    expect(s.resolve(long)).toBe(`https://app.example.com${long}`)
    expect(s.test(s.resolve(long))).toBe(true)
    expect(s.test(s.resolve('/api/private/2'))).toBe(false)
  })

  it('resolves non-ASCII and escaped paths exactly as the URL parser does', () => {
    stubPage('https://app.example.com/')
    const o = normalizeOptions()
    const sc = createScope(o, o.profile)
    for (const url of [
      '/api/é',
      '/api/a b',
      '/api/"q"',
      "/api/x?q='1'",
      '/API/Items',
      'https://APP.example.com/x',
      'http://127.1/x',
    ]) {
      expect(sc.resolve(url)).toBe(new URL(url, 'https://app.example.com/').href)
    }
  })

  it('is empty outside a browser for relative URLs', () => {
    vi.stubGlobal('location', undefined)
    const o = normalizeOptions()
    const s = createScope(o, o.profile)
    expect(s.test(s.resolve('/api'))).toBe(false)
  })
})
