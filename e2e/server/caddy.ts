import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './net.js'

export const CADDY_BIN = process.env.CADDY_PATH || '/usr/bin/caddy'

export function caddyAvailable(): boolean {
  return existsSync(CADDY_BIN)
}

export interface CaddyFront {
  url: string
  port: number
  config: string
  /** Caddy's own log so far. */
  log(): string
  stop(): Promise<void>
}

/**
 * oauth2-proxy's documented Caddy recipe (docs/configuration/integrations/caddy.md, 7.15.x):
 * `/oauth2/*` proxied to oauth2-proxy, everything else through `forward_auth … { uri /oauth2/auth }`
 * whose 401 becomes `redir * /oauth2/sign_in?rd={scheme}://{host}{uri}` (here `{hostport}`: the port
 * is not 80). No admin API, no automatic HTTPS, plain HTTP on loopback.
 */
export function caddyConfig(o: { port: number; proxyPort: number; upstreamPort: number }): string {
  return `{
	admin off
	auto_https off
}

http://localhost:${o.port} {
	bind 127.0.0.1
	handle /oauth2/* {
		reverse_proxy 127.0.0.1:${o.proxyPort} {
			header_up X-Real-IP {remote_host}
			header_up X-Forwarded-Uri {uri}
		}
	}
	handle {
		forward_auth 127.0.0.1:${o.proxyPort} {
			uri /oauth2/auth
			header_up X-Real-IP {remote_host}
			copy_headers X-Auth-Request-User X-Auth-Request-Email
			@error status 401
			handle_response @error {
				redir * /oauth2/sign_in?rd={scheme}://{hostport}{uri}
			}
		}
		reverse_proxy 127.0.0.1:${o.upstreamPort}
	}
}
`
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/oauth2/ping-caddy', method: 'GET' }, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

/** Start Caddy (`caddy run`, Caddyfile adapter) with its data/config dirs in a temp dir. */
export async function startCaddy(o: {
  proxyPort: number
  upstreamPort: number
  /** Change the generated Caddyfile (a test applying a fix, e2e/real-doctor.e2e.ts). */
  patch?: (config: string) => string
}): Promise<CaddyFront> {
  if (!caddyAvailable()) throw new Error(`caddy missing (${CADDY_BIN}): run bash scripts/setup.sh`)
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-caddy-'))
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const config = (o.patch ?? ((c: string) => c))(caddyConfig({ port, ...o }))
    const file = join(dir, 'Caddyfile')
    await writeFile(file, config)
    const child: ChildProcess = spawn(CADDY_BIN, ['run', '--config', file, '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    })
    const killOnExit = () => child.kill('SIGKILL')
    process.once('exit', killOnExit)
    let log = ''
    const collect = (c: Buffer) => {
      log = (log + c.toString()).slice(-20_000)
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const exited = once(child, 'exit').then(() => 'exited' as const)
    const ready = (async () => {
      for (let i = 0; i < 400; i++) {
        if (child.exitCode !== null) return 'exited' as const
        if (await ping(port)) return 'ready' as const
        await new Promise((r) => setTimeout(r, 25))
      }
      return 'timeout' as const
    })()
    const outcome = await Promise.race([ready, exited])
    if (outcome === 'ready') {
      let stopping: Promise<void> | null = null
      return {
        url: `http://localhost:${port}`,
        port,
        config,
        log: () => log,
        stop() {
          stopping ??= (async () => {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM')
              const t = setTimeout(() => child.kill('SIGKILL'), 3000)
              await exited
              clearTimeout(t)
            }
            process.removeListener('exit', killOnExit)
            await rm(dir, { recursive: true, force: true })
          })()
          return stopping
        },
      }
    }
    child.kill('SIGKILL')
    await exited
    process.removeListener('exit', killOnExit)
    lastError = `${outcome}: ${log}`
  }
  await rm(dir, { recursive: true, force: true })
  throw new Error(`caddy did not start: ${lastError}`)
}
