import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** One line of the printed table. */
export interface Row {
  bench: string
  case: string
  variant: string
  value: number
  unit: string
  /** Ratio to the baseline of the same run (native / no SDK), when there is one. */
  ratio?: number
  note?: string
}

export interface Goal {
  bench: string
  goal: string
  met: boolean
  detail: string
}

/** What each benchmark hands back to the runner. */
export interface Section {
  name: string
  rows: Row[]
  goals: Goal[]
  /** Everything else worth keeping in results.json (raw rounds, settings, profiles). */
  data: Record<string, unknown>
  /** Smoke checks: descriptions of what is not sane (empty when fine). */
  problems: string[]
}

export interface RunOptions {
  smoke: boolean
  /** Profile where a goal is missed (off in smoke runs). */
  profile: boolean
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** A finite, positive number (smoke sanity). */
export const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0

/** Rotate `items` by `k` (variant order per round, so no variant always runs first). */
export const rotate = <T>(items: readonly T[], k: number): T[] => {
  const n = items.length
  return items.map((_, i) => items[(i + k) % n]!)
}

export const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`)
}

const externalGlobals = (map: Record<string, string>): Plugin => ({
  name: 'globals',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(map).join('|')})$`)
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'globals' }))
    b.onLoad({ filter: /.*/, namespace: 'globals' }, (args) => ({
      contents: `module.exports = ${map[args.path]}`,
      loader: 'js',
    }))
  },
})

/**
 * Browser bundles, built from source in this run (never from a possibly stale dist/):
 * - `sdk`: src/index.ts as the IIFE `window.AjaxReauth` (not minified, so profiles name src/ lines;
 *   minification does not change what V8 runs in any way that matters here).
 * - `msw`: @mswjs/interceptors' browser FetchInterceptor + XMLHttpRequestInterceptor → `window.MswInterceptors`.
 * - `xhook`: the package's own dist/xhook.min.js.
 * - `aar`: axios-auth-refresh on the page's `window.axios` → `window.createAuthRefreshInterceptor`.
 */
export interface Bundles {
  sdk: string
  msw: string
  xhook: string
  aar: string
}

let bundles: Promise<Bundles> | null = null

export const browserBundles = (): Promise<Bundles> => {
  bundles ??= (async () => {
    const common = {
      bundle: true,
      write: false,
      platform: 'browser' as const,
      target: 'es2022',
      logLevel: 'silent' as const,
      absWorkingDir: ROOT,
    }
    const [sdk, msw, aar] = await Promise.all([
      build({
        ...common,
        entryPoints: [join(ROOT, 'src/iife.ts')],
        format: 'iife',
        globalName: 'AjaxReauth',
        // What an app ships: the production build (option checks reduced, see src/options.ts).
        define: { 'process.env.NODE_ENV': '"production"' },
      }),
      build({
        ...common,
        format: 'iife',
        stdin: {
          contents: `import { FetchInterceptor } from '@mswjs/interceptors/fetch'
import { XMLHttpRequestInterceptor } from '@mswjs/interceptors/XMLHttpRequest'
window.MswInterceptors = { FetchInterceptor, XMLHttpRequestInterceptor }`,
          resolveDir: ROOT,
          loader: 'js',
        },
      }),
      build({
        ...common,
        format: 'iife',
        plugins: [externalGlobals({ axios: 'window.axios' })],
        stdin: {
          contents: `import { createAuthRefreshInterceptor } from 'axios-auth-refresh'
window.createAuthRefreshInterceptor = createAuthRefreshInterceptor`,
          resolveDir: ROOT,
          loader: 'js',
        },
      }),
    ])
    const text = (r: { outputFiles?: { text: string }[] | undefined }): string =>
      r.outputFiles?.[0]?.text ?? ''
    // A sourceURL names the inline scripts in CPU profiles.
    const named = (code: string, name: string): string => `${code}\n//# sourceURL=bench-${name}.js\n`
    return {
      sdk: named(text(sdk), 'ajax-reauth'),
      msw: named(text(msw), 'msw-interceptors'),
      aar: named(text(aar), 'axios-auth-refresh'),
      xhook: named(readFileSync(join(ROOT, 'node_modules/xhook/dist/xhook.min.js'), 'utf8'), 'xhook'),
    }
  })()
  return bundles
}

