import { clock } from '../clock'
import { needsPeek, PEEK_BYTES } from '../core/detect'
import type { Engine } from '../core/engine'
import { networkErrorSnapshot } from '../core/snapshot'
import { AUTH_REQUIRED_HEADER, AuthRequiredError, authRequiredReason, isAuthRequiredError } from '../errors'
import type { RequestFacts, ResponseSnapshot } from '../types'

/**
 * The parts of an axios request config the adapter reads (axios 1.x `InternalAxiosRequestConfig`).
 *
 * @example
 * const config: AxiosConfigLike = { url: '/api/items', method: 'get' }
 */
export interface AxiosConfigLike {
  url?: string | undefined
  method?: string | undefined
  baseURL?: string | undefined
  headers?: unknown
  data?: unknown
  signal?: unknown
  [key: string]: unknown
}

/**
 * The parts of an axios response the adapter reads.
 *
 * @example
 * const res: AxiosResponseLike = await axios.get('/api/items')
 */
export interface AxiosResponseLike {
  status: number
  headers?: unknown
  data?: unknown
  config: AxiosConfigLike
  request?: unknown
}

interface InterceptorManagerLike<V> {
  use(onFulfilled?: ((value: V) => V | Promise<V>) | null, onRejected?: ((error: any) => any) | null): number
  eject(id: number): void
  handlers?: unknown[]
}

/**
 * What `axiosReauth()` needs of an axios instance: `axios` itself or any `axios.create()` result.
 *
 * @example
 * const instance: AxiosInstanceLike = axios.create()
 */
export interface AxiosInstanceLike {
  interceptors: {
    request: InterceptorManagerLike<any>
    response: InterceptorManagerLike<any>
  }
  request(config: any): Promise<any>
  getUri?(config?: any): string
}

/**
 * The axios-style 401 response an `AuthRequiredError` carries for axios callers.
 *
 * @example
 * if (err.response?.status === 401) console.log(err.response.data.reason)
 */
export interface AxiosAuthResponse {
  status: 401
  statusText: 'Unauthorized'
  data: { error: 'auth_required'; reason: string }
  headers: Record<string, string>
  config: AxiosConfigLike
  request: unknown
}

/**
 * The `AuthRequiredError` an axios call rejects with: also shaped like an `AxiosError`, so
 * `axios.isAxiosError(err)` and `err.response?.status === 401` handlers keep working.
 *
 * @example
 * axios.get('/api/items').catch((err: AxiosAuthRequiredError) => err.response.status) // 401
 */
export type AxiosAuthRequiredError = Omit<AuthRequiredError, 'response'> & {
  isAxiosError: true
  code: 'ERR_BAD_REQUEST'
  config: AxiosConfigLike
  request: unknown
  response: AxiosAuthResponse
  toJSON(): object
}

/** Config key for the SDK's own per-request state; axios's mergeConfig keeps unknown keys. */
const KEY = 'ajax-reauth'
interface State {
  facts: RequestFacts
  /** When (`clock()`) the request interceptor let it go. */
  sentAt?: number
  /** Ends its count as a request on the wire (`engine.hold`): a re-login waits for it to land. */
  untrack?: () => void
  replay?: true
}

const stateOf = (config: AxiosConfigLike | undefined): State | undefined =>
  config ? (config[KEY] as State | undefined) : undefined

/** Header access over `AxiosHeaders` or a plain object. */
const headerGet = (headers: unknown, name: string): string | null => {
  if (!headers || typeof headers !== 'object') return null
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>
  if (typeof h.get === 'function') {
    const v = h.get(name)
    return v == null || v === false ? null : String(v)
  }
  for (const key of Object.keys(h))
    if (key.toLowerCase() === name) return h[key] == null ? null : String(h[key])
  return null
}

const headerSet = (config: AxiosConfigLike, name: string, value: string): void => {
  config.headers ??= {}
  const h = config.headers as { set?: (n: string, v: string) => unknown } & Record<string, unknown>
  if (typeof h.set === 'function') h.set(name, value)
  else {
    for (const key of Object.keys(h)) if (key.toLowerCase() === name) delete h[key]
    h[name] = value
  }
}

const signalOf = ({ signal }: AxiosConfigLike): AbortSignal | null =>
  typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal ? signal : null

const isStream = (data: unknown): boolean =>
  typeof ReadableStream !== 'undefined' && data instanceof ReadableStream

/**
 * Turn an `AuthRequiredError` into the axios-compatible shape (idempotent). `own` is the response
 * axios itself built from the SDK's synthetic 401 (fetch adapter under a patched fetch), kept as is.
 */
