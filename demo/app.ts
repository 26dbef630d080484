/**
 * The demo SPA: one ajax-reauth instance from the browser build (`window.AjaxReauth`), four HTTP
 * clients, buttons that break the session through the test proxy's admin API, live counters and log.
 * Bundled by esbuild when `npm run demo` starts (demo/server.ts).
 */
import type * as AjaxReauthModule from '../src/iife'
import type { Reauth } from '../src/index'

type Adapter = 'fetch' | 'xhr' | 'axios' | 'ky'
type Mode = 'default' | 'skip' | 'nginx'
interface Config {
  appUrl: string
  nginxUrl: string | null
  idpUrl: string
  /** The admin API: the test proxy's `/__admin`, or the real binary's own admin origin. */
  adminUrl: string
  /** What answers: the test proxy, or `oauth2-proxy v7.15.6 (real binary)`. */
  proxy: string
}
interface ProxyState {
  options: { skipProviderButton: boolean }
  counters: { signInStarts: number; csrfCookiesMinted: number; sessionsCreated: number; callbacks: number }
}
type LogKind = 'ok' | 'fail' | 'event' | 'action' | 'info'

const w = window as unknown as {
  AjaxReauth: typeof AjaxReauthModule
  axios: any
  ky: any
  demo: {
    ready: boolean
    reauth: Reauth
    counters: typeof counters
    request(adapter: Adapter): Promise<boolean>
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (!el) throw new Error(`#${id} missing`)
  return el as T
}

// The page's own calls to the admin API never go through the SDK.
const nativeFetch = window.fetch.bind(window)

const counters = { ok: 0, failed: 0, relogins: 0 }
const params = new URLSearchParams(location.search)
let sdkOn = params.get('sdk') !== 'off'

const config: Config = await nativeFetch('/demo/config.json').then((r) => r.json())
const onNginx = config.nginxUrl !== null && location.origin === new URL(config.nginxUrl).origin

// ---- log -------------------------------------------------------------------------------------------
const logEl = $('log')
function log(kind: LogKind, label: string, text: string): void {
  const li = document.createElement('li')
  li.dataset.kind = kind
  const now = new Date()
  const time = `${now.toLocaleTimeString([], { hour12: false })}.${String(now.getMilliseconds()).padStart(3, '0')}`
  for (const [cls, value] of [
    ['time', time],
    ['kind', label],
    ['text', text],
  ] as const) {
    const span = document.createElement('span')
    span.className = cls
    span.textContent = value
    li.append(span)
  }
  logEl.prepend(li)
  while (logEl.childElementCount > 300) logEl.lastElementChild?.remove()
}

function render(): void {
  $('c-ok').textContent = String(counters.ok)
  $('c-failed').textContent = String(counters.failed)
  $('c-relogins').textContent = String(counters.relogins)
  $('sdk-state').textContent = sdkOn ? 'on' : 'off'
}

function showError(type: string, reason: string | null, message: string): void {
  $('last-error-type').textContent = type
  $('last-error-reason').textContent = reason ?? '—'
  $('last-error-message').textContent = message
}

// ---- the SDK ---------------------------------------------------------------------------------------
const { createReauth } = w.AjaxReauth
const reauth = createReauth({ proxy: 'oauth2-proxy', relogin: 'iframe', reloginTimeoutMs: 10_000 })
const api = w.axios.create()
let ejectAxios: (() => void) | null = null
let kyApi = w.ky

/** A burst reports dozens of identical events: the first is logged, the rest as one summary line. */
const batches = new Map<string, number>()
function logBatched(key: string, first: () => void, summary: (more: number) => string): void {
  const n = batches.get(key) ?? 0
  batches.set(key, n + 1)
  if (n > 0) return
  first()
  setTimeout(() => {
    const more = (batches.get(key) ?? 1) - 1
    batches.delete(key)
    if (more > 0) log('event', key.split(':')[0] ?? key, summary(more))
  }, 100)
}

reauth.on('reauth:required', (e) =>
  logBatched(
    `required:${e.reason}`,
    () => log('event', 'required', `${e.reason} · ${e.method} ${new URL(e.url).pathname}`),
    (more) => `… and ${more} more request${more === 1 ? '' : 's'} (${e.reason}) held for the same re-login`,
  ),
)
reauth.on('reauth:start', (e) => log('event', 'start', `re-login #${e.generation} (${e.strategy})`))
reauth.on('reauth:success', (e) => {
  counters.relogins++
  render()
  log('event', 'success', `session renewed in ${e.durationMs} ms`)
})
reauth.on('reauth:failure', (e) => log('event', 'failure', `${e.error.name}: ${e.error.message}`))
reauth.on('reauth:interaction-required', (e) =>
  log('event', 'interact', `silent re-login impossible: ${e.reason}`),
)
reauth.on('circuit:open', (e) => log('event', 'circuit', `open after ${e.failures} failures`))
reauth.on('circuit:close', (e) => log('event', 'circuit', `closed (${e.reason})`))
let replayed = 0
reauth.on('request:replayed', () => {
  // a burst replays dozens: one line for all of them
  if (replayed++ > 0) return
  setTimeout(() => {
    log('event', 'replayed', `${replayed} request${replayed === 1 ? '' : 's'} sent again`)
    replayed = 0
  }, 100)
})

function setSdk(on: boolean): void {
  sdkOn = on
  if (on) {
    reauth.install()
    ejectAxios = w.AjaxReauth.axiosReauth(api, reauth)
    kyApi = w.ky.create({ hooks: w.AjaxReauth.kyReauth(reauth) })
  } else {
    reauth.uninstall()
    ejectAxios?.()
    ejectAxios = null
    kyApi = w.ky
  }
  $<HTMLInputElement>('sdk-toggle').checked = on
  render()
}

// ---- requests --------------------------------------------------------------------------------------
class HttpStatusError extends Error {
  override name = 'HttpStatusError'
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`HTTP ${status}${detail ? ` (${detail})` : ''}`)
  }
}

