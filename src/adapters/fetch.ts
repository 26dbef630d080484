import { type Engine, networkErrorSnapshot, snapshotResponse } from '../engine'
import type { FetchLike } from '../probe'

const urlOf = (input: RequestInfo | URL): string =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url

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
    const headers = new Headers(init?.headers ?? request?.headers)
    const additions = engine.headersToAdd((name) => headers.has(name))
    for (const [name, value] of additions) headers.set(name, value)
    const nextInit = additions.length ? { ...init, headers } : init

    // A Request's body can be read once: a spare copy, taken before the first send, serves the replay.
    const spare = request && request.body !== null && !request.bodyUsed ? request.clone() : null
    let sent = false

    return engine.run<Response>({
      facts: { url, method, accept: headers.get('accept'), inScope: true },
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
