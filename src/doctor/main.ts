/**
 * `ajax-reauth doctor <url>`: checks a live deployment behind an authenticating proxy and prints
 * the fix. Node only. Exit 0: works together; 1: needs a change; 2: could not check.
 */
import { parseArgs } from 'node:util'
import type { BuiltinProfileName } from '../profiles/names'
import { builtinProfiles } from '../profiles/names'
import { analyze } from './analyze'
import { formatReport, verdictLine } from './format'
import { createSend } from './http'
import { collect } from './run'
import type { DoctorReport } from './types'

const HELP = `Usage: ajax-reauth doctor <url> [options]

Checks how the deployment behind an authenticating proxy answers a lost session, and prints what
to change (proxy flags, nginx / ingress-nginx / Traefik / Caddy configuration, createReauth options).
Sends at most 20 GET requests, never a credential (except --cookie) and never a form.

Options:
  --cookie '<name=value; …>'  a signed-in Cookie header, to compare with (never printed)
  --proxy <name>              ${Object.keys(builtinProfiles).join(' | ')} (default: detected)
  --origin <origin>           origin of the page that calls <url> (default: the URL's own)
  --json                      print the report as JSON (schema: docs/doctor.md in the package)
  --timeout <ms>              per request (default 5000; the whole run at most 6 times that)
  -h, --help                  this text

Exit codes: 0 works together, 1 needs a change, 2 could not check.`

export interface CliIo {
  out(text: string): void
  err(text: string): void
}

/** The command line, parsed (throws on an unknown option). */
const parse = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      cookie: { type: 'string' },
      proxy: { type: 'string' },
      origin: { type: 'string' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    io.err(`ajax-reauth: ${err instanceof Error ? err.message : String(err)} (see --help)`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out(HELP)
    return 0
  }
  const [command, target, ...rest] = positionals
  if (command !== 'doctor' || !target || rest.length) {
    io.err(command === 'doctor' ? 'ajax-reauth doctor: missing <url> (see --help)' : HELP)
    return 2
  }
  const fail = (message: string) => {
    io.err(`ajax-reauth doctor: ${message}`)
    return 2
  }
  let url: URL
  try {
    url = new URL(target)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)')
  } catch {
    return fail(`not an http(s) URL: ${target}`)
  }
  if (values.proxy && !(values.proxy in builtinProfiles))
    return fail(`unknown --proxy ${values.proxy} (use ${Object.keys(builtinProfiles).join(', ')})`)
  let origin: string | undefined
  if (values.origin) {
    try {
      origin = new URL(values.origin).origin
    } catch {
      return fail(`--origin is not an origin: ${values.origin}`)
    }
  }
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout)
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)
    return fail(`--timeout must be a whole number of milliseconds from 1 to 600000, got ${values.timeout}`)

  const send = createSend(timeoutMs)
  let timer: ReturnType<typeof setTimeout> | undefined
  const overall = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs * 6)
  })
  let report: DoctorReport
  try {
    const obs = await Promise.race([
      collect(
        {
          url: url.href,
          ...(origin ? { origin } : {}),
          ...(values.cookie ? { cookie: values.cookie } : {}),
          ...(values.proxy ? { proxy: values.proxy as BuiltinProfileName } : {}),
        },
        send,
      ),
      overall,
    ])
    if (obs === 'timeout') return fail(`timed out after ${timeoutMs * 6} ms (${send.count()} requests)`)
    report = analyze(obs)
  } catch (err) {
    return fail(`internal error: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    clearTimeout(timer)
  }
  if (values.json) io.out(JSON.stringify(report, null, 2))
  else if (report.verdict === 'unknown') io.err(`ajax-reauth doctor ${report.url}: ${verdictLine(report)}`)
  else io.out(formatReport(report))
  if (values.json && report.verdict === 'unknown') io.err(`ajax-reauth doctor: ${verdictLine(report)}`)
  return report.verdict === 'ok' ? 0 : report.verdict === 'change' ? 1 : 2
}