const toAxiosError = (
  error: AuthRequiredError,
  config: AxiosConfigLike,
  request: unknown,
  own?: AxiosAuthResponse,
): AxiosAuthRequiredError => {
  const e = error as unknown as AxiosAuthRequiredError
  if (e.isAxiosError === true) return e
  const response: AxiosAuthResponse = own ?? {
    status: 401,
    statusText: 'Unauthorized',
    data: { error: 'auth_required', reason: error.reason },
    headers: { 'content-type': 'application/json', [AUTH_REQUIRED_HEADER]: error.reason },
    config,
    request,
  }
  return Object.assign(error, {
    isAxiosError: true as const,
    code: 'ERR_BAD_REQUEST' as const,
    config,
    request,
    response,
    toJSON: () => ({
      name: error.name,
      message: error.message,
      code: 'ERR_BAD_REQUEST',
      status: 401,
      reason: error.reason,
      url: error.url,
      method: error.method,
    }),
  }) as unknown as AxiosAuthRequiredError
}

/** A rejection handler: an `AuthRequiredError` rethrown in the axios shape, anything else as it is. */
const rethrow =
  (config: AxiosConfigLike, request: unknown) =>
  (error: unknown): never => {
    throw isAuthRequiredError(error) ? toAxiosError(error, config, request) : error
  }

/** The URL axios sends `config` to, as the app wrote it (`baseURL` and `params` applied where axios can). */
const rawUrl = (instance: AxiosInstanceLike, config: AxiosConfigLike): string =>
  instance.getUri ? instance.getUri(config) : (config.url ?? '')

/** Hand a lost session to the engine; the replay goes through the same instance, to the same URL. */
const recover = (
  engine: Engine,
  instance: AxiosInstanceLike,
  error: AuthRequiredError,
  config: AxiosConfigLike,
  request: unknown,
): Promise<any> => {
  const { scope } = engine
  const state = stateOf(config)!
  return engine
    .recover(error, {
      facts: state.facts,
      sentAt: state.sentAt,
      signal: signalOf(config),
      isReplay: state.replay === true,
      notReplayable: isStream(config.data)
        ? 'the request body is a ReadableStream, which cannot be sent twice'
        : null,
      send: () => {
        const next: AxiosConfigLike = {
          ...config,
          [KEY]: { facts: state.facts, replay: true, sentAt: undefined, untrack: undefined },
        }
        // A relative URL now points elsewhere (a client-side route change, a new <base>): the replay
        // goes where the request went, the resolved URL (query included) in place of url/baseURL/params.
        if (scope.resolve(rawUrl(instance, config)) !== state.facts.url) {
          Object.assign(next, { url: state.facts.url, baseURL: undefined, params: undefined })
        }
        return instance.request(next)
      },
    })
    .catch(rethrow(config, request))
}

/** What detection needs of an axios response. */
const snapshot = (response: AxiosResponseLike, facts: RequestFacts): ResponseSnapshot => {
  const responseURL = (response.request as { responseURL?: unknown } | undefined)?.responseURL
  const url = typeof responseURL === 'string' ? responseURL : ''
  const snap: ResponseSnapshot = {
    status: response.status,
    type: 'basic',
    redirected: url !== '' && url !== facts.url,
    url,
    contentType: headerGet(response.headers, 'content-type'),
    location: headerGet(response.headers, 'location'),
    authRequired: authRequiredReason(response),
  }
  if (needsPeek(snap.status, snap.contentType)) {
    // axios has parsed a JSON body already: its text is what the profile's 401 fingerprint reads.
    const data = response.data
    const parsed = !!data && (Array.isArray(data) || Object.getPrototypeOf(data) === Object.prototype)
    const text = typeof data === 'string' ? data : parsed ? JSON.stringify(data) : ''
    snap.bodyPeek = text.slice(0, PEEK_BYTES)
  }
  return snap
}

/**
 * The request interceptor: in-scope requests get the headers and their facts, wait at the gate while a
 * re-login runs (sending one now would only mint another CSRF cookie), and count as on the wire.
 */
const onRequest =
  (engine: Engine, instance: AxiosInstanceLike) =>
  async (config: AxiosConfigLike): Promise<AxiosConfigLike> => {
    const { scope } = engine
    let state = stateOf(config)
    if (state?.facts) {
      // A replay: in scope, headers added already; it goes out now, with the new cookie.
      if (state.sentAt !== undefined) return config
    } else {
      const url = scope.resolve(rawUrl(instance, config))
      if (!scope.test(url)) return config
      for (const [name, value] of engine.headersFor((n) => headerGet(config.headers, n), url)) {
        headerSet(config, name, value)
      }
      const method = String(config.method ?? 'get').toUpperCase()
      state = { facts: { url, method, accept: headerGet(config.headers, 'accept'), inScope: true } }
      config[KEY] = state
      const held = engine.gate({ url, method }, signalOf(config))
      if (held) await held.catch(rethrow(config, undefined))
    }
    state.sentAt = clock()
    // Held, not tracked: the patched XHR or fetch under axios, if any, sends it and takes the count over.
    state.untrack = engine.hold(state.facts)
    return config
  }

