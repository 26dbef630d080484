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
  tls?: NginxTls
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
    ${nginxListen(o.port, o.tls)}
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

/** What the readiness check asks for (a plain request: a TLS port answers it with a 400). */
export const PING_PATH = '/oauth2/ping-nginx'

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: PING_PATH, method: 'GET' }, (res) => {
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
  /** Listen with TLS (and HTTP/2 when `http2`): the stack's `h1-tls` / `h2` transports. */
  tls?: NginxTls
  /** Change the generated nginx.conf (a test applying a fix, e2e/real-doctor.e2e.ts). */
  patch?: (config: string) => string
}): Promise<NginxFront> {
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-nginx-'))
  const run = await runNginx(dir, 1, ([port = 0]) =>
    (o.patch ?? ((c: string) => c))(nginxConfig({ dir, port, ...o })),
  )
  const port = run.ports[0] ?? 0
  return {
    url: `${o.tls ? 'https' : 'http'}://localhost:${port}`,
    port,
    dir,
    config: run.config,
    errorLog: run.errorLog,
    stop: run.stop,
  }
}

/** TLS settings of a generated server block. */
export interface NginxTls {
  chain: string
  key: string
  http2: boolean
}

/** `listen` line and certificate directives of a server block (plain when `tls` is absent). */
export function nginxListen(port: number, tls?: NginxTls): string {
  if (!tls) return `listen 127.0.0.1:${port};`
  return `listen 127.0.0.1:${port} ssl${tls.http2 ? ' http2' : ''};
    ssl_certificate ${tls.chain};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;`
}

/** A running nginx (`daemon off; master_process off`) on `ports` free ports, its dir removed on stop. */
export interface NginxRun {
  ports: number[]
  config: string
  errorLog(): Promise<string>
  stop(): Promise<void>
}

/**
 * Run nginx with the config `config(ports)` on free ports, wait until it answers on the first one
 * (a plain request to a TLS port gets nginx's 400: it answers), up to three tries when a port was
 * taken meanwhile. `dir` (made by the caller) gets the temp paths and is removed on stop or failure.
 */
export async function runNginx(
  dir: string,
  nPorts: number,
  config: (ports: number[]) => string,
): Promise<NginxRun> {
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub))
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports: number[] = []
    for (let i = 0; i < nPorts; i++) ports.push(await freePort())
    const text = config(ports)
    const confFile = join(dir, 'nginx.conf')
    await writeFile(confFile, text)
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
        if (await ping(ports[0] ?? 0)) return 'ready' as const
        await new Promise((r) => setTimeout(r, 25))
      }
      return 'timeout' as const
    })()
    const outcome = await Promise.race([ready, exited])
    if (outcome === 'ready') {
      let stopping: Promise<void> | null = null
      return {
        ports,
        config: text,
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
