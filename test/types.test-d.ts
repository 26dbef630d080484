import { describe, expectTypeOf, it } from 'vitest'
import {
  type AuthReason,
  type AuthRequiredError,
  createReauth,
  isAuthRequiredError,
  type ReauthEvents,
} from '../src'

describe('public types', () => {
  it('types every event payload from one map', () => {
    const reauth = createReauth()
    reauth.on('reauth:success', (e) => {
      expectTypeOf(e.durationMs).toEqualTypeOf<number>()
      expectTypeOf(e.leader).toEqualTypeOf<boolean>()
    })
    reauth.on('reauth:interaction-required', (e) => {
      expectTypeOf(e.start).toEqualTypeOf<() => Promise<void>>()
    })
    reauth.onReauthRequired((e) => {
      expectTypeOf(e.error).toEqualTypeOf<AuthRequiredError>()
      expectTypeOf(e.reason).toEqualTypeOf<AuthReason>()
    })
    // @ts-expect-error: not an event of the map
    reauth.on('reauth:nope', () => {})
    // @ts-expect-error: the payload of request:replayed has no `error`
    reauth.on('request:replayed', (e) => e.error)
    expectTypeOf<keyof ReauthEvents>().toEqualTypeOf<
      | 'reauth:required'
      | 'reauth:start'
      | 'reauth:success'
      | 'reauth:failure'
      | 'reauth:interaction-required'
      | 'circuit:open'
      | 'circuit:close'
      | 'request:replayed'
    >()
  })

  it('checks options at compile time too', () => {
    createReauth({ relogin: async ({ signal, url }) => void [signal, url] })
    // @ts-expect-error: not a strategy
    createReauth({ relogin: 'modal' })
    // @ts-expect-error: unknown option
    createReauth({ relogn: 'iframe' })
    // @ts-expect-error: replay policy
    createReauth({ replay: 'some' })
    expectTypeOf(createReauth().state).toEqualTypeOf<'idle' | 'reauthenticating' | 'circuit-open'>()
    createReauth({ wake: false })
    createReauth({ wake: { afterMs: 60_000, holdMs: 500 } })
    // @ts-expect-error: unknown wake field
    createReauth({ wake: { after: 60_000 } })
    expectTypeOf(createReauth().check()).toEqualTypeOf<Promise<'signed-in' | 'signed-out' | 'unknown'>>()
    expectTypeOf<'session-check'>().toExtend<AuthReason>()
  })

  it('narrows with the guard', () => {
    const e: unknown = null
    if (isAuthRequiredError(e)) {
      expectTypeOf(e.status).toEqualTypeOf<401>()
      expectTypeOf(e.reason).toEqualTypeOf<AuthReason>()
    }
  })
})
