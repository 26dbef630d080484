import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request } from 'node:http'
import type { Delay, Listening } from './net.js'
import { createDelay } from './net.js'

/** Go's `net/http` limit on a request head (oauth2-proxy keeps the default): 1 MiB + 4 KiB. */
export const GO_MAX_HEADER_BYTES = (1 << 20) + 4096

/** One `Set-Cookie` of an answer: the cookie's name and whether it clears it (`Max-Age=0`/past `Expires`). */
export interface SetCookieSeen {
  name: string
  cleared: boolean
}

/** One request the real oauth2-proxy got, as the recording hop in front of it saw it. */
export interface RealRecord {
  /** `Date.now()` at arrival and when the answer's head went out (null while pending). */
  at: number
  answeredAt: number | null
  method: string
  /** Path and query as received. */
  path: string
  /** The front's `X-Forwarded-Uri` / `X-Original-URI` (nginx, Caddy), or null. */
  originalUri: string | null
  accept: string | null
  status: number | null
  contentType: string | null
  location: string | null
  setCookies: SetCookieSeen[]
  /** CSRF cookies the answer set (not cleared). */
  csrfMinted: number
  /** The first 4 KiB of the answer's body (enough for the page markers the SDK reads). */
  bodyStart: string
}

/** Counters computed from the recorded traffic (since the last `reset()`). */
export interface RealCounters {
  /** Answers that sent the browser to the provider (`302` to `<idp>/auth`): /oauth2/start, skip-provider-button. */
  signInStarts: number
  csrfCookiesMinted: number
  csrfCookiesCleared: number
  callbacks: number
  /** Callbacks not answered with a `302`. */
  callbackFailures: number
  /** Session cookies set / cleared (`_oauth2_proxy`, or its `_0`, `_1`… parts: counted once per answer). */
  sessionsCreated: number
  sessionsCleared: number
  /** Answers with oauth2-proxy's sign-in page (`<title>Sign In</title>`). */
  signInPages: number
  /** `401` answers: all, and those with `application/json`. */
  unauthorized: number
  jsonUnauthorized: number
  forbidden: number
  /** `431` (Go) or `400` (header too large). */
  headerTooLarge: number
  /** Requests to `/oauth2/auth` (nginx / Caddy subrequests included). */
  authChecks: number
}

export const SESSION_COOKIE = /^_oauth2_proxy(?:_\d+)?$/
const CSRF_COOKIE = /_csrf$/

export function parseSetCookie(v: string): SetCookieSeen {
  const name = v.slice(0, v.indexOf('=')).trim()
  const attrs = v.toLowerCase()
  const exp = /;\s*expires=([^;]+)/.exec(attrs)?.[1]
  const cleared = /;\s*max-age=(0|-\d+)\b/.test(attrs) || (exp !== undefined && Date.parse(exp) < Date.now())
  return { name, cleared }
}

export function countersOf(records: readonly RealRecord[], idpUrl: string): RealCounters {
  const c: RealCounters = {
    signInStarts: 0,
    csrfCookiesMinted: 0,
    csrfCookiesCleared: 0,
    callbacks: 0,
    callbackFailures: 0,
    sessionsCreated: 0,
    sessionsCleared: 0,
    signInPages: 0,
    unauthorized: 0,
    jsonUnauthorized: 0,
    forbidden: 0,
    headerTooLarge: 0,
    authChecks: 0,
  }
  for (const r of records) {
    const path = r.path.split('?')[0]
    if (r.status === 302 && r.location?.startsWith(`${idpUrl}/auth`)) c.signInStarts++
    c.csrfCookiesMinted += r.csrfMinted
    c.csrfCookiesCleared += r.setCookies.filter((s) => s.cleared && CSRF_COOKIE.test(s.name)).length
    if (path === '/oauth2/callback') {
      c.callbacks++
      if (r.status !== null && r.status !== 302) c.callbackFailures++
    }
    if (path === '/oauth2/auth') c.authChecks++
    const session = r.setCookies.filter((s) => SESSION_COOKIE.test(s.name))
    if (session.some((s) => !s.cleared)) c.sessionsCreated++
    else if (session.some((s) => s.cleared)) c.sessionsCleared++
    if (r.bodyStart.includes('<title>Sign In</title>')) c.signInPages++
    if (r.status === 401) {
      c.unauthorized++
      if (r.contentType?.startsWith('application/json')) c.jsonUnauthorized++
    }
    if (r.status === 403) c.forbidden++
    if (r.status === 431 || (r.status === 400 && /too large/i.test(r.bodyStart))) c.headerTooLarge++
  }
  return c
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
])

