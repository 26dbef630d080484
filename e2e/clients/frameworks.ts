/**
 * The frameworks' HTTP layers in the matrix (issue #26): htmx, Angular's HttpClient (XHR and fetch
 * backends), Apollo Client, urql and RTK Query, each used as its docs show, with nothing of the SDK
 * but `install()`. Each driver reports what the app sees as a `Seen`.
 */
// Angular's packages are partially compiled: the JIT compiler links them when they load (an app's
// CLI build links them ahead of time instead). It must load before @angular/core's users.
import '@angular/compiler'
import { XhrFactory } from '@angular/common'
import { HttpClient, HttpErrorResponse, provideHttpClient, withFetch } from '@angular/common/http'
import {
  createEnvironmentInjector,
  DOCUMENT,
  type EnvironmentInjector,
  ɵINJECTOR_SCOPE as INJECTOR_SCOPE,
  Injector,
  provideZonelessChangeDetection,
} from '@angular/core'
import { ApolloClient, gql, HttpLink, InMemoryCache, ServerError } from '@apollo/client'
import { configureStore } from '@reduxjs/toolkit'
import { createApi, fetchBaseQuery } from '@reduxjs/toolkit/query'
import { Client, CombinedError, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core'
import htmx from 'htmx.org'
import { firstValueFrom } from 'rxjs'
import { nameOf, reasonOf, type Seen } from './seen'

const parse = (text: string | undefined | null): unknown => {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text.slice(0, 200)
  }
}

// --- htmx --------------------------------------------------------------------------------------

/** The htmx events an app can listen to for one request, in the order they fire. */
const HTMX_EVENTS = [
  'htmx:configRequest',
  'htmx:beforeRequest',
  'htmx:beforeSend',
  'htmx:xhr:loadstart',
  'htmx:xhr:progress',
  'htmx:xhr:abort',
  'htmx:xhr:loadend',
  'htmx:beforeOnLoad',
  'htmx:beforeSwap',
  'htmx:afterSwap',
  'htmx:responseError',
  'htmx:sendError',
  'htmx:sendAbort',
  'htmx:afterRequest',
  'htmx:afterOnLoad',
]

export interface HtmxCall {
  verb?: 'get' | 'post'
  /** Form values (`hx-vals`): a POST sends them as its urlencoded body, so the upload has bytes. */
  values?: Record<string, string>
  /** Trigger `htmx:abort` on the element this long after the request was sent (0: the next task). */
  abortAfterMs?: number
}

/**
 * One htmx request from an element (`htmx.ajax` with the element as source and target,
 * `innerHTML` swap), every htmx event recorded. `progress` events are counted once per run: how
 * many a download makes depends on chunking. `data` is what was swapped into the element.
 */
export function viaHtmx(url: string, call: HtmxCall = {}): Promise<Seen> {
  const elt = document.createElement('div')
  elt.textContent = 'before'
  document.body.appendChild(elt)
  const events: string[] = []
  let xhr: XMLHttpRequest | null = null
  let responseError = 0
  for (const name of HTMX_EVENTS)
    elt.addEventListener(name, (ev) => {
      const detail = (ev as CustomEvent<{ xhr?: XMLHttpRequest }>).detail
      if (detail?.xhr) xhr = detail.xhr
      if (name === 'htmx:responseError') responseError++
      if (name === 'htmx:xhr:progress' && events.at(-1) === name) return
      events.push(name)
    })
  if (call.abortAfterMs !== undefined)
    elt.addEventListener(
      'htmx:beforeSend',
      () => setTimeout(() => htmx.trigger(elt, 'htmx:abort'), call.abortAfterMs),
      { once: true },
    )
  // A swap settles (`htmx-added` and friends removed) after `htmx.config.defaultSettleDelay`.
  const settled = new Promise<void>((resolve) => elt.addEventListener('htmx:afterSettle', () => resolve()))
  const done = (): Promise<Seen> =>
    // htmx settles its promise from `load`/`error`/`abort`; the request's own `loadend` follows in
    // the same task.
    new Promise<void>((resolve) => setTimeout(resolve))
      .then(() => (events.includes('htmx:afterSwap') ? settled : undefined))
      .then(() => {
        elt.remove()
        const x = xhr as XMLHttpRequest | null
        const ok = x !== null && x.status >= 200 && x.status < 300
        return {
          ok,
          status: x ? x.status : null,
          data: elt.innerHTML,
          error: responseError ? 'htmx:responseError' : ok ? null : 'no response',
          reason: reasonOf(x),
          idiom: { responseError, events, body: ok ? null : parse(x?.responseText) },
        }
      })
  const ajax = htmx.ajax(call.verb ?? 'get', url, {
    source: elt,
    target: elt,
    swap: 'innerHTML',
    ...(call.values ? { values: call.values } : {}),
  })
  return ajax.then(done, done)
}

// --- Angular HttpClient ------------------------------------------------------------------------

