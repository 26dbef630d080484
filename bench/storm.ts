import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../e2e/server/browser.js'
import { type Stack, startStack } from '../e2e/server/stack.js'
import { browserBundles, type Goal, log, type Row, type RunOptions, type Section } from './lib.js'
import { runLimit } from './limit.js'

const SLOW = 'ajax-reauth, provider 300 ms'
const VARIANTS = ['no SDK', 'ajax-reauth', SLOW, 'axios-auth-refresh'] as const
type Variant = (typeof VARIANTS)[number]

/** The provider's latency in the `SLOW` variant: a real provider answers after hundreds of ms. */
const SLOW_IDP = { ms: 300, jitter: 60 }

/** The oauth2-proxy setup of the storm: the one where a storm costs most (a CSRF cookie per sign-in start). */
const PROXY = { skipProviderButton: true, csrfPerRequest: true }

/**
 * axios-auth-refresh's documented setup, one instance per tab: `createAuthRefreshInterceptor(axios,
 * refreshAuthLogic)` (401 only, deduplicated refresh, queued retries). A cookie-session proxy has no
 * token endpoint, so the refresh logic does what such an app does: load `/oauth2/start?rd=/app.html` in
 * a hidden iframe and resolve when the frame lands back on the app (reject after 15 s).
 */
const AAR_SETUP = `(() => {
  window.__relogins = 0
  const refreshAuthLogic = () => new Promise((resolve, reject) => {
    window.__relogins++
    const frame = document.createElement('iframe')
    frame.style.display = 'none'
    const timer = setTimeout(() => { frame.remove(); reject(new Error('re-login timed out')) }, 15000)
    frame.onload = () => {
      let landed = false
      try { landed = frame.contentWindow.location.pathname === '/app.html' } catch {}
      if (landed) { clearTimeout(timer); frame.remove(); resolve() }
    }
    frame.src = '/oauth2/start?rd=' + encodeURIComponent('/app.html')
    document.body.append(frame)
  })
  window.createAuthRefreshInterceptor(window.axios, refreshAuthLogic)
})()`

const SDK_SETUP = `window.__reauth = AjaxReauth.createReauth({})
window.__relogins = 0
window.__failures = []
window.__reauth.on('reauth:start', () => { window.__relogins++ })
window.__reauth.on('reauth:failure', (e) => { window.__failures.push(String(e.error && (e.error.stack || e.error.message) || e.error)) })
window.__reauth.install()`

/**
 * In-page: `n` concurrent GET /api/items (fetch, or axios for axios-auth-refresh). Each outcome is
 * 'ok' (200 JSON), 'login-html' (an HTML page where JSON was expected), 'lost' (rejected, or another
 * status) or 'hung' (not settled within `hangMs`). `last` is Date.now() when the last one settled.
 */
const STORM = `async ({ n, api, hangMs }) => {
  const classify = (status, contentType, body) => {
    if (status === 200 && /json/.test(contentType) && typeof body === 'object' && body && body.items) return 'ok'
    if (/html/.test(contentType) || (typeof body === 'string' && /<html|<!DOCTYPE/i.test(body))) return 'login-html'
    return 'lost'
  }
  const viaFetch = (i) => fetch('/api/items?i=' + i).then(async (r) => {
    const ct = r.headers.get('content-type') || ''
    const text = await r.text()
    let body = text
    try { body = JSON.parse(text) } catch {}
    return classify(r.status, ct, body)
  }, () => 'lost')
  const viaAxios = (i) => window.axios.get('/api/items?i=' + i).then(
    (r) => classify(r.status, String(r.headers['content-type'] || ''), r.data),
    (e) => e && e.response ? classify(e.response.status, String(e.response.headers['content-type'] || ''), e.response.data) : 'lost')
  let last = 0
  const one = (i) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve('hung'), hangMs)
    ;(api === 'axios' ? viaAxios(i) : viaFetch(i)).then((o) => { clearTimeout(timer); last = Math.max(last, Date.now()); resolve(o) })
  })
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => one(i)))
  const counts = { ok: 0, 'login-html': 0, lost: 0, hung: 0 }
  for (const o of outcomes) counts[o]++
  return { counts, last, relogins: window.__relogins || 0, failures: window.__failures || [] }
}`

