import { type Engine, networkErrorSnapshot, snapshotResponse } from '../engine'
import type { FetchLike } from '../probe'

const urlOf = (input: RequestInfo | URL): string =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url

const isPlainObject = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const isStream = (body: unknown): boolean =>
  typeof ReadableStream !== 'undefined' && body instanceof ReadableStream

/**
 * A fetch with the SDK in front: headers on in-scope requests, one detection pipeline, the
 * coordinator's gate, queue and replay. Out-of-scope calls go to the underlying fetch untouched.
 * `base` is looked up per call, so wrappers other libraries install later still compose.
 */
export const createFetchAdapter = (
  engine: Engine,
  base: () => FetchLike = engine.baseFetch,
): typeof fetch => {
  const { scope } = engine
  return function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = scope.resolve(urlOf(input))
    if (!scope.test(url)) return base()(input, init)

    const request = typeof Request !== 'undefined' && input instanceof Request ? input : null
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase()
    const own = init?.headers
    let headers: HeadersInit | undefined
    let accept: string | null
    if (!request && (own === undefined || isPlainObject(own))) {
      // The common call (`fetch(url, { headers: {…} })`): no Headers object to build.
      const plain = own as Record<string, string> | undefined
      let requestedWith = false
      accept = null
      for (const key in plain) {
        const name = key.toLowerCase()
        if (name === 'accept') accept = plain[key]!
        else if (name === 'x-requested-with') requestedWith = true
      }
      const additions = engine.headersToAdd((name) => (name === 'accept' ? accept !== null : requestedWith))
      if (additions.length) {
        headers = { ...plain }
        for (const [name, value] of additions) {
          headers[name] = value
          if (name === 'accept') accept = value
        }
      }
    } else {
      const merged = new Headers(own ?? request?.headers)
      const additions = engine.headersToAdd((name) => merged.has(name))
      for (const [name, value] of additions) merged.set(name, value)
      if (additions.length) headers = merged
      accept = merged.get('accept')
    }
    const nextInit = headers ? { ...init, headers } : init

    // A Request's body can be read once: a spare copy, taken before the first send, serves the replay.
    const spare = request && request.body !== null && !request.bodyUsed ? request.clone() : null
    let sent = false

    return engine.run<Response>({
      facts: { url, method, accept, inScope: true },
      signal: init?.signal ?? request?.signal,
      notReplayable: isStream(init?.body)
        ? 'the request body is a ReadableStream, which cannot be sent twice'
        : null,
      send: () => {
        const target = sent && spare ? spare : input
        sent = true
        return base()(target, nextInit)
      },
      inspect: (response) => snapshotResponse(response, true),
      inspectError: (error) => (error instanceof TypeError ? networkErrorSnapshot(url) : null),
    })
  }
}
