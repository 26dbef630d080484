import { rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import type { createReauth as CreateReauth } from '../src/index.js'
import {
  bundleLocator,
  type CpuProfile,
  type Goal,
  hotSpots,
  log,
  median,
  positive,
  ROOT,
  type Row,
  type RunOptions,
  rotate,
  round,
  type Section,
} from './lib.js'

/**
 * src/ bundled by esbuild the way tsup builds it (no keepNames: tsx's per-closure `__name()` calls
 * would be billed to the SDK), unminified so profiles name src/ files.
 */
const loadSdk = async (): Promise<{ createReauth: typeof CreateReauth; code: string }> => {
  const out = await build({
    entryPoints: [join(ROOT, 'src/index.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const code = out.outputFiles[0]?.text ?? ''
  const file = join(tmpdir(), `ajax-reauth-bench-${process.pid}.mjs`)
  writeFileSync(file, code)
  try {
    const mod = (await import(pathToFileURL(file).href)) as { createReauth: typeof CreateReauth }
    return { createReauth: mod.createReauth, code }
  } finally {
    rmSync(file, { force: true })
  }
}

const ORIGIN = 'http://app.test'

/** The URLs a page would call: in scope (relative and absolute) and out of scope (another origin). */
const CASES = [
  { id: 'in-scope relative', url: '/api/items', inScope: true },
  { id: 'in-scope absolute', url: `${ORIGIN}/api/items`, inScope: true },
  { id: 'out-of-scope', url: 'https://cdn.example.com/lib.json', inScope: false },
] as const

type Fetch = (input: string, init?: RequestInit) => Promise<Response>

/** What the SDK adds to an in-scope request: the baseline that sends the same headers itself. */
const SDK_HEADERS = { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }

const timeLoop = async (f: Fetch, url: string, n: number): Promise<number> => {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await f(url)
  return Number(process.hrtime.bigint() - t0) / n
}

const BASE = 'native + headers'

/**
 * ns per call of `await fetch(url)` with a stub fetch resolving one prepared `Response`, native (the
 * stub itself) vs the SDK's installed wrapper, rounds interleaved (A/B, order alternating), median of
 * rounds. Node plays the page like test/helpers/page.ts: `window = globalThis`, `location` a URL.
 */
export async function runWrapper(opts: RunOptions): Promise<Section> {
  const settings = opts.smoke
    ? { n: 2_000, rounds: 3, warmup: 1_000 }
    : { n: 50_000, rounds: 15, warmup: 50_000 }
  const g = globalThis as Record<string, unknown>
  const saved = { window: g.window, location: g.location, fetch: g.fetch }
  const problems: string[] = []
  const prepared = new Response('{"ok":true}', {
    status: 200,
    headers: { 'content-type': 'application/json' },
  })
  let calls = 0
  const stub: Fetch = () => {
    calls++
    return Promise.resolve(prepared)
  }
  g.window = globalThis
  g.location = new URL(`${ORIGIN}/app/`)
  g.fetch = stub
  const { createReauth, code } = await loadSdk()
  // Both headers, as SDK_HEADERS (oauth2-proxy's default sends only Accept).
  const reauth = createReauth({ crossTab: false, headers: { requestedWith: 'XMLHttpRequest' } }).install()
  try {
    const wrapped = globalThis.fetch as unknown as Fetch
    if (wrapped === stub) problems.push('install() did not patch the stub fetch')
    // The app itself sending the headers the SDK adds to an in-scope request (out of scope: none).
    const withHeaders =
      (inScope: boolean): Fetch =>
      (url) =>
        inScope ? stub(url, { headers: { ...SDK_HEADERS } }) : stub(url)
    const variantsOf = (inScope: boolean): [string, Fetch][] => [
      ['native', stub],
      [BASE, withHeaders(inScope)],
      ['ajax-reauth', wrapped],
    ]
    const perCase: Record<string, Record<string, number[]>> = {}
    for (const c of CASES) {
      perCase[c.id] = { native: [], [BASE]: [], 'ajax-reauth': [], added: [], addedOverNative: [] }
      for (const [, f] of variantsOf(c.inScope)) await timeLoop(f, c.url, settings.warmup)
    }
    for (let r = 0; r < settings.rounds; r++) {
      for (const c of rotate(CASES, r)) {
        const got: Record<string, number> = {}
        for (const [name, f] of rotate(variantsOf(c.inScope), r)) {
          calls = 0
          got[name] = await timeLoop(f, c.url, settings.n)
          if (calls !== settings.n)
            problems.push(`${c.id}/${name}: stub called ${calls}×, expected ${settings.n}`)
          perCase[c.id]![name]!.push(got[name]!)
        }
        perCase[c.id]!.added!.push(got['ajax-reauth']! - got[BASE]!)
        perCase[c.id]!.addedOverNative!.push(got['ajax-reauth']! - got.native!)
      }
    }
    log(`wrapper: ${settings.rounds} rounds × ${settings.n} calls per case and variant`)

    const rows: Row[] = []
    const goals: Goal[] = []
    const summary: Record<
      string,
      {
        nativeNs: number
        nativeHeadersNs: number
        wrappedNs: number
        addedNs: number
        addedOverNativeNs: number
      }
    > = {}
    for (const c of CASES) {
      const nat = median(perCase[c.id]!.native!)
      const base = median(perCase[c.id]![BASE]!)
      const wr = median(perCase[c.id]!['ajax-reauth']!)
      const added = median(perCase[c.id]!.added!)
      const overNative = median(perCase[c.id]!.addedOverNative!)
      summary[c.id] = {
        nativeNs: round(nat, 0),
        nativeHeadersNs: round(base, 0),
        wrappedNs: round(wr, 0),
        addedNs: round(added, 0),
        addedOverNativeNs: round(overNative, 0),
      }
      rows.push(
        { bench: 'wrapper', case: c.id, variant: 'native', value: round(nat, 0), unit: 'ns/call', ratio: 1 },
        {
          bench: 'wrapper',
          case: c.id,
          variant: BASE,
          value: round(base, 0),
          unit: 'ns/call',
          ratio: round(base / nat, 2),
          note: c.inScope ? 'the same two headers, sent by the app' : 'no headers (the SDK adds none here)',
        },
        {
          bench: 'wrapper',
          case: c.id,
          variant: 'ajax-reauth',
          value: round(wr, 0),
          unit: 'ns/call',
          ratio: round(wr / base, 2),
          note: `+${round(added, 0)} ns over native + headers (+${round(overNative, 0)} ns over native)`,
        },
      )
      goals.push({
        bench: 'wrapper',
        goal: `${c.id}: ≤ 1 µs added per call (over native + the same headers)`,
        met: added <= 1000,
        detail: `+${round(added, 0)} ns (native + headers ${round(base, 0)} ns, wrapped ${round(wr, 0)} ns; +${round(overNative, 0)} ns over native ${round(nat, 0)} ns)`,
      })
      if (!positive(nat) || !positive(wr) || !positive(base)) problems.push(`${c.id}: not a positive time`)
    }

    // Profile the wrapped calls of every case whose goal is missed.
    const profiles: Record<string, unknown> = {}
    if (opts.profile) {
      const locate = bundleLocator(code)
      const session = new Session()
      session.connect()
      try {
        await session.post('Profiler.enable')
        await session.post('Profiler.setSamplingInterval', { interval: 50 })
        for (const c of CASES) {
          // Every in-scope case (where the SDK works), and any case whose goal is missed.
          if (!c.inScope && goals.find((x) => x.goal.startsWith(`${c.id}:`))?.met) continue
          await session.post('Profiler.start')
          await timeLoop(wrapped, c.url, settings.n * 2)
          const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
          const inSdk = (url: string): boolean => url.includes('ajax-reauth-bench-')
          profiles[c.id] = hotSpots(profile, inSdk, (_url, line) => locate(line))
        }
      } finally {
        session.disconnect()
      }
    }
    return {
      name: 'wrapper',
      rows,
      goals,
      data: { settings, summary, nsByRound: perCase, profiles },
      problems,
    }
  } finally {
    reauth.uninstall()
    g.window = saved.window
    g.location = saved.location
    g.fetch = saved.fetch
  }
}