interface TabResult {
  counts: { ok: number; 'login-html': number; lost: number; hung: number }
  last: number
  relogins: number
  failures: string[]
}

export interface StormResult {
  variant: Variant
  requests: number
  reLogins: number
  reloginStartsInTabs: number
  signInStarts: number
  csrfCookiesMinted: number
  csrfCookiesInBrowser: number
  ok: number
  lost: number
  hung: number
  loginHtml: number
  msExpiryToLastSettled: number
  /** ajax-reauth's reauth:failure errors, per tab. */
  failures?: string[]
}

const signIn = async (page: Page, base: string): Promise<void> => {
  await page.goto(`${base}/oauth2/start?rd=${encodeURIComponent('/app.html')}`)
  await page.waitForURL(`${base}/app.html`)
  await page.waitForFunction(() => 'axios' in window)
}

const stormOnce = async (
  stack: Stack,
  browser: Browser,
  variant: Variant,
  tabs: number,
  perTab: number,
  hangMs: number,
): Promise<StormResult> => {
  const { sdk, aar } = await browserBundles()
  stack.reset()
  const context: BrowserContext = await browser.newContext()
  try {
    const pages: Page[] = []
    for (let t = 0; t < tabs; t++) {
      const page = await context.newPage()
      if (t === 0) await signIn(page, stack.appUrl)
      else {
        await page.goto(`${stack.appUrl}/app.html`)
        await page.waitForFunction(() => 'axios' in window)
      }
      if (variant === 'ajax-reauth' || variant === SLOW) {
        await page.addScriptTag({ content: sdk })
        await page.evaluate(SDK_SETUP)
      }
      if (variant === 'axios-auth-refresh') {
        await page.addScriptTag({ content: aar })
        await page.evaluate(AAR_SETUP)
      }
      pages.push(page)
    }
    // after the sign-in: only the re-login pays the provider's latency (stack.reset() takes it away)
    if (variant === SLOW) stack.setLatency({ idp: SLOW_IDP })
    const c = stack.proxy.behaviour.counters
    const before = { ...c }
    const api = variant === 'axios-auth-refresh' ? 'axios' : 'fetch'
    const expiredAt = Date.now()
    stack.proxy.expireSession()
    const results = (await Promise.all(
      pages.map((p) => p.evaluate(`(${STORM})(${JSON.stringify({ n: perTab, api, hangMs })})`)),
    )) as TabResult[]
    const after = stack.proxy.behaviour.counters
    const csrfInBrowser = (await context.cookies()).filter((k) => /csrf/i.test(k.name)).length
    const sum = (k: keyof TabResult['counts']): number => results.reduce((s, r) => s + r.counts[k], 0)
    return {
      variant,
      requests: tabs * perTab,
      reLogins: after.sessionsCreated - before.sessionsCreated,
      reloginStartsInTabs: results.reduce((s, r) => s + r.relogins, 0),
      signInStarts: after.signInStarts - before.signInStarts,
      csrfCookiesMinted: after.csrfCookiesMinted - before.csrfCookiesMinted,
      csrfCookiesInBrowser: csrfInBrowser,
      ok: sum('ok'),
      lost: sum('lost'),
      hung: sum('hung'),
      loginHtml: sum('login-html'),
      msExpiryToLastSettled: Math.max(...results.map((r) => r.last)) - expiredAt,
      failures: results.flatMap((r) => r.failures),
    }
  } finally {
    await context.close().catch(() => undefined)
  }
}

const RETURN_VARIANTS = ['no SDK', 'ajax-reauth, wake: false', 'ajax-reauth'] as const
type ReturnVariant = (typeof RETURN_VARIANTS)[number]
/** The return after a break: nginx's `auth_request` front redirects every request, CSRF cookie per start. */
const RETURN_PROXY = { csrfPerRequest: true }
/** "A long absence" in the bench: the page is hidden this long, `wake.afterMs` is below it. */
const RETURN_AWAY_MS = 500

