import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NginxTls } from './nginx.js'
import { nginxListen, PING_PATH, runNginx } from './nginx.js'

/** One origin the front serves: `https://<host>:<port>` → `http://127.0.0.1:<backendPort>`. */
export interface TlsRoute {
  name: string
  /** The host the browser uses (`localhost`, or `127.0.0.1` for a cross-site origin). */
  host: string
  backendPort: number
}

/** One line of the front's access log. */
export interface TlsLogLine {
  /** The route's name. */
  route: string
  /** nginx's `$server_protocol`: `HTTP/2.0` or `HTTP/1.1`. */
  protocol: string
  /** nginx's `$ssl_protocol` (`TLSv1.3`). */
  tls: string
  method: string
  uri: string
  status: number
}

export interface TlsFront {
  /** The public origin of each route, by name. */
  urls: Record<string, string>
  config: string
  /** Every request the front answered so far (as each ends), but its readiness pings (plain HTTP). */
  log(): Promise<TlsLogLine[]>
  errorLog(): Promise<string>
  stop(): Promise<void>
}

/**
 * A transparent TLS terminator (real nginx, one process, one server block per route): what a load
 * balancer or ingress in front of oauth2-proxy and the provider does in production. It sets
 * `X-Forwarded-Proto: https` and keeps `Host` (the servers build their absolute URLs from both),
 * keeps connections to the Node servers alive, streams both ways, and lets the servers' own header
 * limits decide (1 MB heads, no body limit). A backend that resets or refuses the connection (the
 * provider "down") is passed on as a closed connection (`return 444`), not as a 502 page.
 */
export async function startTlsFront(o: {
  tls: Omit<NginxTls, 'http2'>
  http2: boolean
  routes: TlsRoute[]
}): Promise<TlsFront> {
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-tls-front-'))
  const tls: NginxTls = { ...o.tls, http2: o.http2 }
  const run = await runNginx(dir, o.routes.length, (ports) => tlsFrontConfig(dir, tls, o.routes, ports))
  const urls: Record<string, string> = {}
  o.routes.forEach((r, i) => {
    urls[r.name] = `https://${r.host}:${run.ports[i]}`
  })
  const byPort = new Map(o.routes.map((r, i) => [String(run.ports[i]), r.name]))
  return {
    urls,
    config: run.config,
    async log() {
      const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')
      return text
        .split('\n')
        .filter((line) => line && !line.includes(` ${PING_PATH} `))
        .map((line) => {
          const [port = '', protocol = '', ssl = '', method = '', uri = '', status = '0'] = line.split(' ')
          return { route: byPort.get(port) ?? port, protocol, tls: ssl, method, uri, status: Number(status) }
        })
    },
    errorLog: run.errorLog,
    stop: run.stop,
  }
}

export function tlsFrontConfig(dir: string, tls: NginxTls, routes: TlsRoute[], ports: number[]): string {
  const servers = routes.map((r, i) => {
    const port = ports[i] ?? 0
    return `
  upstream ${r.name.replace(/\W/g, '_')} {
    server 127.0.0.1:${r.backendPort};
    keepalive 64;
  }
  server {
    ${nginxListen(port, tls)}
    server_name ${r.host};
    location / {
      proxy_pass http://${r.name.replace(/\W/g, '_')};
      proxy_set_header Host $host:$server_port;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
      error_page 502 504 = @down;
    }
    location @down {
      return 444;
    }
  }`
  })
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  log_format front '$server_port $server_protocol $ssl_protocol $request_method $request_uri $status';
  access_log ${dir}/access.log front;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  large_client_header_buffers 4 1m;
  client_header_buffer_size 64k;
  client_max_body_size 0;
  proxy_buffering off;
  proxy_request_buffering off;
  proxy_http_version 1.1;
  proxy_read_timeout 300s;
  proxy_send_timeout 300s;
  ssl_session_cache shared:tls:1m;
${servers.join('\n')}
}
`
}
