/**
 * The browser half of the client matrix (bundled by esbuild into one IIFE, see `bundle.ts`): every
 * client at its pinned version, and one driver per matrix cell that makes a request the client's own
 * way and returns what the app sees as plain data. The SDK itself is the page's `window.AjaxReauth`.
 */
import { QueryClient, QueryObserver } from '@tanstack/query-core'
import axios from 'axios'
import { ClientError, GraphQLClient } from 'graphql-request'
import jquery3 from 'jquery'
import jquery4 from 'jquery4'
import ky1 from 'ky'
import ky2 from 'ky2'
import { ofetch } from 'ofetch'
import redaxios from 'redaxios'
import superagent from 'superagent'
import { fetch as polyfillFetch } from 'whatwg-fetch'
import wretch from 'wretch'
import { FRAMEWORK_CLIENTS, type HtmxCall, viaHtmx } from './frameworks'
import type { ClientName } from './names'
import { type Context, nameOf, type Reauth, reasonOf, type Seen, sdk } from './seen'

export type { Context, Seen } from './seen'

type Jq = JqLike
const viaJquery =
  ($: Jq, json: boolean) =>
  (url: string): Promise<Seen> =>
    new Promise((resolve) => {
      const request = json ? $.ajax({ url, dataType: 'json' }) : $.get(url)
      request.then(
        (data: unknown, _text: string, jq: JqXhrLike) =>
          resolve({ ok: true, status: jq.status, data, error: null, reason: reasonOf(jq), idiom: {} }),
        (jq: JqXhrLike, text: string) =>
          resolve({
            ok: false,
            status: jq.status,
            data: jq.responseJSON ?? jq.responseText?.slice(0, 200) ?? null,
            error: text,
            reason: reasonOf(jq),
            idiom: { textStatus: text, responseJSON: jq.responseJSON !== undefined },
          }),
      )
    })

const viaSuperagent = async (url: string): Promise<Seen> => {
  try {
    const res = await superagent.get(url)
    return { ok: true, status: res.status, data: res.body, error: null, reason: reasonOf(res), idiom: {} }
  } catch (e) {
    const err = e as { status?: number; response?: { body?: unknown; text?: string } }
    return {
      ok: false,
      status: err.status ?? null,
      data: err.response?.body ?? null,
      error: nameOf(e),
      reason: reasonOf(e),
      idiom: { errStatus: err.status ?? null },
    }
  }
}

const viaAxios =
  (adapter: 'xhr' | 'fetch', interceptors: boolean) =>
  async (url: string, ctx: Context): Promise<Seen> => {
    const instance = axios.create({ adapter })
    if (interceptors && ctx.reauth) sdk().axiosReauth(instance, ctx.reauth)
    try {
      const res = await instance.get(url)
      return { ok: true, status: res.status, data: res.data, error: null, reason: null, idiom: {} }
    } catch (e) {
      const err = e as { code?: string; response?: { status: number; data: unknown } }
      return {
        ok: false,
        status: err.response?.status ?? null,
        data: err.response?.data ?? null,
        error: nameOf(e),
        reason: reasonOf(e),
        idiom: {
          isAxiosError: axios.isAxiosError(e),
          code: err.code ?? null,
          authRequiredError: nameOf(e) === 'AuthRequiredError',
        },
      }
    }
  }

const viaOfetch = async (url: string): Promise<Seen> => {
  let onResponseError = 0
  let requests = 0
  try {
    const data = await ofetch(url, {
      onRequest: () => void requests++,
      onResponseError: () => void onResponseError++,
    })
    return { ok: true, status: 200, data, error: null, reason: null, idiom: { requests } }
  } catch (e) {
    const err = e as { status?: number; data?: unknown }
    return {
      ok: false,
      status: err.status ?? null,
      data: err.data ?? null,
      error: nameOf(e),
      reason: reasonOf(e),
      idiom: { onResponseError, requests },
    }
  }
}

const viaWretch = async (url: string): Promise<Seen> => {
  let unauthorized = 0
  let caught: unknown = null
  try {
    const data = await wretch(url)
      .get()
      .unauthorized((error) => {
        unauthorized++
        caught = error
        throw error
      })
      .json()
    return { ok: true, status: 200, data, error: null, reason: null, idiom: {} }
  } catch (e) {
    const err = e as { status?: number; json?: unknown; text?: string }
    return {
      ok: false,
      status: err.status ?? null,
      data: err.json ?? err.text?.slice(0, 200) ?? null,
      error: nameOf(e),
      reason: reasonOf(e),
      idiom: { unauthorizedCatcher: unauthorized, sameError: caught === e },
    }
  }
}