/**
 * In-page: the visibility override and an app's refetch-on-focus handler (`n` fetches when the page
 * becomes visible), then hide → (the session expires) → show. Resolves to the outcomes.
 */
const RETURN_APP = `({ n }) => {
  let state = 'visible'
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' })
  window.__setVisibility = (s) => { state = s; document.dispatchEvent(new Event('visibilitychange', { bubbles: true })) }
  document.addEventListener('visibilitychange', () => {
    if (state !== 'visible') return
    const t0 = Date.now()
    window.__burst = Promise.all(Array.from({ length: n }, (_, i) =>
      fetch('/api/items?return=' + i).then(async (r) => {
        const body = await r.json().catch(() => null)
        return r.status === 200 && body && Array.isArray(body.items) ? 'ok' : 'lost'
      }, () => 'lost'))).then((outcomes) => ({ ok: outcomes.filter((o) => o === 'ok').length, ms: Date.now() - t0 }))
  })
}`

export interface ReturnResult {
  variant: ReturnVariant
  requests: number
  reLogins: number
  signInStarts: number
  csrfCookiesMinted: number
  /** App requests (direct, or nginx's auth_request subrequests for them) the proxy saw after expiry. */
  requestsReachingProxy: number
  /** Of those, the ones it turned away (302/401/403): they carried the dead cookie. */
  deadCookieRequests: number
  ok: number
  msShowToLastSettled: number
}

const returnOnce = async (
  stack: Stack,
  browser: Browser,
  variant: ReturnVariant,
  n: number,
): Promise<ReturnResult> => {
  const { sdk } = await browserBundles()
  stack.reset()
  stack.proxy.set(RETURN_PROXY)
  const base = stack.nginxUrl!
  const context: BrowserContext = await browser.newContext()
  try {
    const page = await context.newPage()
    await signIn(page, base)
    if (variant !== 'no SDK') {
      await page.addScriptTag({ content: sdk })
      const wake = variant === 'ajax-reauth' ? { afterMs: RETURN_AWAY_MS - 200 } : false
      await page.evaluate(`AjaxReauth.createReauth(${JSON.stringify({ wake })}).install()`)
    }
    await page.evaluate(`(${RETURN_APP})(${JSON.stringify({ n })})`)
    await page.evaluate('window.__setVisibility("hidden")')
    const before = { ...stack.proxy.behaviour.counters }
    const from = stack.proxy.requests.length
    stack.proxy.expireSession()
    await page.waitForTimeout(RETURN_AWAY_MS)
    await page.evaluate('window.__setVisibility("visible")')
    const burst = (await page.evaluate('window.__burst')) as { ok: number; ms: number }
    const after = stack.proxy.behaviour.counters
    const app = stack.proxy.requests
      .slice(from)
      .filter((r) => r.path.startsWith('/api/') || (r.originalUri ?? '').startsWith('/api/'))
    return {
      variant,
      requests: n,
      reLogins: after.sessionsCreated - before.sessionsCreated,
      signInStarts: after.signInStarts - before.signInStarts,
      csrfCookiesMinted: after.csrfCookiesMinted - before.csrfCookiesMinted,
      requestsReachingProxy: app.length,
      deadCookieRequests: app.filter((r) => r.status !== null && [302, 401, 403].includes(r.status)).length,
      ok: burst.ok,
      msShowToLastSettled: burst.ms,
    }
  } finally {
    await context.close().catch(() => undefined)
  }
}

/**
 * The return after expiry (issue #16): one tab behind the real nginx front, hidden, the session expires,
 * visible again, and the app's refetch-on-focus sends `n` requests at once; with and without the
 * wake-up check. Needs Debian's nginx; without it the section says so and has no rows.
 */
