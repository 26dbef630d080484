import type { ProbeResult, ProxyProfile } from '../types'
import { HEADER_OVERFLOW } from './detect'

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/**
 * One session probe in flight at a time, shared by every caller. `overflowed()`: the last probe was itself
 * refused for its request headers (431, nginx's 400 "Request Header Or Cookie Too Large", or over HTTP/2
 * a connection nginx closed while the same probe without cookies is answered): the cookies have piled
 * up, which proves the loss of a burst whose requests failed CORS before that.
 */
export type SessionProbe = (() => Promise<ProbeResult>) & { overflowed?(): boolean }

/**
 * Asks the proxy whether the session is alive, with `redirect: 'manual'` so a redirect to the identity
 * provider is seen (as an opaque redirect) instead of followed. Concurrent callers share one request.
 */
export const createSessionProbe = (
  profile: Pick<ProxyProfile, 'probe'>,
  getFetch: () => FetchLike,
  origin: () => string,
  timeoutMs = 5000,
): SessionProbe => {
  let inflight: Promise<ProbeResult> | null = null
  let overflow = false
  const run = async (): Promise<ProbeResult> => {
    overflow = false
    const probe = profile.probe
    if (!probe || !origin()) return 'unknown'
    const ctrl = new AbortController()
    const timer = setTimeout(() => ctrl.abort(), timeoutMs)
    const ask = (credentials: RequestCredentials) =>
      getFetch()(origin() + probe.path, {
        method: 'GET',
        credentials,
        redirect: 'manual',
        cache: 'no-store',
        headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' },
        signal: ctrl.signal,
      })
    const read = async (res: Response): Promise<ProbeResult> => {
      const result = probe.read({ status: res.status, type: res.type })
      if (result === 'unknown' && (res.status === 431 || res.status === 400)) {
        overflow = res.status === 431 || HEADER_OVERFLOW.test((await res.text()).slice(0, 2048))
        return result
      }
      // The body is never needed; release the connection.
      res.body?.cancel().catch(() => {})
      return result
    }
    try {
      return await read(await ask('same-origin'))
    } catch {
      if (ctrl.signal.aborted) return 'unknown'
      // Once more with the cookies: a connection reset in passing (a network change, a restarting
      // server) gets its answer, and is never taken for refused cookies.
      const again = await ask('same-origin')
        .then(read)
        .catch(() => null)
      if (again) return again
      // nginx over HTTP/2 refuses a header over its buffers by closing the connection, no 400 page: failing
      // twice with the cookies while the same probe without them is answered (any status) says the
      // cookies, not the network, were refused.
      if (!ctrl.signal.aborted)
        overflow = await ask('omit').then(
          (res) => {
            res.body?.cancel().catch(() => {})
            return true
          },
          () => false,
        )
      return 'unknown'
    } finally {
      clearTimeout(timer)
    }
  }
  const shared: SessionProbe = () => {
    inflight ??= run().finally(() => {
      inflight = null
    })
    return inflight
  }
  shared.overflowed = () => overflow
  return shared
}
