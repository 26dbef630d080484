import type { DoctorReport, Finding } from './types'

const MARK: Record<Finding['severity'], string> = { error: 'x', warn: '!', info: '-' }
const LAYER: Record<string, string> = {
  proxy: 'proxy',
  nginx: 'nginx',
  ingressNginx: 'ingress-nginx',
  traefik: 'Traefik',
  caddy: 'Caddy',
  options: 'createReauth',
}

const REQUEST: Record<string, string> = {
  page: 'page load',
  fetch: 'fetch/XHR default (Accept: */*)',
  json: 'Accept: application/json',
  xrw: 'Accept: */* + X-Requested-With',
  sdk: 'Accept: application/json + X-Requested-With',
}

const indent = (text: string, pad: string) =>
  text
    .split('\n')
    .map((l) => pad + l)
    .join('\n')

/** The one line a verdict ends with (also the whole output of a failed check). */
export function verdictLine(r: DoctorReport): string {
  if (r.verdict === 'unknown') return `could not check: ${r.failure?.message ?? 'unknown'}`
  const n = r.findings.filter((f) => f.severity !== 'info').length
  return r.verdict === 'ok'
    ? `ok: the deployment and ${r.options} work together (${r.requests} requests)`
    : `needs a change: ${n} finding${n > 1 ? 's' : ''} above (${r.requests} requests)`
}

/** The plain-words report. */
export function formatReport(r: DoctorReport): string {
  const out: string[] = [
    `ajax-reauth doctor ${r.url}${r.origin !== new URL(r.url).origin ? ` (page origin ${r.origin})` : ''}`,
  ]
  if (r.verdict === 'unknown' && !r.proxy.name) {
    out.push(verdictLine(r))
    return out.join('\n')
  }
  if (r.proxy.name) {
    out.push(
      `proxy: ${r.proxy.name}${r.proxy.version ? ` ${r.proxy.version}` : ''}${r.proxy.fromFlag ? ' (--proxy)' : ''}`,
    )
    for (const e of r.proxy.evidence.slice(0, 4)) out.push(`  ${e}`)
  }
  if (r.answers.length) {
    out.push('', 'without a session:')
    const width = Math.max(...r.answers.map((a) => (REQUEST[a.request] ?? a.request).length))
    for (const a of r.answers)
      out.push(
        `  ${(REQUEST[a.request] ?? a.request).padEnd(width)}  ${a.chain.join(' → ')}${a.answer === String(a.chain.at(-1)) ? '' : ` ${a.answer}`}${a.location ? ` ${a.location.length > 48 ? `${a.location.slice(0, 47)}…` : a.location}` : ''}${
          a.csrfCookies ? ` (+${a.csrfCookies} CSRF cookie)` : ''
        }`,
      )
  }
  if (r.findings.length) {
    out.push('', 'findings:')
    for (const f of r.findings) {
      out.push(`  ${MARK[f.severity]} [${f.severity}] ${f.id}: ${f.summary}`)
      for (const e of f.evidence) out.push(`      seen: ${e}`)
      for (const [k, v] of Object.entries(f.fix ?? {}))
        if (v) out.push(`      fix (${LAYER[k] ?? k}):`, indent(v, '        '))
    }
  }
  if (r.options) out.push('', `recommended: ${r.options}`)
  out.push('', verdictLine(r))
  return out.join('\n')
}
