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

export async function listen(name: string): Promise<Listening> {
  let handler: RequestListener = (_req, res) => {
    res.statusCode = 503
    res.end(`${name} not ready`)
  }
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
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
