import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { ORIGIN, stubPage } from './helpers/page'

type Sdk = typeof import('../src/index')

/** A fresh copy of the whole SDK: its own modules, classes and closures, as a second bundle would be. */
const copy = async (): Promise<Sdk> => {
  vi.resetModules()
  return import('../src/index')
}

let session: 'valid' | 'gone' = 'valid'
let release: (() => void) | null = null
const server = setupServer(
  http.get(
    `${ORIGIN}/oauth2/auth`,
    () => new HttpResponse(null, { status: session === 'valid' ? 202 : 401 }),
  ),
  http.get(`${ORIGIN}/api/slow`, async () => {
    // Sent with the old cookie: answered as such, however long it takes.
    const was = session
    // Only the first send is slow; the replay is answered at once.
    if (!release) await new Promise<void>((r) => (release = r))
    return was === 'gone' ? HttpResponse.json({}, { status: 401 }) : HttpResponse.json({ name: 'slow' })
  }),
  http.get(`${ORIGIN}/api/:name`, ({ params }) =>
    session === 'gone' ? HttpResponse.json({}, { status: 401 }) : HttpResponse.json({ name: params.name }),
  ),
)

let relogins: string[] = []
/** A re-login that takes a while (a real provider does), then brings the session back. */
const relogin = (who: string) => async () => {
  relogins.push(who)
  await new Promise((r) => setTimeout(r, 40))
  session = 'valid'
}
const cleanup: (() => void)[] = []

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  stubPage()
  session = 'valid'
  relogins = []
  release = null
})
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn()
  vi.unstubAllGlobals()
})

describe.each([false, true])('two copies of the SDK on one page (crossTab: %s)', (crossTab) => {
  const setUp = async () => {
    const [one, two] = [await copy(), await copy()]
    expect(one.createReauth).not.toBe(two.createReauth)
    const a = one.createReauth({ crossTab, relogin: relogin('a') }).install()
    const b = two.createReauth({ crossTab, relogin: relogin('b') })
    cleanup.push(
      () => a.uninstall(),
      () => b.uninstall(),
    )
    return { a, b }
  }

  it('one installed, the other one’s reauth.fetch in use: one loss is one re-login', async () => {
    const { b } = await setUp()
    session = 'gone'
    const answers = await Promise.all([
      fetch('/api/one').then((r) => r.json()),
      b.fetch('/api/two').then((r) => r.json()),
      b.fetch('/api/three').then((r) => r.json()),
    ])
    expect(answers).toEqual([{ name: 'one' }, { name: 'two' }, { name: 'three' }])
    expect(relogins).toHaveLength(1)
  })

  it('a request sent before the other copy’s re-login and answered after it is replayed, not re-logged', async () => {
    const { b } = await setUp()
    session = 'gone'
    const slow = b.fetch('/api/slow').then((r) => r.json())
    await vi.waitFor(() => expect(release).toBeTypeOf('function'))
    expect((await fetch('/api/first')).status).toBe(200)
    expect(relogins).toEqual(['a'])
    release!()
    expect(await slow).toEqual({ name: 'slow' })
    expect(relogins).toEqual(['a'])
  })

  it('the joining copy reports its own events; its reauth:start and reauth:success say it did not lead', async () => {
    const { a, b } = await setUp()
    const seen: string[] = []
    a.on('reauth:success', (e) => seen.push(`a success leader=${e.leader}`))
    b.on('reauth:success', (e) => seen.push(`b success leader=${e.leader}`))
    session = 'gone'
    await Promise.all([fetch('/api/one'), b.fetch('/api/two')])
    expect(seen.sort()).toEqual(['a success leader=true', 'b success leader=false'])
    expect(relogins).toEqual(['a'])
  })
})