const describeBody = (contentType: string | null, text: string): string =>
  contentType?.includes('text/html')
    ? /<title>([^<]*)<\/title>/.exec(text)?.[1]
      ? `HTML page "${/<title>([^<]*)<\/title>/.exec(text)?.[1]}"`
      : 'HTML page'
    : text.slice(0, 60)

function expectItems(data: unknown): number {
  const items = (data as { items?: unknown[] } | null)?.items
  if (!Array.isArray(items)) throw new Error('no JSON data in the answer')
  return items.length
}

const clients: Record<Adapter, () => Promise<number>> = {
  async fetch() {
    const r = await fetch('/api/items')
    const text = await r.text()
    if (!r.ok) throw new HttpStatusError(r.status, describeBody(r.headers.get('content-type'), text))
    return expectItems(JSON.parse(text))
  },
  xhr: () =>
    new Promise((resolve, reject) => {
      const x = new XMLHttpRequest()
      x.open('GET', '/api/items')
      x.onloadend = () => {
        if (x.status === 0)
          return reject(Object.assign(new Error('XHR network error (status 0)'), { name: 'XhrError' }))
        if (x.status < 200 || x.status >= 300) {
          let reason: string | undefined
          try {
            reason = JSON.parse(x.responseText).reason
          } catch {}
          return reject(
            Object.assign(
              new HttpStatusError(
                x.status,
                describeBody(x.getResponseHeader('content-type'), x.responseText),
              ),
              {
                reason,
              },
            ),
          )
        }
        try {
          resolve(expectItems(JSON.parse(x.responseText)))
        } catch (e) {
          reject(e)
        }
      }
      x.send()
    }),
  async axios() {
    const r = await api.get('/api/items')
    return expectItems(r.data)
  },
  async ky() {
    return expectItems(await kyApi.get('/api/items').json())
  },
}

async function request(adapter: Adapter, quiet = false): Promise<boolean> {
  const t0 = performance.now()
  try {
    const n = await clients[adapter]()
    counters.ok++
    if (!quiet) log('ok', adapter, `200 · ${n} items in ${Math.round(performance.now() - t0)} ms`)
    return true
  } catch (e) {
    const err = e as {
      name?: string
      message?: string
      reason?: string
      code?: string
      response?: { status?: number }
    }
    counters.failed++
    const type =
      err.code && err.name !== 'AuthRequiredError' ? `${err.name} (${err.code})` : (err.name ?? 'Error')
    showError(type, err.reason ?? null, err.message ?? String(e))
    if (!quiet) log('fail', adapter, `${type}${err.reason ? ` · ${err.reason}` : ''} · ${err.message ?? ''}`)
    return false
  } finally {
    render()
  }
}

