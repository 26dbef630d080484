// @vitest-environment happy-dom
// @vitest-environment-options {"url": "http://app.test/app/"}
import { ClientRequestInterceptor } from '@mswjs/interceptors/ClientRequest'
import axios from 'axios'
import { HttpResponse, http } from 'msw'
import { SetupServerApi } from 'msw/node'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'

const server = new SetupServerApi(
  [http.all('http://app.test/api/:x', () => HttpResponse.json({}, { status: 401 }))],
  [new ClientRequestInterceptor()],
)
beforeAll(() => server.listen())
afterAll(() => server.close())

it("copy two's axios over copy one's XHR patch: a failed re-login is judged once, one flight", async () => {
  vi.stubGlobal('fetch', async () => new Response(null, { status: 401 }))
  vi.resetModules()
  const one = await import('../src/index')
  vi.resetModules()
  const two = await import('../src/index')
  const relogins: string[] = []
  const a = one
    .createReauth({
      crossTab: false,
      relogin: async () => {
        relogins.push('a')
        throw new Error('no')
      },
    })
    .install()
  const b = two.createReauth({
    crossTab: false,
    relogin: async () => {
      relogins.push('b')
      throw new Error('no')
    },
  })
  const instance = axios.create({ adapter: 'xhr' })
  const twoAxios = await import('../src/axios')
  twoAxios.axiosReauth(instance, b)
  const error = await instance.get('/api/x').catch((e) => e)
  expect(error?.response?.status).toBe(401)
  a.uninstall()
  expect(relogins).toHaveLength(1)
}, 30_000)
