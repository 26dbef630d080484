import { once } from 'node:events'
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createServer as createNetServer } from 'node:net'

/** An HTTP server listening on a random free port of 127.0.0.1, with a close that kills keep-alive sockets. */
export interface Listening {
  server: Server
  port: number
  /** Replace the request handler (servers are started before their handlers know every port). */
  setHandler(handler: RequestListener): void
  close(): Promise<void>
}

/**
 * `maxHeaderSize`: the largest request head accepted (Node's default 16 KiB answers 431 above it;
 * Go's `net/http`, which oauth2-proxy uses, accepts 1 MiB + 4 KiB).
 */
export async function listen(name: string, options: { maxHeaderSize?: number } = {}): Promise<Listening> {
  let handler: RequestListener = (_req, res) => {
    res.statusCode = 503
    res.end(`${name} not ready`)
  }
  const sockets = new Set<Socket>()
  const server = createServer({ ...options }, (req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => fail(res, name, err))
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | null = null
  return {
    server,
    port,
    setHandler(h) {
      handler = h
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        for (const s of sockets) s.destroy()
      })
      return closing
    },
  }
}

export function fail(res: ServerResponse, name: string, err: unknown): void {
  console.error(`[${name}]`, err)
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain' })
    res.end(`${name}: ${err instanceof Error ? err.message : String(err)}`)
  } else {
    res.destroy()
  }
}

/** A free TCP port (for processes that need a port number up front, like nginx). */
export async function freePort(): Promise<number> {
  const srv = createNetServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Node request headers as a Fetch `Headers` (from the raw list, so nothing is merged twice). */
export function toHeaders(req: IncomingMessage): Headers {
  const h = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    if (name.toLowerCase() === 'cookie' && h.has('cookie')) h.set('cookie', `${h.get('cookie')}; ${value}`)
    else h.append(name, value)
  }
  return h
}

/**
 * How long a server waits before it answers: `ms` plus a uniform jitter in `[-jitter, +jitter]`
 * (never below 0). The jitter comes from a seeded generator, so a run with the same seed and the
 * same arrival order gets the same delays.
 */
export interface Latency {
  ms: number
  jitter?: number
  /** Seed of the jitter generator (default: fixed per server). */
  seed?: number
}

/** A server's latency switch: `wait()` sleeps for the next delay (at once when none is set). */
export interface Delay {
  readonly latency: Latency | null
  set(latency: Latency | null): void
  /** The next delay in ms (advances the generator). */
  next(): number
  wait(): Promise<void>
  /** Back to the initial latency, generator reseeded. */
  reset(): void
}

/** mulberry32: a tiny deterministic generator in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function createDelay(defaultSeed: number, initial: Latency | null = null): Delay {
  let latency: Latency | null = initial
  let random = seeded(initial?.seed ?? defaultSeed)
  const next = (): number => {
    if (!latency) return 0
    const jitter = latency.jitter ?? 0
    return Math.max(0, Math.round(latency.ms + (random() * 2 - 1) * jitter))
  }
  return {
    get latency() {
      return latency
    },
    set(l) {
      if (
        l &&
        (!Number.isFinite(l.ms) || l.ms < 0 || !(Number.isFinite(l.jitter ?? 0) && (l.jitter ?? 0) >= 0))
      )
        throw new Error(`latency must be finite and ≥ 0, got ${JSON.stringify(l)}`)
      latency = l && (l.ms > 0 || (l.jitter ?? 0) > 0) ? l : null
      random = seeded(l?.seed ?? defaultSeed)
    },
    next,
    wait() {
      const ms = next()
      return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve()
    },
    reset() {
      latency = initial
      random = seeded(initial?.seed ?? defaultSeed)
    },
  }
}