/**
 * `HttpClient` from a standalone environment injector: `provideHttpClient()` (the XHR backend) or
 * `provideHttpClient(withFetch())`, and what a browser platform provides (`XhrFactory`, as
 * platform-browser's `BrowserXhr`; zone-less change detection; `DOCUMENT`; the root scope), as
 * `bootstrapApplication(App, { providers: [provideHttpClient()] })` would build it.
 */
const viaAngular =
  (fetchBackend: boolean) =>
  async (url: string): Promise<Seen> => {
    const injector = createEnvironmentInjector(
      [
        provideHttpClient(...(fetchBackend ? [withFetch()] : [])),
        { provide: XhrFactory, useValue: { build: () => new XMLHttpRequest() } },
        provideZonelessChangeDetection(),
        { provide: DOCUMENT, useValue: document },
        // the application injector `bootstrapApplication()` makes: where `providedIn: 'root'` lives
        { provide: INJECTOR_SCOPE, useValue: 'root' },
      ],
      Injector.NULL as EnvironmentInjector,
    )
    try {
      const data = await firstValueFrom(injector.get(HttpClient).get(url))
      return { ok: true, status: 200, data, error: null, reason: null, idiom: {} }
    } catch (e) {
      const err = e as HttpErrorResponse
      return {
        ok: false,
        status: err.status ?? null,
        data: err.error ?? null,
        error: nameOf(e),
        reason: reasonOf(e),
        idiom: {
          httpErrorResponse: e instanceof HttpErrorResponse,
          ...(e instanceof HttpErrorResponse ? {} : { message: String((e as Error).message) }),
        },
      }
    } finally {
      injector.destroy()
    }
  }

// --- GraphQL: Apollo Client, urql ----------------------------------------------------------------

const ITEMS = '{ items { id name } }'

/** Apollo Client 4: a new client (`HttpLink`, `InMemoryCache`) per call, `client.query()`. */
const viaApollo = async (url: string): Promise<Seen> => {
  const client = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() })
  try {
    const result = await client.query({ query: gql(ITEMS) })
    if (result.error) throw result.error
    return { ok: true, status: 200, data: result.data, error: null, reason: null, idiom: {} }
  } catch (e) {
    const err = e as ServerError
    return {
      ok: false,
      status: ServerError.is(e) ? err.statusCode : null,
      data: ServerError.is(e) ? parse(err.bodyText) : null,
      error: nameOf(e),
      reason: reasonOf(e),
      idiom: { serverError: ServerError.is(e) },
    }
  } finally {
    client.stop()
  }
}

/** urql: a new `Client` (cache and fetch exchanges) per call, `client.query().toPromise()`. */
const viaUrql = async (url: string): Promise<Seen> => {
  const client = new Client({ url, exchanges: [cacheExchange, fetchExchange] })
  const result = await client.query(urqlGql(ITEMS), {}).toPromise()
  if (!result.error) return { ok: true, status: 200, data: result.data, error: null, reason: null, idiom: {} }
  const err = result.error
  const response = err.response as Response | undefined
  return {
    ok: false,
    status: response?.status ?? null,
    // urql read the body and keeps only its message
    data: null,
    error: nameOf(err),
    reason: reasonOf(err),
    idiom: {
      combinedError: err instanceof CombinedError,
      networkError: err.networkError?.message ?? null,
      graphQLErrors: err.graphQLErrors.length,
    },
  }
}

// --- RTK Query --------------------------------------------------------------------------------

/**
 * RTK Query: `createApi` with `fetchBaseQuery`, a store per call, `initiate()` (no retries unless
 * the app wraps the base query in `retry`). The reason is read where RTK hands the app the
 * response: `transformErrorResponse(error, meta)` → `authRequiredReason(meta.response)`.
 */
const viaRtk = async (url: string): Promise<Seen> => {
  let reason: string | null = null
  const api = createApi({
    baseQuery: fetchBaseQuery(),
    endpoints: (build) => ({
      get: build.query<unknown, string>({
        query: (path) => path,
        transformErrorResponse: (error, meta) => {
          reason = reasonOf(meta?.response)
          return error
        },
      }),
    }),
  })
  const store = configureStore({
    reducer: { [api.reducerPath]: api.reducer },
    middleware: (getDefault) => getDefault().concat(api.middleware),
  })
  const request = store.dispatch(api.endpoints.get.initiate(url))
  const result = await request
  request.unsubscribe()
  if (!result.error) return { ok: true, status: 200, data: result.data, error: null, reason: null, idiom: {} }
  // a body that is not JSON: `{ status: 'PARSING_ERROR', originalStatus }`
  const error = result.error as { status?: unknown; originalStatus?: number; data?: unknown }
  return {
    ok: false,
    status: typeof error.status === 'number' ? error.status : (error.originalStatus ?? null),
    data: error.data ?? null,
    error: 'rtk query',
    reason,
    idiom: { errorStatus: error.status },
  }
}

export const FRAMEWORK_CLIENTS = {
  htmx: (url: string) => viaHtmx(url),
  'angular HttpClient xhr': viaAngular(false),
  'angular HttpClient fetch': viaAngular(true),
  'apollo client': viaApollo,
  urql: viaUrql,
  'rtk query': viaRtk,
} as const