export async function runReturn(
  settings: { perReturn: number; rounds: number },
  problems: string[],
): Promise<{ rows: Row[]; goals: Goal[]; data: Record<string, unknown> }> {
  const stack = await startStack({ nginx: true })
  if (!stack.nginxUrl) {
    await stack.stop()
    problems.push('return after expiry: nginx is missing (/usr/sbin/nginx)')
    return { rows: [], goals: [], data: {} }
  }
  let browser: Browser | null = null
  const all: ReturnResult[] = []
  try {
    browser = await launchChromium()
    for (let r = 0; r < settings.rounds; r++) {
      for (const v of r % 2 ? [...RETURN_VARIANTS].reverse() : RETURN_VARIANTS) {
        all.push(await returnOnce(stack, browser, v, settings.perReturn))
      }
      log(`return after expiry round ${r + 1}/${settings.rounds}`)
    }
  } finally {
    await browser?.close().catch(() => undefined)
    await stack.stop()
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const metrics: [keyof ReturnResult, string][] = [
    ['reLogins', 'sessions created'],
    ['csrfCookiesMinted', 'CSRF cookies minted'],
    ['requestsReachingProxy', 'app requests reaching the proxy'],
    ['deadCookieRequests', 'of them with the dead cookie'],
    ['ok', 'requests ok'],
    ['msShowToLastSettled', 'ms visible → last settled'],
  ]
  const rows: Row[] = []
  const summary: Record<string, Record<string, number>> = {}
  for (const v of RETURN_VARIANTS) {
    const runs = all.filter((x) => x.variant === v)
    summary[v] = {}
    for (const [k, label] of metrics) {
      const value = med(runs.map((x) => x[k] as number))
      summary[v][k] = value
      rows.push({
        bench: 'storm',
        case: `return after expiry, 1 tab × ${settings.perReturn} on focus (nginx front): ${label}`,
        variant: v,
        value,
        unit: k === 'msShowToLastSettled' ? 'ms' : '',
      })
    }
    for (const x of runs) if (x.ok > x.requests) problems.push(`${v}: more ok than requests`)
  }
  const wake = all.filter((x) => x.variant === 'ajax-reauth')
  const goals: Goal[] = [
    {
      bench: 'storm',
      goal: 'return after expiry with the wake-up check: 1 re-login, ≤ 1 CSRF cookie, 0 dead-cookie requests, all ok',
      met: wake.every(
        (x) =>
          x.reLogins === 1 && x.csrfCookiesMinted <= 1 && x.deadCookieRequests === 0 && x.ok === x.requests,
      ),
      detail: wake
        .map(
          (x) =>
            `re-logins ${x.reLogins}, CSRF ${x.csrfCookiesMinted}, dead ${x.deadCookieRequests}, ok ${x.ok}`,
        )
        .join(' | '),
    },
  ]
  return { rows, goals, data: { settings, proxy: RETURN_PROXY, awayMs: RETURN_AWAY_MS, summary, runs: all } }
}

/**
 * Session expiry under 3 tabs × 100 concurrent requests against the e2e stack (test proxy as
 * oauth2-proxy with --skip-provider-button and per-request CSRF cookies, real oidc-provider), for no
 * SDK, ajax-reauth and axios-auth-refresh. `rounds` storms per variant, interleaved; medians reported.
 */
export async function runStorm(opts: RunOptions): Promise<Section> {
  // `--storm=limit`: only the recovery-at-the-limit part of the section (issue #23).
  const parts = process.argv
    .find((a) => a.startsWith('--storm='))
    ?.slice(8)
    .split(',')
  const want = (part: string): boolean => !parts || parts.includes(part)
  const problems: string[] = []
  // over HTTP/1.1 and HTTP/2 (`--storm=limit-h1` or `limit-h2` for one of them)
  const limitParts = (['h1', 'h2'] as const).filter((t) => want('limit') || want(`limit-${t}`))
  const limits = []
  for (const transport of limitParts) limits.push(await runLimit({ smoke: opts.smoke, transport }, problems))
  const limit = {
    rows: limits.flatMap((l) => l.rows),
    goals: limits.flatMap((l) => l.goals),
    data: Object.fromEntries(limits.map((l) => [l.data.transport as string, l.data])),
  }
  if (!want('tabs') && !want('return')) {
    return { name: 'storm', rows: limit.rows, goals: limit.goals, data: { limit: limit.data }, problems }
  }
  const settings = opts.smoke
    ? { tabs: 3, perTab: 5, rounds: 1, hangMs: 20_000 }
    : { tabs: 3, perTab: 100, rounds: 3, hangMs: 30_000 }
  const stack = await startStack({ nginx: false, proxy: PROXY })
  let browser: Browser | null = null
  const all: StormResult[] = []
  try {
    browser = await launchChromium()
    for (let r = 0; r < settings.rounds; r++) {
      for (const v of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
        all.push(await stormOnce(stack, browser, v, settings.tabs, settings.perTab, settings.hangMs))
      }
      log(`storm round ${r + 1}/${settings.rounds}`)
    }
  } finally {
    await browser?.close().catch(() => undefined)
    await stack.stop()
  }
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    return s[s.length >> 1]!
  }
  const rows: Row[] = []
  const summary: Record<string, Omit<StormResult, 'variant'>> = {}
  const metrics: [keyof Omit<StormResult, 'variant' | 'requests'>, string][] = [
    ['reLogins', 'sessions created'],
    ['signInStarts', 'sign-in starts'],
    ['csrfCookiesMinted', 'CSRF cookies minted'],
    ['ok', 'requests ok'],
    ['lost', 'requests lost'],
    ['hung', 'requests hung'],
    ['loginHtml', 'answered with login HTML'],
    ['msExpiryToLastSettled', 'ms expiry → last settled'],
  ]
  for (const v of VARIANTS) {
    const runs = all.filter((x) => x.variant === v)
    const s = { requests: settings.tabs * settings.perTab } as Omit<StormResult, 'variant'>
    const put = s as unknown as Record<string, number>
    for (const k of Object.keys(runs[0]!) as (keyof StormResult)[]) {
      if (k !== 'variant' && k !== 'failures') put[k] = med(runs.map((x) => x[k] as number))
    }
    summary[v] = s
    for (const [k, label] of metrics) {
      rows.push({
        bench: 'storm',
        case: `${settings.tabs} tabs × ${settings.perTab}: ${label}`,
        variant: v,
        value: s[k] as number,
        unit: k === 'msExpiryToLastSettled' ? 'ms' : '',
      })
    }
    for (const x of runs) {
      if (x.ok + x.lost + x.hung + x.loginHtml !== x.requests)
        problems.push(`${v}: outcomes do not add up to ${x.requests}`)
      if (!(x.msExpiryToLastSettled >= 0)) problems.push(`${v}: no settle time`)
    }
  }
  const goal = (variant: Variant): Goal => {
    const sdk = all.filter((x) => x.variant === variant)
    const worst = (k: keyof StormResult): number => Math.max(...sdk.map((x) => x[k] as number))
    return {
      bench: 'storm',
      goal: `${variant}: 1 re-login, ≤ 1 CSRF cookie, 0 lost/hung/login HTML (every round)`,
      met:
        sdk.every((x) => x.reLogins === 1) &&
        worst('csrfCookiesMinted') <= 1 &&
        worst('lost') === 0 &&
        worst('hung') === 0 &&
        worst('loginHtml') === 0,
      detail: sdk
        .map(
          (x) =>
            `re-logins ${x.reLogins}, CSRF ${x.csrfCookiesMinted}, lost ${x.lost}, hung ${x.hung}, HTML ${x.loginHtml}, ${x.msExpiryToLastSettled} ms`,
        )
        .join(' | '),
    }
  }
  const goals: Goal[] = [goal('ajax-reauth'), goal(SLOW)]
  const back = await runReturn({ perReturn: opts.smoke ? 5 : 50, rounds: settings.rounds }, problems)
  return {
    name: 'storm',
    rows: [...rows, ...back.rows, ...limit.rows],
    goals: [...goals, ...back.goals, ...limit.goals],
    data: {
      settings,
      proxy: PROXY,
      slowIdp: SLOW_IDP,
      summary,
      runs: all,
      returnAfterExpiry: back.data,
      limit: limit.data,
    },
    problems,
  }
}
