import type { Exchange, FailureKind, RecordedResponse } from './types'

/**
 * How much of a text body the doctor keeps. The page markers are near the top, but oauth2-proxy's
 * footer ("Secured with OAuth2 Proxy version v7.x") comes after its inline logo, past 8 KB.
 */
const BODY_BYTES = 32_768

/** The doctor never sends more than this many requests, whatever the deployment answers. */
export const MAX_REQUESTS = 20

export interface SendOptions {
  label: string
  url: string
  headers: Record<string, string>
  method?: 'GET' | 'HEAD'
}

/** Sends one request; never throws, the failure is on the exchange. */
export type Send = (o: SendOptions) => Promise<Exchange>

/** The error chain's codes and messages, for a one-line reason. */
function describe(err: unknown, timeoutMs: number): { kind: FailureKind; message: string } {
  const parts: string[] = []
  const codes: string[] = []
  let e: unknown = err
  for (let i = 0; e && i < 5; i++) {
    const x = e as { message?: string; code?: string; name?: string; cause?: unknown }
    if (x.code) codes.push(x.code)
    if (x.message) parts.push(x.message)
    if (x.name === 'TimeoutError' || x.name === 'AbortError')
      return { kind: 'timeout', message: `timed out after ${timeoutMs} ms` }
    e = x.cause
  }
  if (parts.includes('bad port'))
    return { kind: 'unreachable', message: 'fetch refuses this port (a blocked port)' }
  const code = codes.find(Boolean) ?? ''
  const text = `${code ? `${code}: ` : ''}${parts[parts.length - 1] ?? String(err)}`
    .replace(/\s+/g, ' ')
    .trim()
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(codes.join(' ') + parts.join(' ')))
    return { kind: 'tls', message: code ? `TLS error: ${code}` : `TLS error: ${text}` }
  if (/TIMEOUT/i.test(code)) return { kind: 'timeout', message: `timed out after ${timeoutMs} ms` }
  return { kind: 'unreachable', message: text }
}

const isText = (type: string | undefined): boolean =>
  !type || /^\s*(text\/|application\/(json|xhtml\+xml|problem\+json)|[^;]*\+json)/i.test(type)

async function readSome(res: Response, signal: AbortSignal): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < BODY_BYTES && !signal.aborted) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } catch {
    // a body cut short still tells what it started with
  } finally {
    reader.cancel().catch(() => undefined)
  }
  const all = new Uint8Array(Math.min(size, BODY_BYTES))
  let at = 0
  for (const c of chunks) {
    const take = Math.min(c.byteLength, all.length - at)
    all.set(c.subarray(0, take), at)
    at += take
    if (at >= all.length) break
  }
  return new TextDecoder().decode(all)
}

/**
 * A `Send` over Node's fetch: `redirect: 'manual'` (the doctor follows hops itself), each request
 * bounded by `timeoutMs`, at most `MAX_REQUESTS` in all (later ones fail without being sent).
 */
export function createSend(timeoutMs: number, log: Exchange[] = []): Send & { count(): number } {
  let count = 0
  const send = async ({ label, url, headers, method = 'GET' }: SendOptions): Promise<Exchange> => {
    const exchange: Exchange = { label, method, url, headers }
    log.push(exchange)
    if (count >= MAX_REQUESTS) {
      exchange.error = { kind: 'timeout', message: `request budget (${MAX_REQUESTS}) spent` }
      return exchange
    }
    count++
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const res = await fetch(url, { method, headers, redirect: 'manual', signal, cache: 'no-store' })
      const recorded: RecordedResponse = { status: res.status, headers: {}, setCookies: [], body: '' }
      res.headers.forEach((v, k) => {
        if (k !== 'set-cookie') recorded.headers[k] = v
      })
      recorded.setCookies = res.headers.getSetCookie()
      recorded.body =
        method === 'GET' && isText(recorded.headers['content-type']) ? await readSome(res, signal) : ''
      if (!recorded.body) res.body?.cancel().catch(() => undefined)
      exchange.response = recorded
    } catch (err) {
      exchange.error = describe(err, timeoutMs)
    }
    return exchange
  }
  return Object.assign(send, { count: () => count })
}
