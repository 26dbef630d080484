import type { ResponseSnapshot } from '../types'
import { needsPeek, PEEK_BYTES } from './detect'

export const isAbortError = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError'

/** How long a body peek may wait for the first chunk: a slow or endless stream is judged without it. */
export const PEEK_WAIT_MS = 150

/**
 * Read the start of a cloned body without touching the app's copy: what arrived by the first chunk (up to
 * `PEEK_BYTES`), within `PEEK_WAIT_MS`. The response is never held back longer, so a streamed page reaches
 * the app as fast as natively; the app's branch of the tee keeps every byte.
 */
const peekBody = async (response: Response): Promise<string> => {
  const reader = response.clone().body!.getReader()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), PEEK_WAIT_MS)
  })
  try {
    const first = await Promise.race([reader.read(), late])
    if (!first || first.done || !first.value) return ''
    return new TextDecoder().decode(first.value.subarray(0, PEEK_BYTES * 4)).slice(0, PEEK_BYTES)
  } catch {
    // A body that errors is judged on its status line and headers.
    return ''
  } finally {
    clearTimeout(timer)
    reader.cancel().catch(() => {})
  }
}

const withoutFragment = (url: string): string => {
  const hash = url.indexOf('#')
  return hash === -1 ? url : url.slice(0, hash)
}

/**
 * What detection needs of a fetch `Response`. Synchronous unless an in-scope HTML body (or a 401's) must be
 * peeked (the hot path of a JSON response costs no extra promise tick). `requestUrl`, where given, is the
 * URL of a response that was not redirected (fetch's `url` is then the request's, without its fragment),
 * so that getter is read only after a redirect: it serialises a URL on each read in some engines.
 */
export const snapshotResponse = (
  response: Response,
  inScope: boolean,
  requestUrl?: string,
): ResponseSnapshot | Promise<ResponseSnapshot> => {
  const { status, headers } = response
  const contentType = headers.get('content-type')
  const redirected = response.redirected
  const snapshot: ResponseSnapshot = {
    status,
    type: response.type,
    redirected,
    url: redirected || requestUrl === undefined ? response.url : withoutFragment(requestUrl),
    contentType,
    location: (status >= 300 && status < 400) || status === 401 ? headers.get('location') : null,
  }
  if (!inScope || !needsPeek(status, contentType) || !response.body) return snapshot
  return peekBody(response).then((bodyPeek) => ({ ...snapshot, bodyPeek }))
}

export const networkErrorSnapshot = (url: string): ResponseSnapshot => ({
  status: 0,
  type: 'error',
  redirected: false,
  url,
  contentType: null,
})