/**
 * The recording hop: a Node server in front of the real binary that forwards every request
 * unchanged (streaming both ways, `Host` kept) and records what came back. It accepts request heads
 * as large as Go does, so header limits stay the binary's. `delay` is the `proxy` latency.
 */
export function startHop(
  listening: Listening,
  target: () => number,
): { requests: RealRecord[]; delay: Delay; reset(): void } {
  const requests: RealRecord[] = []
  const delay = createDelay(1)
  listening.setHandler(async (req: IncomingMessage, res: ServerResponse) => {
    const header = (n: string) => {
      const v = req.headers[n]
      return Array.isArray(v) ? v.join(', ') : (v ?? null)
    }
    const record: RealRecord = {
      at: Date.now(),
      answeredAt: null,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      originalUri: header('x-forwarded-uri') ?? header('x-original-uri'),
      accept: header('accept'),
      status: null,
      contentType: null,
      location: null,
      setCookies: [],
      csrfMinted: 0,
      bodyStart: '',
    }
    requests.push(record)
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
    await new Promise<void>((resolve) => {
      const up = request(
        {
          host: '127.0.0.1',
          port: target(),
          method: req.method,
          path: req.url,
          headers: out,
          maxHeaderSize: GO_MAX_HEADER_BYTES,
        },
        (upRes) => {
          const setCookie = upRes.headers['set-cookie'] ?? []
          record.status = upRes.statusCode ?? 502
          record.contentType = upRes.headers['content-type'] ?? null
          record.location = upRes.headers.location ?? null
          record.setCookies = setCookie.map(parseSetCookie)
          record.csrfMinted = record.setCookies.filter((s) => !s.cleared && CSRF_COOKIE.test(s.name)).length
          // paused until the delay is over: no 'data' listener before then
          void delay.wait().then(() => {
            for (const [k, v] of Object.entries(upRes.headers))
              if (v !== undefined && !HOP_BY_HOP.has(k)) res.setHeader(k, v)
            record.answeredAt = Date.now()
            res.writeHead(upRes.statusCode ?? 502)
            upRes.on('data', (chunk: Buffer) => {
              if (record.bodyStart.length < 4096) record.bodyStart += chunk.toString('utf8').slice(0, 4096)
              res.write(chunk)
            })
            upRes.on('end', () => res.end())
          })
          upRes.on('end', resolve)
          upRes.on('error', () => resolve())
          res.on('close', () => {
            upRes.destroy()
            resolve()
          })
        },
      )
      up.on('error', (err) => {
        record.status = 502
        record.answeredAt = Date.now()
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' })
          res.end(`oauth2-proxy unreachable: ${err.message}`)
        } else res.destroy()
        resolve()
      })
      req.pipe(up)
    })
  })
  return {
    requests,
    delay,
    reset() {
      requests.length = 0
      delay.reset()
    },
  }
}

export interface BinaryProcess {
  args: string[]
  /** stdout + stderr so far (request, auth and standard logs), last 200 KB. */
  log(): string
  stop(): Promise<void>
}

async function ping(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? null)
    })
    req.on('error', () => resolve(null))
    req.end()
  })
}

/** Run the binary with `args` and wait until `/ping` answers 200 (or fail with its log). */
export async function runBinary(path: string, args: string[], port: number): Promise<BinaryProcess> {
  const child: ChildProcess = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let log = ''
  const collect = (c: Buffer) => {
    log = (log + c.toString()).slice(-200_000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = once(child, 'exit').then(() => 'exited' as const)
  const ready = (async () => {
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) return 'exited' as const
      if ((await ping(port)) === 200) return 'ready' as const
      await new Promise((r) => setTimeout(r, 25))
    }
    return 'timeout' as const
  })()
  const outcome = await Promise.race([ready, exited])
  let stopping: Promise<void> | null = null
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exited
        clearTimeout(t)
      }
      process.removeListener('exit', killOnExit)
    })()
    return stopping
  }
  if (outcome !== 'ready') {
    await stop()
    throw new Error(`oauth2-proxy did not start (${outcome}): ${args.join(' ')}\n${log}`)
  }
  return { args, log: () => log, stop }
}
