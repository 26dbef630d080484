import type { BuiltinProfileName } from '../profiles/names'
import { builtinProfiles } from '../profiles/names'
import {
  answerOf,
  type Chain,
  chainLine,
  chainOf,
  cookiesOf,
  csrfMinted,
  framingBlock,
  header,
  isRedirect,
  status,
} from './chain'
import { type SetCookie, sameSite, siteOf } from './cookies'
import { type Detection, detectProxy, SESSION_COOKIE, short } from './fingerprint'
import { apiPrefix, CADDY_FIX, INGRESS_FIX, NGINX_FIX, RELOGIN, TRAEFIK_FIX } from './fixes'
import type { Observations } from './run'
import type { AnswerSummary, DoctorReport, Exchange, Finding, LostSessionAnswer } from './types'
import { DOCTOR_SCHEMA } from './types'

/** nginx's default `large_client_header_buffers 4 8k`: one header line (`Cookie: …`) must fit 8 KB. */
export const HEADER_LINE_LIMIT = 8192

const ANSWER_TEXT: Record<LostSessionAnswer, string> = {
  '401': '401',
  '403-page': '403 HTML page',
  'redirect-to-provider': 'redirect to the identity provider (a CORS failure in the browser)',
  'redirect-to-sign-in': 'redirect to a same-origin sign-in page',
  'redirect-elsewhere': 'redirect elsewhere',
  '200-html': '200 HTML sign-in page',
  passed: 'passed to the app (no session needed)',
  other: 'other',
}

/** What every check reads: the observations, and what the answers and cookies already told. */
interface Ctx {
  obs: Observations
  url: URL
  origin: string
  name: BuiltinProfileName
  detection: Detection
  report: DoctorReport
  add: (f: Finding) => void
  get: (label: string) => Exchange | undefined
  chains: Map<string, Chain>
  answer: (label: string) => AnswerSummary | undefined
  /** The chain of a request kind as one evidence line ('' when not sent). */
  line: (label: string) => string
  sdk: AnswerSummary | undefined
  sdkChain: Chain | undefined
  /** oauth2-proxy behind a front (nginx auth_request) that turns /oauth2/auth's 401 into a redirect. */
  behindFront: boolean
  /** The proxy's cookies, the signed-in requests' aside. */
  allCookies: SetCookie[]
  sessionCookie: SetCookie | undefined
  /** How the SDK re-signs in; the provider check may turn it to `popup`. */
  relogin: 'iframe' | 'popup'
}

type Check = (c: Ctx) => void

/**
 * Findings, fixes and the verdict from what the doctor recorded. Pure: no I/O, the same
 * observations always give the same report.
 */
export function analyze(obs: Observations): DoctorReport {
  const url = new URL(obs.url)
  const detection = detectProxy(
    obs.exchanges.filter((x) => !x.label.startsWith('signed-in') && x.label !== 'provider'),
  )
  const name = obs.proxyFlag ?? detection.name
  const report = emptyReport(obs, detection, name)
  if (obs.failure) {
    report.verdict = 'unknown'
    report.failure = obs.failure
    return report
  }
  if (!name) {
    report.verdict = 'unknown'
    report.failure = { kind: 'no-proxy', message: 'not behind a known proxy' }
    return report
  }
  proxyMismatch(obs, detection, report)
  const c = context(obs, url, detection, name, report)
  if (c.sdk && c.sdk.answer === 'passed' && report.answers.every((a) => a.answer === 'passed')) {
    report.verdict = 'unknown'
    report.failure = {
      kind: 'no-proxy',
      message: `${obs.url} answered without a session: the proxy does not protect it`,
    }
    return report
  }
  for (const check of CHECKS) check(c)
  report.options = recommendedOptions(c)
  report.verdict = report.findings.some((f) => f.severity !== 'info') ? 'change' : 'ok'
  return report
}

