import { type Browser, type CDPSession, chromium } from 'playwright-core'
import { CHROMIUM_PATH } from '../e2e/server/browser.js'
import {
  browserBundles,
  type Goal,
  log,
  positive,
  type Row,
  type RunOptions,
  round,
  type Section,
  startBenchServer,
} from './lib.js'

/**
 * In the page, under the SDK: a fetch stub that plays the proxy (200 JSON while signed in, 401 `{}`
 * without a session, `/oauth2/auth` 202/401 for the probe), and a custom `relogin` that signs in again.
 * Cross-tab coordination is off: with it on, each flight holds the Web Lock for HOLD_AFTER_OUTCOME_MS
 * after its outcome (src/cross-tab/index.ts), which caps the loop at ~10 cycles/s (see bench/README.md).
 */
const SETUP = `(() => {
  window.__signedIn = true
  window.__stats = { sent: 0, relogins: 0, ok: 0, bad: 0 }
  const json = (status, body) => new Response(body, { status, headers: { 'content-type': 'application/json' } })
  window.fetch = async (input) => {
    window.__stats.sent++
    const url = typeof input === 'string' ? input : input.url
    if (url.includes('/oauth2/auth')) return new Response(null, { status: window.__signedIn ? 202 : 401 })
    return window.__signedIn ? json(200, '{"ok":true}') : json(401, '{}')
  }
})()`

const INSTALL = `window.__reauth = AjaxReauth.createReauth({
  relogin: async () => { window.__stats.relogins++; await Promise.resolve(); window.__signedIn = true },
  crossTab: false,
}).install()`

/** In-page: `cycles` × (session lost → `queued` concurrent requests → one re-login → replay). */
const CYCLES = `async ({ cycles, queued }) => {
  const s = window.__stats
  for (let c = 0; c < cycles; c++) {
    window.__signedIn = false
    const res = await Promise.all(Array.from({ length: queued }, (_, i) =>
      fetch('/api/items?i=' + i).then((r) => r.status, () => 0)))
    for (const st of res) st === 200 ? s.ok++ : s.bad++
  }
  return { ...s, state: window.__reauth.state }
}`

interface Stats {
  sent: number
  relogins: number
  ok: number
  bad: number
  state: string
}

const heapAfterGc = async (cdp: CDPSession): Promise<{ used: number; total: number }> => {
  for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage')
  return { used: usedSize, total: totalSize }
}

/**
 * 10,000 expiry / re-login cycles with queued requests in one page; JS heap after forced GC (CDP
 * `HeapProfiler.collectGarbage` ×3 + `Runtime.getHeapUsage`) at the start (after a warm-up) and the end,
 * sampled in between to show the trend.
 */
export async function runMemory(opts: RunOptions): Promise<Section> {
  const settings = opts.smoke
    ? { cycles: 200, queued: 4, warmup: 50, samples: 2 }
    : { cycles: 10_000, queued: 8, warmup: 500, samples: 10 }
  const problems: string[] = []
  const server = await startBenchServer()
  const { sdk } = await browserBundles()
  let browser: Browser | null = null
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--js-flags=--expose-gc'],
    })
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/`)
    await page.evaluate(SETUP)
    await page.addScriptTag({ content: sdk })
    await page.evaluate(INSTALL)
    const cdp = await context.newCDPSession(page)
    await cdp.send('HeapProfiler.enable')
    const run = (cycles: number) =>
      page.evaluate(`(${CYCLES})(${JSON.stringify({ cycles, queued: settings.queued })})`) as Promise<Stats>

    await run(settings.warmup)
    const start = await heapAfterGc(cdp)
    const trend: { cycles: number; usedBytes: number }[] = [{ cycles: 0, usedBytes: start.used }]
    const per = Math.ceil(settings.cycles / settings.samples)
    const t0 = performance.now()
    let stats: Stats | null = null
    for (let done = 0; done < settings.cycles; ) {
      const n = Math.min(per, settings.cycles - done)
      stats = await run(n)
      done += n
      trend.push({ cycles: done, usedBytes: (await heapAfterGc(cdp)).used })
    }
    const seconds = (performance.now() - t0) / 1000
    const end = await heapAfterGc(cdp)
    log(`memory: ${settings.cycles} cycles in ${seconds.toFixed(1)} s`)

    const totalCycles = settings.warmup + settings.cycles
    if (!stats) throw new Error('no cycles ran')
    if (stats.relogins !== totalCycles) problems.push(`${stats.relogins} re-logins for ${totalCycles} cycles`)
    if (stats.bad !== 0) problems.push(`${stats.bad} requests did not end with 200 after the replay`)
    if (stats.ok !== totalCycles * settings.queued)
      problems.push(`${stats.ok} requests ok, expected ${totalCycles * settings.queued}`)
    if (!positive(start.used) || !positive(end.used)) problems.push('heap usage not measured')

    const delta = end.used - start.used
    // "Returns to the starting level": within 2 % of it or 128 KB, whichever is larger (GC noise);
    // a leak of one closure per cycle (≥ 32 B × 10,000) exceeds that.
    const tolerance = Math.max(start.used * 0.02, 128 * 1024)
    const kb = (b: number): number => round(b / 1024, 1)
    const rows: Row[] = [
      {
        bench: 'memory',
        case: `heap after GC, ${settings.cycles} cycles`,
        variant: 'start',
        value: kb(start.used),
        unit: 'KB',
      },
      {
        bench: 'memory',
        case: `heap after GC, ${settings.cycles} cycles`,
        variant: 'end',
        value: kb(end.used),
        unit: 'KB',
        ratio: round(end.used / start.used, 3),
        note: `${delta >= 0 ? '+' : ''}${kb(delta)} KB, ${round(delta / settings.cycles, 1)} B/cycle`,
      },
      {
        bench: 'memory',
        case: `cycle: ${settings.queued} queued requests, 1 re-login, replay`,
        variant: 'ajax-reauth',
        value: round((seconds * 1e6) / settings.cycles, 0),
        unit: 'µs/cycle',
      },
    ]
    const goals: Goal[] = [
      {
        bench: 'memory',
        goal: `heap after GC returns to the starting level after ${settings.cycles} cycles`,
        met: delta <= tolerance,
        detail: `start ${kb(start.used)} KB, end ${kb(end.used)} KB (${delta >= 0 ? '+' : ''}${kb(delta)} KB; tolerance ${kb(tolerance)} KB)`,
      },
    ]
    return {
      name: 'memory',
      rows,
      goals,
      data: { settings, start, end, deltaBytes: delta, toleranceBytes: tolerance, trend, stats, seconds },
      problems,
    }
  } finally {
    await browser?.close().catch(() => undefined)
    await server.close()
  }
}