async function burst(): Promise<void> {
  const adapters: Adapter[] = ['fetch', 'xhr', 'axios', 'ky']
  log('info', 'burst', '50 requests at once (fetch, XHR, axios, ky)')
  const t0 = performance.now()
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => request(adapters[i % 4] as Adapter, true)),
  )
  const ok = results.filter(Boolean).length
  log(
    ok === 50 ? 'ok' : 'fail',
    'burst',
    `${ok} ok, ${50 - ok} failed in ${Math.round(performance.now() - t0)} ms`,
  )
}

// ---- the proxy (admin API of the test proxy) -------------------------------------------------------
async function admin(action: string, body?: unknown): Promise<unknown> {
  const r = await nativeFetch(`${config.adminUrl}/${action}`, {
    method: 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return r.json()
}

let lastState: ProxyState | null = null
async function refreshProxyState(): Promise<void> {
  try {
    lastState = (await admin('state')) as ProxyState
  } catch {
    return
  }
  $('c-signin-starts').textContent = String(lastState.counters.signInStarts)
  $('c-csrf').textContent = String(lastState.counters.csrfCookiesMinted)
  $('c-sessions').textContent = String(lastState.counters.sessionsCreated)
  const mode: Mode = onNginx ? 'nginx' : lastState.options.skipProviderButton ? 'skip' : 'default'
  const radio = $<HTMLInputElement>(`mode-${mode}`)
  if (!radio.checked) radio.checked = true
}

async function sessionAction(label: string, run: () => Promise<unknown>): Promise<void> {
  await run()
  log('action', 'session', label)
  await refreshProxyState()
}

function goTo(origin: string): void {
  const search = sdkOn ? '' : '?sdk=off'
  location.assign(`${origin}/demo/${search}`)
}

async function setMode(mode: Mode): Promise<void> {
  if (mode === 'nginx') {
    if (!config.nginxUrl) {
      log('fail', 'mode', 'nginx is not installed (/usr/sbin/nginx)')
      return
    }
    if (!onNginx) goTo(config.nginxUrl)
    return
  }
  await admin('set', { skipProviderButton: mode === 'skip' })
  log(
    'action',
    'mode',
    mode === 'skip'
      ? 'skip-provider-button: browser requests get a 302 to the provider'
      : 'default: browser requests get the 403 sign-in page',
  )
  if (onNginx) goTo(config.appUrl)
  else await refreshProxyState()
}

// ---- wiring ----------------------------------------------------------------------------------------
for (const adapter of ['fetch', 'xhr', 'axios', 'ky'] as const) {
  $(`btn-${adapter}`).addEventListener('click', () => void request(adapter))
}
$('btn-burst').addEventListener('click', () => void burst())
$('btn-expire').addEventListener(
  'click',
  () => void sessionAction('expired (server side)', () => admin('expire-session')),
)
$('btn-tamper').addEventListener(
  'click',
  () => void sessionAction('cookie tampered (fails validation)', () => admin('tamper-session')),
)
$('btn-delete').addEventListener(
  'click',
  () => void sessionAction('deleted (server side)', () => admin('delete-session')),
)
$('btn-revoke').addEventListener(
  'click',
  () =>
    void sessionAction('refresh token revoked; cookie refresh every 1 s', async () => {
      await admin('set', { cookieRefreshMs: 1000 })
      await admin('revoke-refresh')
    }),
)
$<HTMLInputElement>('sdk-toggle').addEventListener('change', (e) => {
  const on = (e.target as HTMLInputElement).checked
  setSdk(on)
  log(
    'info',
    'sdk',
    on
      ? 'installed: fetch and XHR patched, axios interceptors, ky hooks'
      : 'uninstalled: the app talks to the proxy directly',
  )
})
for (const mode of ['default', 'skip', 'nginx'] as const) {
  $(`mode-${mode}`).addEventListener('change', () => void setMode(mode))
}
$('btn-clear').addEventListener('click', () => {
  logEl.replaceChildren()
  counters.ok = 0
  counters.failed = 0
  counters.relogins = 0
  showError('—', null, '—')
  render()
})

$('origin-line').textContent = onNginx
  ? `This page: ${location.origin} (real nginx, auth_request /oauth2/auth).`
  : `This page: ${location.origin} (${config.proxy}).${config.nginxUrl ? ` nginx front: ${config.nginxUrl}` : ''}`

setSdk(sdkOn)
await refreshProxyState()
setInterval(() => void refreshProxyState(), 1000)
log('info', 'ready', `signed in · SDK ${sdkOn ? 'on' : 'off'} · ${onNginx ? 'nginx front' : 'test proxy'}`)
w.demo = { ready: true, reauth, counters, request }