/** The report before any finding: the proxy named or detected, no answers yet. */
function emptyReport(obs: Observations, detection: Detection, name: BuiltinProfileName | null): DoctorReport {
  return {
    schema: DOCTOR_SCHEMA,
    url: obs.url,
    origin: obs.origin,
    verdict: 'ok',
    proxy: {
      name,
      ...(name === 'oauth2-proxy' && detection.version ? { version: detection.version } : {}),
      evidence: name && name === detection.name ? detection.evidence : [],
      fromFlag: !!obs.proxyFlag,
    },
    answers: [],
    findings: [],
    options: null,
    requests: obs.exchanges.length,
  }
}

function proxyMismatch(obs: Observations, detection: Detection, report: DoctorReport): void {
  if (obs.proxyFlag && detection.name && detection.name !== obs.proxyFlag)
    report.findings.push({
      id: 'proxy-mismatch',
      severity: 'warn',
      summary: `--proxy ${obs.proxyFlag}, but the answers look like ${detection.name}`,
      evidence: detection.evidence,
      fix: { options: `proxy: ${profileExpr(detection.name)}` },
    })
}

/** How a lost session is answered, per request kind: fills `report.answers`, returns the chains. */
function lostSessionAnswers(obs: Observations, name: BuiltinProfileName, report: DoctorReport) {
  const chains = new Map<string, Chain>()
  for (const label of ['page', 'fetch', 'json', 'xrw', 'sdk']) {
    const chain = chainOf(obs, label)
    if (!chain) continue
    chains.set(label, chain)
    const answer = answerOf(chain, name)
    const loc = header(chain.end, 'location')
    report.answers.push({
      request: label,
      answer,
      status: status(chain.hops[0]),
      chain: chain.hops.map(status),
      ...(loc ? { location: new URL(loc, chain.end.url).href } : {}),
      csrfCookies: chain.hops.flatMap(csrfMinted).length,
    })
  }
  return chains
}

function context(
  obs: Observations,
  url: URL,
  detection: Detection,
  name: BuiltinProfileName,
  report: DoctorReport,
): Ctx {
  const origin = obs.origin
  const get = (label: string) => obs.exchanges.find((x) => x.label === label)
  const chains = lostSessionAnswers(obs, name, report)
  const answer = (label: string) => report.answers.find((a) => a.request === label)
  const sdkChain = chains.get('sdk')
  const first = sdkChain?.hops[0]
  const allCookies = obs.exchanges
    .filter((x) => !x.label.startsWith('signed-in'))
    .flatMap((x) => cookiesOf(x))
  // Session cookie attributes: from the proxy clearing a stale cookie, else from the CSRF cookie.
  const sessionRe = SESSION_COOKIE[name]
  const sessionCookie =
    cookiesOf(get('stale-cookie')).find((c) => sessionRe.test(c.name)) ??
    obs.exchanges.flatMap(cookiesOf).find((c) => sessionRe.test(c.name)) ??
    allCookies.find((c) => /_csrf$/.test(c.name))
  return {
    obs,
    url,
    origin,
    name,
    detection,
    report,
    add: (f) => report.findings.push(f),
    get,
    chains,
    answer,
    line: (label) => {
      const c = chains.get(label)
      return c ? chainLine(c, origin) : ''
    },
    sdk: answer('sdk'),
    sdkChain,
    behindFront:
      name === 'oauth2-proxy' &&
      !!sdkChain &&
      isRedirect(first) &&
      csrfMinted(first).length === 0 &&
      new URL(header(first, 'location') ?? '', url).origin === url.origin,
    allCookies,
    sessionCookie,
    relogin: RELOGIN[name],
  }
}

/** The front that answered the background request, by its `Server` header. */
const frontOf = (c: Ctx): 'Caddy' | 'nginx' | 'a front' => {
  const server = (header(c.sdkChain?.hops[0], 'server') ?? '').toLowerCase()
  return server.includes('caddy') ? 'Caddy' : server.includes('nginx') ? 'nginx' : 'a front'
}