const viaRedaxios = async (url: string): Promise<Seen> => {
  try {
    const res = await redaxios.get(url)
    return { ok: true, status: res.status, data: res.data, error: null, reason: null, idiom: {} }
  } catch (e) {
    const res = e as { status?: number; data?: unknown }
    return {
      ok: false,
      status: res.status ?? null,
      data: res.data ?? null,
      error: e instanceof Error ? nameOf(e) : 'response',
      reason: reasonOf(e),
      idiom: {},
    }
  }
}

const viaKy =
  (lib: typeof ky1, hooks: boolean) =>
  async (url: string, ctx: Context): Promise<Seen> => {
    let retries = 0
    const client = lib.create({
      retry: { limit: 2, backoffLimit: 50 },
      ...(hooks && ctx.reauth ? { hooks: sdk().kyReauth(ctx.reauth) as object } : {}),
    })
    try {
      const data = await client.get(url, { hooks: { beforeRetry: [() => void retries++] } }).json()
      return { ok: true, status: 200, data, error: null, reason: null, idiom: { retries } }
    } catch (e) {
      const err = e as { response?: Response; data?: unknown }
      let data: unknown = err.data ?? null
      if (data === null && err.response && !err.response.bodyUsed)
        data = await err.response.json().catch(() => null)
      return {
        ok: false,
        status: err.response?.status ?? null,
        data,
        error: nameOf(e),
        reason: reasonOf(e),
        idiom: { retries },
      }
    }
  }

/** `url` is the GraphQL endpoint. */
const viaGraphql = async (url: string): Promise<Seen> => {
  try {
    const data = await new GraphQLClient(new URL(url, location.href).href).request('{ items { id name } }')
    return { ok: true, status: 200, data, error: null, reason: null, idiom: {} }
  } catch (e) {
    const err = e as { response?: { status?: number; error?: unknown; reason?: unknown } }
    const { status, ...body } = err.response ?? {}
    delete (body as { headers?: unknown }).headers
    return {
      ok: false,
      status: status ?? null,
      data: Object.keys(body).length ? body : null,
      error: nameOf(e),
      reason: reasonOf(e),
      idiom: { clientError: e instanceof ClientError },
    }
  }
}

/** Plain `fetch`: the polyfill cell puts whatwg-fetch (over XHR) there before the SDK is installed. */
const viaFetch = async (url: string): Promise<Seen> => {
  try {
    const res = await fetch(url)
    const text = await res.text()
    let data: unknown = text.slice(0, 200)
    try {
      data = JSON.parse(text)
    } catch {}
    return {
      ok: res.ok,
      status: res.status,
      data,
      error: res.ok ? null : 'status',
      reason: reasonOf(res),
      idiom: {},
    }
  } catch (e) {
    return { ok: false, status: null, data: null, error: nameOf(e), reason: reasonOf(e), idiom: {} }
  }
}

/**
 * A consumer in the style of TanStack Query: a query observer with the default retries (3, any
 * error), the retry delay shortened; the query function throws on a non-2xx answer, as apps do.
 */
const viaTanstack = (url: string): Promise<Seen> => {
  const client = new QueryClient({ defaultOptions: { queries: { retryDelay: 20 } } })
  let attempts = 0
  const observer = new QueryObserver(client, {
    queryKey: ['matrix', url, Math.random()],
    queryFn: async () => {
      attempts++
      const res = await fetch(url)
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, response: res })
      return res.json()
    },
  })
  return new Promise((resolve) => {
    const stop = observer.subscribe((result) => {
      if (result.status === 'pending') return
      stop()
      client.clear()
      if (result.status === 'success') {
        resolve({ ok: true, status: 200, data: result.data, error: null, reason: null, idiom: { attempts } })
        return
      }
      const err = result.error as { status?: number; response?: Response; name?: string }
      const done = (data: unknown) =>
        resolve({
          ok: false,
          status: err.status ?? null,
          data,
          error: nameOf(err),
          reason: reasonOf(err),
          idiom: { attempts },
        })
      if (err.response)
        err.response
          .clone()
          .json()
          .then(done, () => done(null))
      else done(null)
    })
  })
}

