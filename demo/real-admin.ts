/**
 * The demo's admin API (`POST <adminUrl>/<action>`) for the real oauth2-proxy: the same actions the
 * test proxy answers under `/__admin/`, done the real way. The binary keeps its sessions in the
 * cookie, which the page cannot touch (HttpOnly), so "expire", "delete" and "tamper" restart the
 * binary with a new cookie secret: the browser's cookie then fails validation and is cleared.
 */
import { randomBytes } from 'node:crypto'
import type { Listening } from '../e2e/server/net.js'
import { listen, readBody } from '../e2e/server/net.js'
import type { RealDeployment, RealStack } from '../e2e/server/real.js'

export interface RealAdmin {
  url: string
  close(): Promise<void>
}

export async function startRealAdmin(stack: RealStack): Promise<RealAdmin> {
  const l: Listening = await listen('demo admin')
  let flags: Record<string, string | boolean | null> = {}
  const apply = () => stack.real.configure({ flags } satisfies RealDeployment)
  const rotate = () => {
    flags = { ...flags, 'cookie-secret': randomBytes(16).toString('hex') }
    return apply()
  }
  l.setHandler(async (req, res) => {
    const action = (req.url ?? '/').split('?')[0]?.replace(/^\/+/, '') ?? ''
    const body = (await readBody(req)).toString('utf8')
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {}
    let result: unknown = { ok: true }
    if (action === 'expire-session' || action === 'delete-session' || action === 'tamper-session')
      await rotate()
    else if (action === 'revoke-refresh') result = { refreshTokens: stack.idp.revokeRefreshTokens() }
    else if (action === 'set') {
      if (typeof input.skipProviderButton === 'boolean')
        flags = { ...flags, 'skip-provider-button': input.skipProviderButton }
      if (typeof input.cookieRefreshMs === 'number')
        flags = {
          ...flags,
          'cookie-refresh': input.cookieRefreshMs > 0 ? `${input.cookieRefreshMs}ms` : null,
        }
      await apply()
    } else if (action === 'reset') {
      flags = {}
      await stack.reset()
    } else if (action === 'state') {
      result = {
        options: { skipProviderButton: flags['skip-provider-button'] === true },
        counters: stack.real.counters,
        idp: stack.idp.counters,
        real: { version: stack.real.version, args: stack.real.args.filter((a) => !/secret/.test(a)) },
      }
    } else {
      res.writeHead(404, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' })
      return res.end(`unknown admin action ${action}`)
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'access-control-allow-origin': '*',
    })
    res.end(JSON.stringify(result))
  })
  return { url: `http://localhost:${l.port}`, close: () => l.close() }
}
