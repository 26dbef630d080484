/**
 * The conformance matrix: one set of requests sent to the real oauth2-proxy (every deployment and
 * front) and to the project's emulations (the e2e test proxy with its real nginx front, and
 * `ajax-reauth/testing`'s msw handlers), reduced to what the SDK reads: status, media type,
 * `Location` target, `Set-Cookie` names set and cleared, body fingerprint.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './server/upstream.js'

export type Kind = 'page' | 'fetch' | 'json' | 'xrw'
export const KINDS: readonly Kind[] = ['page', 'fetch', 'json', 'xrw']
export const KIND_HEADERS: Record<Kind, Record<string, string>> = {
  page: {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'sec-fetch-mode': 'navigate',
  },
  fetch: { accept: '*/*' },
  json: { accept: 'application/json' },
  xrw: { accept: '*/*', 'x-requested-with': 'XMLHttpRequest' },
}

export type State =
  | 'valid'
  | 'none'
  | 'tampered'
  | 'expired'
  | 'refresh-failed'
  | 'id-token-expired'
  | 'not-allowed'
export const STATES: readonly State[] = [
  'valid',
  'none',
  'tampered',
  'expired',
  'refresh-failed',
  'id-token-expired',
  'not-allowed',
]

export type DeploymentId =
  | 'defaults'
  | 'skip-provider-button'
  | 'api-route'
  | 'force-json-errors'
  | 'csrf-per-request'
  | 'csrf-per-request-limit'
  | 'nginx'
  | 'nginx-start'
  | 'caddy'
export const DEPLOYMENT_IDS: readonly DeploymentId[] = [
  'defaults',
  'skip-provider-button',
  'api-route',
  'force-json-errors',
  'csrf-per-request',
  'csrf-per-request-limit',
  'nginx',
  'nginx-start',
  'caddy',
]

/** What the SDK reads of one answer. */
export interface Fingerprint {
  status: number
  /** Media type without parameters ('' when absent); not compared on redirects (the browser follows). */
  type: string
  /** `Location` with the app origin as `<app>` and any provider URL as `<provider>` (query dropped). */
  location: string
  /** `Set-Cookie` names, a sorted set: `name` set, `-name` cleared (per-request CSRF as `_oauth2_proxy_<8>_csrf`). */
  cookies: string
  body: string
}
export const FIELDS: readonly (keyof Fingerprint)[] = ['status', 'type', 'location', 'cookies', 'body']

export function normalizeCookieName(name: string): string {
  if (/^_oauth2_proxy_.{8}_csrf$/.test(name)) return '_oauth2_proxy_<8>_csrf'
  if (/^_oauth2_proxy_\d+$/.test(name)) return '_oauth2_proxy'
  return name
}

export function bodyFingerprint(text: string, type: string): string {
  if (text === '') return 'empty'
  if (text.trim() === '{}') return '{}'
  if (text.includes('<title>Sign In</title>')) return 'sign-in page'
  const title = /<title>([^<]*)<\/title>/.exec(text)?.[1]
  if (title !== undefined) return `page "${title}"`
  if (type === 'application/json' && text.includes('"items"')) return 'app data'
  if (type === 'application/json') return `json ${text.slice(0, 60)}`
  if (type === 'text/plain') return JSON.stringify(text)
  return `${type || 'untyped'} (${text.length} B)`
}

export interface Origins {
  app: string[]
  provider: string[]
}

export async function fingerprint(res: Response, origins: Origins): Promise<Fingerprint> {
  const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  let location = res.headers.get('location') ?? ''
  for (const p of origins.provider) if (location.startsWith(p)) location = '<provider>'
  for (const a of origins.app) location = location.split(a).join('<app>')
  location = location.replace(/^(<app>)?\/oauth2\/start\?rd=/, '/oauth2/start?rd=').replace(/%2F/gi, '/')
  const cookies: string[] = res.headers.getSetCookie().map((line) => {
    const name = normalizeCookieName(line.slice(0, line.indexOf('=')).trim())
    const attrs = line.toLowerCase()
    const exp = /;\s*expires=([^;]+)/.exec(attrs)?.[1]
    const cleared =
      /;\s*max-age=(0|-\d+)\b/.test(attrs) || (exp !== undefined && Date.parse(exp) < Date.now())
    return cleared ? `-${name}` : name
  })
  // a name cleared twice in one answer (oauth2-proxy's sign-in page clears the cookie the session
  // loader already cleared) leaves the browser in the same state: compared as a set
  const cookieSet = [...new Set(cookies)].sort().join(' ')
  const text = await res.text()
  const redirect = res.status >= 300 && res.status < 400
  return {
    status: res.status,
    type: redirect ? '(redirect)' : type,
    location,
    cookies: cookieSet,
    body: redirect ? '(redirect)' : bodyFingerprint(text, type),
  }
}

/** One request of the matrix. */
export interface Cell {
  id: string
  deployment: DeploymentId
  state: State
  /** A kind of request to the app (`/api/items`), or an `/oauth2/…` endpoint. */
  kind: Kind | 'endpoint'
  path: string
  headers: Record<string, string>
}

