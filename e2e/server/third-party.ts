import type { Listening } from './net.js'
import { readBody } from './net.js'

export interface RecordedRequest {
  method: string
  path: string
  origin: string | null
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface ThirdParty {
  url: string
  /** Every request received, OPTIONS preflights included, in arrival order. */
  requests: RecordedRequest[]
  preflights(): RecordedRequest[]
  reset(): void
}

/** A third-party API on another origin: records everything; CORS allows the given app origins. */
/** `publicUrl`: its origin behind the stack's TLS front (default the plain `http://127.0.0.1:<port>`). */
export function startThirdParty(
  listening: Listening,
  allowedOrigins: () => string[],
  publicUrl?: string,
): ThirdParty {
  const requests: RecordedRequest[] = []
  listening.setHandler(async (req, res) => {
    const body = (await readBody(req)).toString('utf8')
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', origin, headers: req.headers, body })
    const cors: Record<string, string> = {}
    if (origin && allowedOrigins().includes(origin)) {
      cors['access-control-allow-origin'] = origin
      cors['access-control-allow-credentials'] = 'true'
      cors.vary = 'Origin'
    }
    if (req.method === 'OPTIONS') {
      // `/simple/*` is a CORS API for simple requests only (many public APIs): its preflight allows
      // no request header, so a non-safelisted one (X-Requested-With) is refused.
      const asked = req.url?.startsWith('/simple/')
        ? undefined
        : req.headers['access-control-request-headers']
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
        ...(typeof asked === 'string' ? { 'access-control-allow-headers': asked } : {}),
        'access-control-max-age': '0',
      })
      return res.end()
    }
    res.writeHead(200, { ...cors, 'content-type': 'application/json' })
    res.end(JSON.stringify({ thirdParty: true, method: req.method, path: req.url }))
  })
  return {
    url: publicUrl ?? `http://127.0.0.1:${listening.port}`,
    requests,
    preflights: () => requests.filter((r) => r.method === 'OPTIONS'),
    reset: () => {
      requests.length = 0
    },
  }
}
