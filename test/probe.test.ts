import { describe, expect, it, vi } from 'vitest'
import { createSessionProbe } from '../src/core/probe'
import { builtinProfiles } from '../src/profiles/names'

const origin = () => 'https://app.test'

describe('session probe', () => {
  it('shares one request among concurrent callers, then probes afresh', async () => {
    let resolve!: (r: Response) => void
    const fetch = vi.fn(() => new Promise<Response>((r) => (resolve = r)))
    const probe = createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin)
    const all = Promise.all(Array.from({ length: 50 }, () => probe()))
    expect(fetch).toHaveBeenCalledTimes(1)
    resolve(new Response(null, { status: 401 }))
    expect(new Set(await all)).toEqual(new Set(['signed-out']))
    fetch.mockResolvedValueOnce(new Response(null, { status: 202 }))
    expect(await probe()).toBe('signed-in')
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it("asks /oauth2/auth with redirect: 'manual' and Ajax headers, never /oauth2/sign_in", async () => {
    const fetch = vi.fn(
      async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(null, { status: 202 }),
    )
    await createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin)()
    const [url, init] = fetch.mock.calls[0]!
    expect(url).toBe('https://app.test/oauth2/auth')
    expect(init?.redirect).toBe('manual')
    expect(init?.credentials).toBe('same-origin')
    expect(new Headers(init?.headers).get('accept')).toBe('application/json')
    expect(String(url)).not.toContain('sign_in')
  })

  it.each([
    [202, 'basic', 'signed-in'],
    [401, 'basic', 'signed-out'],
    [403, 'basic', 'signed-in'],
    [0, 'opaqueredirect', 'signed-out'],
    [302, 'basic', 'signed-out'],
    [500, 'basic', 'unknown'],
    [502, 'basic', 'unknown'],
  ] as const)('reads %i (%s) as %s', async (status, type, expected) => {
    const res = { status, type, body: null } as unknown as Response
    const probe = createSessionProbe(builtinProfiles['oauth2-proxy'], () => async () => res, origin)
    expect(await probe()).toBe(expected)
  })

  it('a probe that cannot reach the proxy is unknown: a plain network failure', async () => {
    const probe = createSessionProbe(
      builtinProfiles['oauth2-proxy'],
      () => async () => {
        throw new TypeError('Failed to fetch')
      },
      origin,
    )
    expect(await probe()).toBe('unknown')
  })

  it('a probe refused for its cookies by a closed connection (nginx over HTTP/2) is an overflow', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      if (init?.credentials !== 'omit') throw new TypeError('Failed to fetch')
      return new Response(null, { status: 401 })
    })
    const probe = createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin)
    expect(await probe()).toBe('unknown')
    expect(probe.overflowed?.()).toBe(true)
    expect(fetch.mock.calls.map(([, init]) => init?.credentials)).toEqual([
      'same-origin',
      'same-origin',
      'omit',
    ])
  })

  it('a connection reset once (a network change) is asked again with the cookies, never taken for an overflow', async () => {
    let calls = 0
    const fetch = vi.fn(async () => {
      if (calls++ === 0) throw new TypeError('Failed to fetch')
      return new Response(null, { status: 202 })
    })
    const probe = createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin)
    expect(await probe()).toBe('signed-in')
    expect(probe.overflowed?.()).toBe(false)
  })

  it('a probe that fails with and without cookies is a network failure, not an overflow', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const probe = createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin)
    expect(await probe()).toBe('unknown')
    expect(probe.overflowed?.()).toBe(false)
  })

  it('times out rather than hanging', async () => {
    vi.useFakeTimers()
    try {
      const fetch = (_: unknown, init?: RequestInit) =>
        new Promise<Response>((_r, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        )
      const pending = createSessionProbe(builtinProfiles['oauth2-proxy'], () => fetch, origin, 1000)()
      await vi.advanceTimersByTimeAsync(1000)
      expect(await pending).toBe('unknown')
    } finally {
      vi.useRealTimers()
    }
  })

  it('is unknown for a profile without a probe or outside a page', async () => {
    const fetch = vi.fn()
    expect(await createSessionProbe({ probe: null }, () => fetch, origin)()).toBe('unknown')
    expect(
      await createSessionProbe(
        builtinProfiles['oauth2-proxy'],
        () => fetch,
        () => '',
      )(),
    ).toBe('unknown')
    expect(fetch).not.toHaveBeenCalled()
  })
})
