import type { ProbeResult, ProxyProfile } from '../types'

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/** One session probe in flight at a time, shared by every caller. */
export type SessionProbe = () => Promise<ProbeResult>

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
  const run = async (): Promise<ProbeResult> => {
    const probe = profile.probe
    if (!probe || !origin()) return 'unknown'
    const ctrl = new AbortController()
    const timer = setTimeout(() => ctrl.abort(), timeoutMs)
    try {
      const res = await getFetch()(origin() + probe.path, {
        method: 'GET',
        credentials: 'same-origin',
        redirect: 'manual',
        cache: 'no-store',
        headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' },
        signal: ctrl.signal,
      })
      // The body is never needed; release the connection.
      res.body?.cancel().catch(() => {})
      return probe.read({ status: res.status, type: res.type })
    } catch {
      return 'unknown'
    } finally {
      clearTimeout(timer)
    }
  }
  return () => {
    inflight ??= run().finally(() => {
      inflight = null
    })
    return inflight
  }
}
