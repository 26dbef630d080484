/**
 * The doctor's data: what it sent and got (`Exchange`), and what it reports (`DoctorReport`, the
 * `--json` output, schema documented in docs/doctor.md). Node only; never part of the browser bundles.
 */
import type { BuiltinProfileName } from '../profiles/names'

/** Version of the `--json` output. Bumped on any incompatible change. */
export const DOCTOR_SCHEMA = 1

/** One request the doctor sent, and its answer (or why there was none). */
export interface Exchange {
  /** What the request stands for: `fetch`, `json`, `xrw`, `sdk`, `page`, `probe`, `start`, … */
  label: string
  method: 'GET' | 'HEAD'
  url: string
  /** Request headers as sent (lower-case names). A `cookie` value is redacted in reports. */
  headers: Record<string, string>
  response?: RecordedResponse
  error?: { kind: FailureKind; message: string }
}

/** A response as received with `redirect: 'manual'`. */
export interface RecordedResponse {
  status: number
  /** Every header except `set-cookie`, lower-case names. */
  headers: Record<string, string>
  /** Each `Set-Cookie` header, in order. */
  setCookies: string[]
  /** The first few KB of a text body ('' otherwise). */
  body: string
}

/** Why the doctor could not check. */
export type FailureKind = 'unreachable' | 'tls' | 'timeout' | 'redirect-loop' | 'no-proxy'

export type Severity = 'error' | 'warn' | 'info'

/** One thing the doctor found, with the change that fixes it. */
export interface Finding {
  /** Stable identifier, e.g. `ajax-redirect`, `csrf-per-request-unlimited`. */
  id: string
  /** `error`: the SDK cannot recover here; `warn`: it recovers, but at a cost a change removes; `info`. */
  severity: Severity
  summary: string
  /** What was seen: one line per observation (`GET /api/items [fetch] → 302 http://idp/…`). */
  evidence: string[]
  fix?: Fix
}

/** The change, per layer. Each value is a ready-to-paste snippet or a short instruction. */
export interface Fix {
  proxy?: string
  nginx?: string
  ingressNginx?: string
  traefik?: string
  caddy?: string
  options?: string
}

/** How the deployment answers a request without a session. */
export type LostSessionAnswer =
  | '401'
  | '403-page'
  | 'redirect-to-provider'
  | 'redirect-to-sign-in'
  | 'redirect-elsewhere'
  | '200-html'
  | 'passed'
  | 'other'

export interface AnswerSummary {
  /** The request kind: `page` (navigation), `fetch` (a browser fetch's default Accept), `json`, `xrw`, `sdk` (JSON + X-Requested-With, what the SDK sends behind the proxies that read it). */
  request: string
  answer: LostSessionAnswer
  /** Status of the first answer. */
  status: number
  /** Status of each answer, the same-origin redirects the doctor followed included (`[302, 302]`). */
  chain: number[]
  /** Where the redirects ended (absolute), when there were any. */
  location?: string
  /** CSRF cookies the answer (and its same-origin hops) set. */
  csrfCookies: number
}

/** The `--json` output. */
export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA
  url: string
  /** The page's origin the doctor assumed (`--origin`, default the URL's). */
  origin: string
  verdict: 'ok' | 'change' | 'unknown'
  /** Set when `verdict` is `unknown`: why it could not check. */
  failure?: { kind: FailureKind; message: string }
  proxy: { name: BuiltinProfileName | null; version?: string; evidence: string[]; fromFlag: boolean }
  answers: AnswerSummary[]
  findings: Finding[]
  /** The `createReauth` options the doctor recommends for this deployment. */
  options: string | null
  /** Number of HTTP requests sent. */
  requests: number
}