export interface BenchServer {
  url: string
  /** Requests answered (all paths). */
  readonly hits: number
  close(): Promise<void>
}

const PAGE =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>bench</title></head><body></body></html>'
const PING = '{"ok":true}'

/** A local server: `/` an empty page, `/ping` a tiny JSON answer (keep-alive, no-store). */
export const startBenchServer = async (): Promise<BenchServer> => {
  let hits = 0
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hits++
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/ping') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': PING.length,
        'cache-control': 'no-store',
      })
      res.end(PING)
      return
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(PAGE)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return hits
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
}

/** A CPU profile node as CDP / node:inspector return it. */
interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
}
export interface CpuProfile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
}

export interface HotSpot {
  where: string
  fn: string
  selfPct: number
}

/**
 * Self time per function, as a share of all samples (idle and GC included in the total), for the
 * frames `pick` accepts, with `locate` turning a frame into `file:line`.
 */
export const hotSpots = (
  profile: CpuProfile,
  pick: (url: string) => boolean,
  locate: (url: string, line: number) => string,
  top = 12,
): { spots: HotSpot[]; others: HotSpot[]; pickedPct: number; categories: Record<string, number> } => {
  const counts = new Map<number, number>()
  for (const id of profile.samples ?? []) counts.set(id, (counts.get(id) ?? 0) + 1)
  const total = (profile.samples ?? []).length || 1
  const byFn = new Map<string, HotSpot>()
  const otherFn = new Map<string, HotSpot>()
  const categories: Record<string, number> = {}
  let picked = 0
  for (const node of profile.nodes) {
    const n = counts.get(node.id) ?? node.hitCount ?? 0
    if (!n) continue
    const { url, functionName, lineNumber } = node.callFrame
    const cat = url
      ? pick(url)
        ? 'sdk'
        : 'other js'
      : functionName.startsWith('(')
        ? functionName
        : 'native/builtin'
    categories[cat] = (categories[cat] ?? 0) + (n / total) * 100
    if (!url || !pick(url)) {
      const where = url ? url.split('/').slice(-2).join('/') : '(native)'
      const key = `${where} ${functionName}`
      const spot = otherFn.get(key) ?? { where, fn: functionName || '(anonymous)', selfPct: 0 }
      spot.selfPct += (n / total) * 100
      otherFn.set(key, spot)
      continue
    }
    picked += n
    const where = locate(url, lineNumber + 1)
    const key = `${where} ${functionName}`
    const spot = byFn.get(key) ?? { where, fn: functionName || '(anonymous)', selfPct: 0 }
    spot.selfPct += (n / total) * 100
    byFn.set(key, spot)
  }
  const spots = [...byFn.values()]
    .sort((a, b) => b.selfPct - a.selfPct)
    .slice(0, top)
    .map((s) => ({ ...s, selfPct: round(s.selfPct, 2) }))
  const others = [...otherFn.values()]
    .filter((s) => !s.fn.startsWith('('))
    .sort((a, b) => b.selfPct - a.selfPct)
    .slice(0, top)
    .map((s) => ({ ...s, selfPct: round(s.selfPct, 2) }))
  for (const k of Object.keys(categories)) categories[k] = round(categories[k]!, 1)
  return { spots, others, pickedPct: round((picked / total) * 100, 2), categories }
}

/** Map a line of the unminified IIFE back to `src/<file>.ts` via esbuild's `// src/…` markers. */
export const bundleLocator = (bundle: string): ((line: number) => string) => {
  const marks: [number, string][] = []
  bundle.split('\n').forEach((text, i) => {
    const m = /^\s*\/\/ (src\/[^\s]+\.ts)$/.exec(text)
    if (m) marks.push([i + 1, m[1]!])
  })
  return (line) => {
    let file = 'bundle'
    let start = 0
    for (const [at, name] of marks) {
      if (at > line) break
      file = name
      start = at
    }
    return `${file} (bundle line ${line}, +${line - start})`
  }
}