const CLIENTS: Record<ClientName, (url: string, ctx: Context) => Promise<Seen>> = {
  'jquery3 $.ajax json': viaJquery(jquery3, true),
  'jquery3 $.get': viaJquery(jquery3, false),
  'jquery4 $.ajax json': viaJquery(jquery4, true),
  'jquery4 $.get': viaJquery(jquery4, false),
  superagent: viaSuperagent,
  'axios xhr': viaAxios('xhr', false),
  'axios xhr + axiosReauth()': viaAxios('xhr', true),
  'axios fetch': viaAxios('fetch', false),
  'axios fetch + axiosReauth()': viaAxios('fetch', true),
  ofetch: viaOfetch,
  wretch: viaWretch,
  redaxios: viaRedaxios,
  'ky 1': viaKy(ky1, false),
  'ky 1 + kyReauth()': viaKy(ky1, true),
  'ky 2': viaKy(ky2 as unknown as typeof ky1, false),
  'ky 2 + kyReauth()': viaKy(ky2 as unknown as typeof ky1, true),
  'graphql-request': viaGraphql,
  'whatwg-fetch polyfill': viaFetch,
  'tanstack query-core': viaTanstack,
  ...FRAMEWORK_CLIENTS,
}

interface Recorded {
  type: string
  reason?: string
}

const state: {
  reauth: Reauth | null
  events: Recorded[]
  release?: () => void
  kickoff?: Promise<number>
} = { reauth: null, events: [] }

const released = new Promise<void>((resolve) => {
  state.release = resolve
})
/** `install({ heldRelogin: true })`: a custom re-login that waits for `releaseFlight()` (and does nothing). */
const heldRelogin = (): Promise<void> => released

const matrix = {
  /** Put the whatwg-fetch polyfill in place of the native fetch (before the SDK, like an old app). */
  polyfill() {
    ;(window as unknown as { fetch: unknown }).fetch = polyfillFetch
  },
  /** `createReauth(options).install()` (only `createReauth(options)` when `patch` is false), every event recorded. */
  install(options: Record<string, unknown>, patch = true) {
    const { heldRelogin: held, ...rest } = options
    const created = sdk().createReauth(held ? { ...rest, relogin: heldRelogin } : rest)
    const reauth = patch ? created.install() : created
    for (const type of [
      'reauth:required',
      'reauth:start',
      'reauth:success',
      'reauth:failure',
      'reauth:interaction-required',
      'circuit:open',
    ])
      reauth.on(type, (e: { reason?: string }) =>
        state.events.push({ type, ...(e?.reason ? { reason: e.reason } : {}) }),
      )
    state.reauth = reauth
  },
  events: () => state.events,
  /** ky 2 with `hooks: kyReauth(reauth)` and nothing else: a `method` call with a JSON body (POST). */
  ky2Hooks: async (method: string, url: string, json?: unknown): Promise<Seen> => {
    let retries = 0
    const client = (ky2 as unknown as typeof ky1).create({
      retry: { limit: 2, backoffLimit: 50 },
      hooks: sdk().kyReauth(state.reauth!) as object,
    })
    try {
      const data = await client(url, {
        method,
        ...(json === undefined ? {} : { json }),
        hooks: { beforeRetry: [() => void retries++] },
      }).json()
      return { ok: true, status: 200, data, error: null, reason: null, idiom: { retries } }
    } catch (e) {
      const err = e as { response?: Response; data?: unknown }
      return {
        ok: false,
        status: err.response?.status ?? null,
        data: err.data ?? null,
        error: nameOf(e),
        reason: reasonOf(e),
        idiom: { retries },
      }
    }
  },
  /** One htmx request with its events (`HtmxCall`: a POST with values, an abort). */
  htmx: (url: string, call: HtmxCall): Promise<Seen> => viaHtmx(url, call),
  /** Start a flight with a lost in-scope `fetch(url)` (`heldRelogin`); resolves once it is in progress. */
  startFlight: (url: string): Promise<void> =>
    new Promise((resolve) => {
      const stop = state.reauth!.on('reauth:start', () => {
        stop()
        resolve()
      })
      state.kickoff = fetch(url).then((r) => r.status)
    }),
  /** End the held re-login (it did nothing: the flight fails); the kick-off fetch's status. */
  releaseFlight: (): Promise<number | null> => {
    state.release?.()
    return state.kickoff ?? Promise.resolve(null)
  },
  run: (client: ClientName, url: string): Promise<Seen> => CLIENTS[client](url, { reauth: state.reauth }),
  /** `count` calls started in the same task. */
  burst: (client: ClientName, url: string, count: number): Promise<Seen[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        CLIENTS[client](`${url}${url.includes('?') ? '&' : '?'}n=${i}`, { reauth: state.reauth }),
      ),
    ),
}

;(window as unknown as { __matrix: typeof matrix }).__matrix = matrix