/** A background request answered with anything but a 401: the SDK recovers, at a cost. */
function ajaxRedirect(c: Ctx): void {
  const { sdk, name, url, behindFront } = c
  if (!sdk || sdk.answer === '401' || sdk.answer === 'passed') return
  const front = frontOf(c)
  const fix: Finding['fix'] = {}
  if (name === 'oauth2-proxy') {
    if (behindFront && front === 'Caddy') fix.caddy = CADDY_FIX
    else if (behindFront) {
      fix.nginx = NGINX_FIX
      fix.ingressNginx = INGRESS_FIX
      fix.traefik = TRAEFIK_FIX
    } else fix.proxy = `--api-route=${apiPrefix(url)} (7.4+), or --force-json-errors`
  } else if (name === 'azure-easy-auth') {
    fix.proxy =
      'az webapp auth update --unauthenticated-client-action Return401 (authsettingsV2 globalValidation.unauthenticatedClientAction: "Return401")'
  }
  c.add({
    id: 'ajax-redirect',
    severity: 'warn',
    summary: `A background request without a session gets a ${ANSWER_TEXT[sdk.answer]}, not a 401${
      behindFront ? ` (${front} turns /oauth2/auth's 401 into a redirect)` : ''
    }. The SDK recovers${sdk.answer === 'redirect-to-provider' ? ' (the session probe confirms the CORS failure)' : ''}, but every such request costs a round trip to the provider${
      sdk.csrfCookies ? ' and a CSRF cookie' : ''
    }.`,
    evidence: [c.line('sdk'), c.line('fetch')].filter(Boolean),
    fix,
  })
}

/** oauth2-proxy: the 401 only for Accept: application/json. */
function fetchDefaultAccept(c: Ctx): void {
  if (c.name !== 'oauth2-proxy') return
  const fetchAnswer = c.answer('fetch')
  if (fetchAnswer && fetchAnswer.answer !== '401' && c.sdk?.answer === '401')
    c.add({
      id: 'fetch-default-accept',
      severity: 'info',
      summary: `Only requests with Accept: application/json get the 401; fetch() and XHR send Accept: */* and get a ${ANSWER_TEXT[fetchAnswer.answer]}. The SDK adds the header to in-scope requests; --api-route answers 401 to the API without it (requests outside the SDK too).`,
      evidence: [c.line('fetch'), c.line('json')],
      fix: { proxy: `--api-route=${apiPrefix(c.url)}` },
    })
}

/** oauth2-proxy: --skip-provider-button sends a page load straight to the provider. */
function skipProviderButton(c: Ctx): void {
  if (c.name !== 'oauth2-proxy') return
  const page = c.chains.get('page')
  if (page && c.answer('page')?.answer === 'redirect-to-provider' && csrfMinted(page.hops[0]).length > 0)
    c.add({
      id: 'skip-provider-button',
      severity: 'info',
      summary:
        '--skip-provider-button is on: a request without a session that is not JSON goes straight to the provider and mints a CSRF cookie (a page load, and any background request without Accept: application/json that is outside the SDK or not covered by --api-route).',
      evidence: [c.line('page'), c.line('fetch')],
      fix: {
        proxy: `keep it with --api-route=${apiPrefix(c.url)} covering every background request; without the flag oauth2-proxy shows its sign-in page (one click) instead`,
      },
    })
}

/** CSRF cookies per request: how many fit in nginx's header line, and whether a limit clears them. */
function csrfCookies(c: Ctx): void {
  const { obs, origin } = c
  const perRequest = c.allCookies.filter((k) => /^_oauth2_proxy_[\w-]{8}_csrf$/.test(k.name) && !k.deletes)
  if (!perRequest.length) return
  const csrfBytes = Math.max(...perRequest.map((k) => k.bytes))
  const budget = HEADER_LINE_LIMIT - 'Cookie: \r\n'.length - obs.cookieBytes
  const burst = Math.max(0, Math.floor(budget / csrfBytes))
  const rounds = obs.exchanges.filter((x) => x.label.startsWith('csrf-limit-'))
  const cleared = rounds.map((x) => cookiesOf(x).filter((k) => /_csrf$/.test(k.name) && k.deletes).length)
  const limitAt = cleared.findIndex((n) => n > 0)
  const sent = (x: Exchange) => (x.headers.cookie ?? '').split(';').filter((s) => /_csrf=/.test(s)).length
  const limit = limitAt >= 0 ? sent(rounds[limitAt]!) - cleared[limitAt]! : null
  const sdkMints = (c.sdk?.csrfCookies ?? 0) > 0
  const sessionNote = obs.cookieBytes
    ? ` next to the ${obs.cookieBytes}-byte session cookie`
    : ' (plus the session cookie: pass --cookie to count it)'
  const burstText = `each CSRF cookie adds ${csrfBytes} bytes to the Cookie header: ${burst} of them reach nginx's 8 KB header line${sessionNote}, then every request gets 400 "Request Header Or Cookie Too Large" (431 from a Node or Go hop) until they expire (--cookie-csrf-expire, 15 min)`
  const evidence = [
    ...new Set(
      obs.exchanges
        .filter((x) => csrfMinted(x).some((k) => perRequest.some((p) => p.name === k.name)))
        .map(
          (x) =>
            `GET ${short(x.url, origin)} [${x.label}] → ${status(x)} Set-Cookie ${csrfMinted(x)[0]!.name}=… (${csrfMinted(x)[0]!.bytes} bytes)`,
        ),
    ),
    ...rounds.map(
      (x, i) => `GET ${short(x.url, origin)} with ${sent(x)} CSRF cookies → ${cleared[i]} cleared`,
    ),
  ]
  if (limit !== null) {
    c.add({
      id: 'csrf-per-request',
      severity: sdkMints && limit >= burst ? 'warn' : 'info',
      summary: `--cookie-csrf-per-request with --cookie-csrf-per-request-limit=${limit}: at most ${limit + 1} CSRF cookies at a time; ${burstText.replace(/^each/, 'each')}.`,
      evidence,
    })
    return
  }
  // At most 3: one flight per browser needs one CSRF cookie; a few spare for tabs signing in together
  // (#3258). The doctor's rounds (CSRF_ROUNDS) see a limit up to 3 in action.
  const suggested = Math.max(1, Math.min(3, burst - 1))
  c.add({
    id: sdkMints ? 'csrf-burst' : 'csrf-per-request-unlimited',
    severity: 'warn',
    summary: `--cookie-csrf-per-request without a limit (none cleared with ${rounds.length ? sent(rounds[rounds.length - 1]!) : 1} cookies): ${
      sdkMints
        ? 'every background request without a session mints one; '
        : 'every sign-in flow (page loads, re-logins in several tabs) mints one; '
    }${burstText}.`,
    evidence,
    fix: {
      proxy: `--cookie-csrf-per-request-limit=${suggested} (7.11+)`,
      ...(sdkMints && c.behindFront
        ? frontOf(c) === 'Caddy'
          ? { caddy: CADDY_FIX }
          : { nginx: NGINX_FIX }
        : {}),
    },
  })
}

/** Session cookie attributes: from the proxy clearing a stale cookie, else from the CSRF cookie. */
function sessionCookieAttributes(c: Ctx): void {
  const { sessionCookie, name } = c
  if (!sessionCookie) return
  const sessionRe = SESSION_COOKIE[name]
  const attrs = `SameSite=${sessionCookie.sameSite ?? '(none: Lax by default)'}, ${sessionCookie.secure ? 'Secure' : 'not Secure'}, ${
    sessionCookie.domain ? `Domain=${sessionCookie.domain}` : 'host-only'
  }`
  if (sessionCookie.sameSite === 'None' && !sessionCookie.secure)
    c.add({
      id: 'cookie-samesite-none-insecure',
      severity: 'error',
      summary: `The ${sessionCookie.name} cookie is SameSite=None without Secure: browsers refuse it.`,
      evidence: [attrs],
      fix: { proxy: '--cookie-secure=true (and serve over https)' },
    })
  else if (c.url.protocol === 'https:' && !sessionCookie.secure)
    c.add({
      id: 'cookie-not-secure',
      severity: 'warn',
      summary: `The ${sessionCookie.name} cookie lacks Secure on an https site.`,
      evidence: [attrs],
      fix: name === 'oauth2-proxy' ? { proxy: '--cookie-secure=true' } : {},
    })
  else
    c.add({
      id: 'session-cookie',
      severity: 'info',
      summary: sessionRe.test(sessionCookie.name)
        ? `Session cookie ${sessionCookie.name}: ${attrs}.`
        : `Proxy cookies (seen on ${sessionCookie.name}, set like the session cookie): ${attrs}.`,
      evidence: [
        `from ${sessionRe.test(sessionCookie.name) ? 'the answer to a stale session cookie' : 'the CSRF cookie (same settings)'}`,
      ],
    })
}

/** The re-login as one evidence line: start → its hops → provider. */
const reloginLine = (c: Ctx): string =>
  c.obs.exchanges
    .filter((x) => x.label === 'start' || x.label.startsWith('start>') || x.label === 'provider')
    .map((x) => `GET ${short(x.url, c.origin)} → ${status(x) || x.error?.kind}`)
    .join(' → ')

/** The re-login URL must answer a redirect or a page. */
function startEndpoint(c: Ctx): void {
  const start = c.get('start')
  if (!start || isRedirect(start) || (status(start) >= 200 && status(start) < 300)) return
  c.add({
    id: 'start-endpoint',
    severity: 'error',
    summary: `The re-login URL ${short(start.url, c.origin)} answers ${status(start) || start.error?.kind}: the SDK cannot sign in again there.`,
    evidence: [reloginLine(c)],
    fix:
      c.name === 'oauth2-proxy'
        ? {
            options: "proxy: oauth2Proxy({ prefix: '<your --proxy-prefix>' })",
            nginx: 'route /oauth2/ to oauth2-proxy',
          }
        : {},
  })
}

/** Where the re-login reaches the provider: its site, cookies and framing headers. */
function providerEvidence(c: Ctx, provider: Exchange, providerUrl: URL, block: string | null): string[] {
  const app = new URL(c.origin)
  const providerCookies = cookiesOf(provider)
  return [
    reloginLine(c),
    `site of the app ${siteOf(app)}, of the provider ${siteOf(providerUrl)}${
      app.hostname === 'localhost' && providerUrl.hostname === 'localhost' ? ' (ports do not count)' : ''
    }`,
    ...(providerCookies.length
      ? [
          `provider cookies: ${providerCookies
            .map((k) => `${k.name} (SameSite=${k.sameSite ?? 'default Lax'}${k.secure ? ', Secure' : ''})`)
            .join(', ')}`,
        ]
      : []),
    ...(block ? [`provider answer: ${block}`] : []),
  ]
}

/** Whether a silent iframe re-login can work with the provider reached; sets `c.relogin`. */
function providerRelogin(c: Ctx): void {
  const { origin, name } = c
  const provider = c.get('provider')
  if (!provider?.response) return
  const providerUrl = new URL(provider.url)
  const block = framingBlock(provider, origin, providerUrl.origin)
  const evidence = providerEvidence(c, provider, providerUrl, block)
  if (!sameSite(providerUrl, new URL(origin))) {
    const proxyNone = c.sessionCookie?.sameSite === 'None'
    c.relogin = 'popup'
    c.add({
      id: 'iframe-cross-site-provider',
      severity: 'warn',
      summary: `The identity provider (${providerUrl.host}) is on another site than the app: in a hidden iframe its session cookie is a third-party cookie (sent only by Chromium, and only when SameSite=None; Secure; Firefox and WebKit withhold it)${
        proxyNone
          ? ''
          : ", and the proxy's Lax/Strict CSRF cookie does not reach the callback after a cross-site redirect"
      }. Silent iframe re-login fails there; re-login from a click (popup) works.`,
      evidence,
      fix: {
        options:
          "relogin: 'popup' (or keep 'iframe' and call start() of reauth:interaction-required from a click)",
        ...(name === 'oauth2-proxy' && !proxyNone
          ? {
              proxy:
                '--cookie-samesite=none --cookie-secure=true (Chromium only), or host the provider on the same site',
            }
          : {}),
      },
    })
  } else if (c.relogin === 'popup') {
    c.add({
      id: 'popup-relogin',
      severity: 'info',
      summary: `${name} re-signs in through a popup (${short(c.get('start')?.url ?? '', origin)}), which needs a click: the SDK emits reauth:interaction-required; call its start() from a click handler.`,
      evidence,
      fix: { options: "relogin: 'popup'" },
    })
  } else if (block) {
    c.add({
      id: 'provider-framing',
      severity: 'info',
      summary: `The provider's authorize answer refuses framing (${block}): a silent re-login still works while its session lives (it redirects straight back); when it needs its login page the SDK reports reauth:interaction-required (provider-session-unseen) and start() opens a popup from a click.`,
      evidence,
    })
  } else {
    c.add({
      id: 'iframe-relogin',
      severity: 'info',
      summary: `Silent iframe re-login can work: the provider (${providerUrl.host}) is on the app's site and its authorize answer allows framing.`,
      evidence,
    })
  }
}

/** The landing page of the iframe (the app's own page), visible only signed in. */
function landingFraming(c: Ctx): void {
  const { origin } = c
  const landing = c.get('signed-in:landing')
  if (landing?.response && c.relogin === 'iframe') {
    const block = framingBlock(landing, origin, origin)
    if (block)
      c.add({
        id: 'landing-frame-blocked',
        severity: 'error',
        summary: `The re-login lands on ${short(landing.url, origin)} inside the hidden iframe, and that page refuses framing (${block}): every silent re-login fails as frame-blocked.`,
        evidence: [`GET ${short(landing.url, origin)} (signed in) → ${status(landing)} ${block}`],
        fix: {
          options:
            "callbackPath: '/reauth-callback.html' (a static page served with frame-ancestors 'self', see README \"A callback page\"), or relogin: 'popup'",
        },
      })
  } else if (!c.obs.signedIn && c.relogin === 'iframe')
    c.add({
      id: 'landing-not-checked',
      severity: 'info',
      summary:
        "The page the iframe re-login lands on was not checked for framing headers: pass --cookie '<session cookie>' to check it.",
      evidence: [],
    })
}

/** The session probe, without a session and (with --cookie) signed in. */
function sessionProbe(c: Ctx): void {
  const { origin, name } = c
  const profile = builtinProfiles[name]
  const probe = c.get('probe')
  if (!profile.probe || !probe) return
  const read = probe.error ? 'unknown' : profile.probe.read({ status: status(probe), type: 'basic' })
  const probeLine = `GET ${short(probe.url, origin)} (no session) → ${status(probe) || probe.error?.kind} = ${read}`
  if (read !== 'signed-out')
    c.add({
      id: 'probe',
      severity: 'error',
      summary: `The session probe ${profile.probe.path} does not answer "signed out" without a session (${read}): the SDK cannot confirm a lost session from a CORS failure or an ambiguous 401.`,
      evidence: [probeLine],
      fix:
        name === 'oauth2-proxy'
          ? {
              nginx: 'location = /oauth2/auth { proxy_pass http://oauth2-proxy; … } must reach oauth2-proxy',
              options: "proxy: oauth2Proxy({ prefix: '<your --proxy-prefix>' })",
            }
          : {},
    })
  const signedProbe = c.get('signed-in:probe')
  if (!signedProbe) return
  const r = signedProbe.error ? 'unknown' : profile.probe.read({ status: status(signedProbe), type: 'basic' })
  const api = status(c.get('signed-in:sdk'))
  if (r !== 'signed-in' && api >= 200 && api < 300)
    c.add({
      id: 'probe-signed-in',
      severity: 'error',
      summary: `Signed in, the API answers but the probe ${profile.probe.path} says ${r}: the SDK would see every network error as a lost session.`,
      evidence: [`GET ${short(signedProbe.url, origin)} (signed in) → ${status(signedProbe)}`],
    })
}

/** The signed-in comparison: a live session must get through. */
function signedIn(c: Ctx): void {
  const signed = c.get('signed-in:sdk')
  if (!signed) return
  const s = status(signed)
  const evidence = [`GET ${short(signed.url, c.origin)} (signed in) → ${s}`]
  if (s === 431 || s === 400)
    c.add({
      id: 'header-overflow',
      severity: 'error',
      summary: `Signed in, the request is refused with ${s}: the Cookie header is already too large.`,
      evidence,
      fix:
        c.name === 'oauth2-proxy'
          ? {
              proxy:
                '--cookie-csrf-per-request-limit=3, or a session store (--session-store-type=redis) for a smaller session cookie',
            }
          : {},
    })
  else if (!(s >= 200 && s < 300))
    c.add({
      id: 'cookie-not-signed-in',
      severity: 'warn',
      summary: `With --cookie the request still gets ${s || signed.error?.kind}: the cookie given is not a live session, so the signed-in checks mean nothing.`,
      evidence,
    })
}

/** A cross-origin API: its lost-session answer must carry CORS headers for the SDK to read it. */
function crossOriginApi(c: Ctx): void {
  const { url, origin, name } = c
  if (origin === url.origin || !c.sdkChain) return
  const first = c.sdkChain.hops[0]!
  const acao = header(first, 'access-control-allow-origin')
  const acac = header(first, 'access-control-allow-credentials')
  const readable = acao === origin && acac === 'true'
  c.add({
    id: readable ? 'cross-origin-api' : 'cors-unreadable',
    severity: readable ? 'info' : 'error',
    summary: readable
      ? `The API (${url.origin}) is cross-origin to the page (${origin}) and its lost-session answer carries CORS headers: the SDK can read it. Put the API origin in scope; X-Requested-With forces a preflight there.`
      : `The API (${url.origin}) is cross-origin to the page (${origin}) and its lost-session answer (${status(first)}) has ${
          acao
            ? `Access-Control-Allow-Origin: ${acao}${acac === 'true' ? '' : ' without Access-Control-Allow-Credentials: true'}`
            : 'no CORS headers'
        }: the browser hides it (a TypeError), and the session probe runs on the page's origin, not the API's.`,
    evidence: [
      `GET ${short(first.url)} Origin: ${origin} → ${status(first)}, ACAO: ${acao ?? '-'}, ACAC: ${acac ?? '-'}`,
    ],
    fix: {
      options: `scope: { origins: ['same-origin', '${url.origin}'] }${name === 'oauth2-proxy' ? ', headers: { requestedWith: false }' : ''}`,
      ...(readable
        ? {}
        : {
            nginx: `add_header Access-Control-Allow-Origin $http_origin always;  # check it against a list (map)\nadd_header Access-Control-Allow-Credentials true always;  # 'always': also on 401`,
            ...(name === 'oauth2-proxy'
              ? { proxy: '--skip-auth-preflight (preflights pass to the API without a session)' }
              : {}),
          }),
    },
  })
}

/** The checks `analyze` walks, in the order of the report's findings (`landingFraming` reads the
 * `relogin` that `providerRelogin` sets). */
const CHECKS: Check[] = [
  ajaxRedirect,
  fetchDefaultAccept,
  skipProviderButton,
  csrfCookies,
  sessionCookieAttributes,
  startEndpoint,
  providerRelogin,
  landingFraming,
  sessionProbe,
  signedIn,
  crossOriginApi,
]

/** The `createReauth()` call for this deployment. */
function recommendedOptions(c: Ctx): string {
  const opts: string[] = [`proxy: ${profileExpr(c.name)}`]
  if (c.relogin !== 'iframe') opts.push(`relogin: '${c.relogin}'`)
  if (c.origin !== c.url.origin) opts.push(`scope: { origins: ['same-origin', '${c.url.origin}'] }`)
  if (c.report.findings.some((f) => f.id === 'landing-frame-blocked'))
    opts.push("callbackPath: '/reauth-callback.html'")
  return `createReauth({ ${opts.join(', ')} })`
}

/**
 * How `createReauth()` takes the profile in an app's bundle: the default by name, the others as the
 * import of the same name (`import { googleIap } from 'ajax-reauth'`, `proxy: googleIap()`).
 */
export const profileExpr = (name: string): string =>
  name === 'oauth2-proxy'
    ? "'oauth2-proxy'"
    : `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}()`