export const ENDPOINTS: { deployment: DeploymentId; state: State; path: string; name: string }[] = [
  { deployment: 'defaults', state: 'valid', path: '/oauth2/auth', name: 'auth' },
  { deployment: 'defaults', state: 'none', path: '/oauth2/auth', name: 'auth' },
  { deployment: 'defaults', state: 'tampered', path: '/oauth2/auth', name: 'auth' },
  { deployment: 'defaults', state: 'not-allowed', path: '/oauth2/auth', name: 'auth' },
  {
    deployment: 'defaults',
    state: 'valid',
    path: '/oauth2/auth?allowed_emails=bob@example.com',
    name: 'auth-allowed-emails',
  },
  {
    deployment: 'defaults',
    state: 'valid',
    path: '/api/items?allowed_emails=bob@example.com',
    name: 'proxy-allowed-emails',
  },
  { deployment: 'defaults', state: 'none', path: '/oauth2/start?rd=/app.html', name: 'start' },
  {
    deployment: 'defaults',
    state: 'none',
    path: '/oauth2/start?rd=//evil.example/x',
    name: 'start-open-redirect',
  },
  { deployment: 'defaults', state: 'none', path: '/oauth2/sign_in', name: 'sign_in' },
  { deployment: 'defaults', state: 'valid', path: '/oauth2/sign_in', name: 'sign_in' },
  { deployment: 'skip-provider-button', state: 'valid', path: '/oauth2/sign_in', name: 'sign_in' },
  { deployment: 'defaults', state: 'none', path: '/oauth2/callback', name: 'callback-no-params' },
  {
    deployment: 'defaults',
    state: 'none',
    path: '/oauth2/callback?code=abc&state=xyz%3A%2F',
    name: 'callback-no-csrf',
  },
  {
    deployment: 'defaults',
    state: 'none',
    path: '/oauth2/callback?error=login_required&state=xyz%3A%2F',
    name: 'callback-error',
  },
  { deployment: 'defaults', state: 'valid', path: '/oauth2/userinfo', name: 'userinfo' },
  { deployment: 'defaults', state: 'none', path: '/oauth2/userinfo', name: 'userinfo' },
]

export function cells(): Cell[] {
  const out: Cell[] = []
  for (const deployment of DEPLOYMENT_IDS)
    for (const state of STATES)
      for (const kind of KINDS)
        out.push({
          id: `${deployment}/${state}/${kind}`,
          deployment,
          state,
          kind,
          path: '/api/items',
          headers: KIND_HEADERS[kind],
        })
  for (const e of ENDPOINTS)
    out.push({
      id: `${e.deployment}/${e.state}/${e.name}`,
      deployment: e.deployment,
      state: e.state,
      kind: 'endpoint',
      path: e.path,
      headers: KIND_HEADERS.fetch,
    })
  return out
}

/** One difference between the real binary and an emulation. */
export interface Difference {
  cell: string
  emulation: 'e2e' | 'testing'
  field: keyof Fingerprint
  real: string
  emulated: string
}

export function differences(
  cell: string,
  emulation: Difference['emulation'],
  real: Fingerprint,
  emulated: Fingerprint,
): Difference[] {
  const out: Difference[] = []
  for (const field of FIELDS) {
    const r = String(real[field])
    const m = String(emulated[field])
    if (r !== m) out.push({ cell, emulation, field, real: r, emulated: m })
  }
  return out
}

/** A row of docs/emulation.md's table of deliberate differences (`*` matches one path segment or any value). */
export interface DeliberateRow {
  cell: string
  emulation: string
  field: string
  real: string
  emulated: string
  why: string
}

const unquote = (s: string) => s.trim().replace(/^`(.*)`$/, '$1')

export function deliberateRows(file = join(REPO_ROOT, 'docs/emulation.md')): DeliberateRow[] {
  const text = readFileSync(file, 'utf8')
  const start = text.indexOf('<!-- deliberate:start -->')
  const end = text.indexOf('<!-- deliberate:end -->')
  if (start < 0 || end < 0) throw new Error('docs/emulation.md: no deliberate table markers')
  return text
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cols = l.split(' | ').map((c) => c.replace(/^\|\s*/, '').replace(/\s*\|$/, ''))
      const [cell = '', emulation = '', field = '', real = '', emulated = '', why = ''] = cols
      return {
        cell: unquote(cell),
        emulation: unquote(emulation),
        field: unquote(field),
        real: unquote(real),
        emulated: unquote(emulated),
        why: why.trim(),
      }
    })
}

function glob(pattern: string, value: string, any: string): boolean {
  if (pattern === '*') return true
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join(any)}$`).test(value)
}

export function rowMatches(row: DeliberateRow, d: Difference): boolean {
  return (
    glob(row.cell, d.cell, '[^/]*') &&
    glob(row.emulation, d.emulation, '.*') &&
    glob(row.field, d.field, '.*') &&
    glob(row.real, d.real, '.*') &&
    glob(row.emulated, d.emulated, '.*')
  )
}
