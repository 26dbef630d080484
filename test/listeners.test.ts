import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createReauth } from '../src/client'
import { authRequiredReason } from '../src/errors'
import { createEmitter, type ReauthEvents } from '../src/events'
import { ORIGIN, stubPage } from './helpers/page'

let session: 'valid' | 'gone' = 'valid'
const server = setupServer(
  http.get(
    `${ORIGIN}/oauth2/auth`,
    () => new HttpResponse(null, { status: session === 'valid' ? 202 : 401 }),
  ),
  http.get(`${ORIGIN}/api/:name`, ({ params }) =>
    session === 'gone' ? HttpResponse.json({}, { status: 401 }) : HttpResponse.json({ name: params.name }),
  ),
)

let reported: unknown[]
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  session = 'valid'
  reported = []
  vi.stubGlobal('reportError', (error: unknown) => reported.push(error))
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

const signIn = async () => {
  session = 'valid'
}

describe('an app listener cannot change an outcome', () => {
  it.each(['reauth:required', 'reauth:start', 'reauth:success', 'request:replayed'] as const)(
    'a throwing %s listener: the request still succeeds, the error reaches reportError',
    async (type) => {
      const reauth = createReauth({ crossTab: false, relogin: signIn, circuit: { failures: 1 } })
      const boom = new Error(`listener of ${type} broke`)
      const after = vi.fn()
      reauth.on(type, () => {
        throw boom
      })
      // A listener registered after the throwing one still runs.
      reauth.on(type, after)
      const failures = vi.fn()
      reauth.on('reauth:failure', failures)
      try {
        session = 'gone'
        const res = await reauth.fetch('/api/items')
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ name: 'items' })
        expect(failures).not.toHaveBeenCalled()
        expect(after).toHaveBeenCalled()
        expect(reauth.state).toBe('idle')
        expect(reported).toContain(boom)

        // Nothing counted towards the circuit (failures: 1 would open it at the first failure).
        session = 'gone'
        expect((await reauth.fetch('/api/again')).status).toBe(200)
        expect(reauth.state).toBe('idle')
      } finally {
        reauth.uninstall()
      }
    },
  )

  it('a throwing onReauthRequired callback: the request succeeds with its own data', async () => {
    const reauth = createReauth({ crossTab: false, relogin: signIn })
    const boom = new TypeError('app bug')
    reauth.onReauthRequired(() => {
      throw boom
    })
    try {
      session = 'gone'
      const res = await reauth.fetch('/api/items')
      expect(await res.json()).toEqual({ name: 'items' })
      expect(reported).toEqual([boom])
    } finally {
      reauth.uninstall()
    }
  })

  it('a throwing reauth:failure listener: the request gets the SDK error, not the app error', async () => {
    const reauth = createReauth({
      crossTab: false,
      relogin: () => Promise.reject(new Error('provider said no')),
    })
    const boom = new Error('listener bug')
    reauth.on('reauth:failure', () => {
      throw boom
    })
    try {
      session = 'gone'
      // fetch resolves the SDK's own 401 (not the app's error)
      const res = await reauth.fetch('/api/items')
      expect(res.status).toBe(401)
      expect(authRequiredReason(res)).toBe('unauthorized')
      expect(reported).toEqual([boom])
    } finally {
      reauth.uninstall()
    }
  })

  it('a throwing reauth:success listener does not reject relogin()', async () => {
    const reauth = createReauth({ crossTab: false, relogin: signIn })
    reauth.on('reauth:success', () => {
      throw new Error('nope')
    })
    try {
      await expect(reauth.relogin()).resolves.toBeUndefined()
      expect(reported).toHaveLength(1)
    } finally {
      reauth.uninstall()
    }
  })
})

describe('createEmitter', () => {
  it('keeps mitt’s typed API: on, off, emit, all, and the * wildcard', () => {
    const emitter = createEmitter()
    const seen: string[] = []
    const onStart = (e: ReauthEvents['reauth:start']) => seen.push(`start ${e.generation}`)
    const any = (type: keyof ReauthEvents) => seen.push(`* ${type}`)
    emitter.on('reauth:start', onStart)
    emitter.on('*', any)
    emitter.emit('reauth:start', { generation: 1, strategy: 'iframe' })
    emitter.off('reauth:start', onStart)
    emitter.emit('reauth:start', { generation: 2, strategy: 'iframe' })
    expect(seen).toEqual(['start 1', '* reauth:start', '* reauth:start'])
    expect(emitter.all.get('*')).toHaveLength(1)
  })

  it('calls every listener even when some throw, and never throws itself', () => {
    const emitter = createEmitter()
    const calls: number[] = []
    const errors = [new Error('a'), new Error('b')]
    emitter.on('circuit:close', () => {
      calls.push(1)
      throw errors[0]
    })
    emitter.on('circuit:close', () => calls.push(2))
    emitter.on('*', () => {
      calls.push(3)
      throw errors[1]
    })
    expect(() => emitter.emit('circuit:close', { reason: 'success' })).not.toThrow()
    expect(calls).toEqual([1, 2, 3])
    expect(reported).toEqual(errors)
  })

  it('a listener that removes itself while running does not skip the next one', () => {
    const emitter = createEmitter()
    const calls: string[] = []
    const once = () => {
      calls.push('once')
      emitter.off('circuit:close', once)
    }
    emitter.on('circuit:close', once)
    emitter.on('circuit:close', () => calls.push('next'))
    emitter.emit('circuit:close', { reason: 'success' })
    emitter.emit('circuit:close', { reason: 'success' })
    expect(calls).toEqual(['once', 'next', 'next'])
  })

  it('without reportError, rethrows asynchronously (a timer), where the page reports uncaught errors', () => {
    vi.stubGlobal('reportError', undefined)
    vi.useFakeTimers()
    const emitter = createEmitter()
    const boom = new Error('late')
    emitter.on('circuit:close', () => {
      throw boom
    })
    const second = vi.fn()
    emitter.on('circuit:close', second)
    expect(() => emitter.emit('circuit:close', { reason: 'success' })).not.toThrow()
    expect(second).toHaveBeenCalled()
    expect(() => vi.runAllTimers()).toThrow(boom)
  })
})