/**
 * The response error interceptor: a failure an inner patch judged already keeps its verdict; any other
 * (an error status, axios's `ERR_NETWORK`) is judged here and a lost session recovered.
 */
const onError =
  (engine: Engine, instance: AxiosInstanceLike) =>
  async (error: any): Promise<never> => {
    const config = error?.config as AxiosConfigLike | undefined
    const state = stateOf(config)
    state?.untrack?.()
    if (!state?.facts || !config || isAuthRequiredError(error)) throw error
    const request = error.request
    // Already judged and reported by an inner patch: the XHR patch, or a patched fetch (axios's fetch adapter).
    const inner = request && engine.guarded.has(request) ? engine.guarded.get(request) : undefined
    if (inner !== undefined) throw inner ? toAxiosError(inner, config, request) : error
    if (isAuthRequiredError(error.cause)) throw toAxiosError(error.cause, config, request)
    const snap: ResponseSnapshot | null = error.response
      ? snapshot(error.response, state.facts)
      : error.code === 'ERR_NETWORK'
        ? networkErrorSnapshot(state.facts.url)
        : null
    if (!snap) throw error
    if (snap.authRequired) {
      // The patched fetch under axios's fetch adapter judged and reported it: final, same shape.
      const lost = new AuthRequiredError({
        reason: snap.authRequired,
        url: state.facts.url,
        method: state.facts.method,
        cause: error,
      })
      throw toAxiosError(lost, config, request, error.response)
    }
    const lost = await engine.judge(snap, state.facts, error, state.sentAt)
    if (!lost) throw error
    return recover(engine, instance, lost, config, request) as Promise<never>
  }

type Handler = { fulfilled?: unknown }

/**
 * Make the request interceptor whose `fulfilled` is `fn` the last one axios runs, so the SDK decides
 * scope on the final URL: an app interceptor may change `baseURL`/`url`, and axios runs request
 * interceptors in reverse registration order (its default, `legacyInterceptorReqResOrdering`) or, with
 * that flag off, in order. The handler stays in axios's list under its id (`eject(id)`, `clear()` work as
 * ever); only the order `forEach` hands the handlers to axios changes. Returns the restore.
 */
const runLast = (instance: AxiosInstanceLike, fn: unknown): (() => void) => {
  const manager = instance.interceptors.request as { forEach?: (each: (h: Handler) => void) => void }
  const previous = manager.forEach
  if (typeof previous !== 'function') return () => {}
  const forEach = function (this: unknown, each: (h: Handler) => void): void {
    const list: Handler[] = []
    let own: Handler | undefined
    previous.call(this, (h) => {
      if (h.fulfilled === fn) own = h
      else list.push(h)
    })
    const inOrder =
      (instance as { defaults?: { transitional?: { legacyInterceptorReqResOrdering?: unknown } } }).defaults
        ?.transitional?.legacyInterceptorReqResOrdering === false
    if (own) inOrder ? list.push(own) : list.unshift(own)
    for (const h of list) each(h)
  }
  manager.forEach = forEach
  return () => {
    if (manager.forEach === forEach) manager.forEach = previous
  }
}

/**
 * Register the SDK's interceptors on an axios instance; returns the function that ejects both.
 * In-scope requests get the headers, responses and errors go through the one detection pipeline,
 * lost sessions are replayed through the same instance once a re-login succeeds.
 *
 * @example
 * const guardAxios = createAxiosAdapter(engineOf(reauth))
 * const eject = guardAxios(axios.create({ baseURL: '/api' }))
 */
export const createAxiosAdapter =
  (engine: Engine) =>
  (instance: AxiosInstanceLike): (() => void) => {
    const onResponse = async (response: AxiosResponseLike): Promise<AxiosResponseLike> => {
      const state = stateOf(response.config)
      state?.untrack?.()
      if (!state?.facts || (response.request && engine.guarded.has(response.request))) return response
      const error = await engine.judge(snapshot(response, state.facts), state.facts, undefined, state.sentAt)
      return error ? recover(engine, instance, error, response.config, response.request) : response
    }

    // Plain use()/eject() (reordering axios's handler list would shift the ids the app ejects by); the
    // request interceptor is run last by `runLast`.
    const { request, response } = instance.interceptors
    const guard = onRequest(engine, instance)
    const requestId = request.use(guard, null)
    const restore = runLast(instance, guard)
    const responseId = response.use(onResponse, onError(engine, instance))
    return () => {
      restore()
      request.eject(requestId)
      response.eject(responseId)
    }
  }
