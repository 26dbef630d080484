import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './net.js'

export const NGINX_BIN = '/usr/sbin/nginx'

export function nginxAvailable(): boolean {
  return existsSync(NGINX_BIN)
}

export interface NginxFront {
  url: string
  port: number
  dir: string
  config: string
  /** nginx's error log so far (for failing tests). */
  errorLog(): Promise<string>
  stop(): Promise<void>
}

/**
 * The ingress-nginx style front: `auth_request /oauth2/auth`, a 401 from it becomes a 302 to
 * `/oauth2/start?rd=$request_uri`, `/oauth2/` goes straight to the test proxy, everything else
 * to the upstream. Default `large_client_header_buffers 4 8k`: a Cookie header over 8 KB gets
 * nginx's own 400 "Request Header Or Cookie Too Large".
 */
/**
 * How a 401 from `/oauth2/auth` reaches the browser:
 * - `test-start`: the emulated bed's front (`/oauth2/start?rd=$request_uri`);
 * - `docs-sign-in`: oauth2-proxy's docs since 7.14.2 (`error_page 401 = @oauth2_signin` →
 *   `302 /oauth2/sign_in?rd=$scheme://$host$request_uri`, here `$http_host`: the port is not 80);
 * - `ingress-start`: ingress-nginx's `auth-signin: /oauth2/start?rd=$escaped_request_uri`, with
 *   `$request_uri` (the escaping needs ingress-nginx's set-misc module); the same 302 for the
 *   paths the tests use.
 * The two real styles also send the docs' `X-Real-IP` / `X-Forwarded-Uri` / `X-Auth-Request-Redirect`.
 */
export type NginxSignIn = 'test-start' | 'docs-sign-in' | 'ingress-start'

const SIGN_IN_RETURN: Record<NginxSignIn, string> = {
  'test-start': '/oauth2/start?rd=$request_uri',
  'docs-sign-in': '/oauth2/sign_in?rd=$scheme://$http_host$request_uri',
  // ingress-nginx's $escaped_request_uri needs its set-misc module (not in Debian's nginx-light)
  'ingress-start': '/oauth2/start?rd=$request_uri',
}

export function nginxConfig(o: {
  dir: string
  port: number
  proxyPort: number
  upstreamPort: number
  signIn?: NginxSignIn
}): string {
  const d = o.dir
  const style = o.signIn ?? 'test-start'
  const real = style !== 'test-start'
  const realIp = real ? '\n      proxy_set_header X-Real-IP $remote_addr;' : ''
  const authUri = real
    ? 'X-Forwarded-Uri $request_uri;\n      proxy_set_header X-Original-URI'
    : 'X-Original-URI'
  return `daemon off;
master_process off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  large_client_header_buffers 4 8k;
  proxy_buffering off;
  proxy_http_version 1.1;

  server {
    listen 127.0.0.1:${o.port};
    server_name localhost;

    location /oauth2/ {
      proxy_pass http://127.0.0.1:${o.proxyPort};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;${realIp}
      proxy_set_header X-Auth-Request-Redirect $request_uri;
    }

    location = /oauth2/auth {
      proxy_pass http://127.0.0.1:${o.proxyPort};
      proxy_set_header Host $http_host;${realIp}
      proxy_set_header ${authUri} $request_uri;
      proxy_set_header Content-Length "";
      proxy_pass_request_body off;
    }

    location / {
      auth_request /oauth2/auth;
      error_page 401 = @oauth2_signin;
      auth_request_set $auth_email $upstream_http_x_auth_request_email;
      auth_request_set $auth_user $upstream_http_x_auth_request_user;
      proxy_set_header X-Forwarded-Email $auth_email;
      proxy_set_header X-Forwarded-User $auth_user;
      proxy_set_header Host $http_host;
      proxy_pass http://127.0.0.1:${o.upstreamPort};
    }

    location @oauth2_signin {
      return 302 ${SIGN_IN_RETURN[style]};
    }
  }
}
`
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/oauth2/ping-nginx', method: 'GET' }, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

export async function startNginx(o: {
  proxyPort: number
  upstreamPort: number
  signIn?: NginxSignIn
  /** Change the generated nginx.conf (a test applying a fix, e2e/real-doctor.e2e.ts). */
  patch?: (config: string) => string
}): Promise<NginxFront> {
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-nginx-'))
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub))
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const config = (o.patch ?? ((c: string) => c))(nginxConfig({ dir, port, ...o }))
    const confFile = join(dir, 'nginx.conf')
    await writeFile(confFile, config)
    const child: ChildProcess = spawn(NGINX_BIN, ['-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const killOnExit = () => child.kill('SIGKILL')
    process.once('exit', killOnExit)
    let stderr = ''
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const exited = once(child, 'exit').then(() => 'exited' as const)
    // wait until nginx answers (or dies: port taken, bad config)
    const ready = (async () => {
      for (let i = 0; i < 200; i++) {
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
        dir,
        config,
        errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
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
    lastError = `${outcome}: ${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`
  }
  await rm(dir, { recursive: true, force: true })
  throw new Error(`nginx did not start: ${lastError}`)
}
