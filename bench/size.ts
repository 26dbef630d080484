import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { type Goal, positive, ROOT, type Row, type Section } from './lib.js'

/**
 * One check of the `size-limit` field in package.json (size-limit's own format, so `npx size-limit`
 * reads the same file; this script measures with esbuild + gzip -9 and also checks the "on top" budgets).
 */
export interface SizeCheck {
  name: string
  path: string | string[]
  /** `"*"`, `"{ a, b }"`, or one per file: `{ "src/axios.ts": "{ axiosReauth }" }`. */
  import?: string | Record<string, string>
  ignore?: string[]
  gzip?: boolean
  brotli?: boolean
  /** `"4 KB"` (1 KB = 1024 B, as size-limit counts). No limit: reported only. */
  limit?: string
}

export interface Measured {
  name: string
  minified: number
  gzipped: number
  limit: number | null
  /** When this check is the first check plus more files: the growth over it and its budget. */
  onTop?: { of: string; bytes: number; limit: number | null }
}

const parseLimit = (limit: string | undefined): number | null => {
  if (!limit) return null
  const m = /^\s*([\d.]+)\s*(B|KB|kB|KiB|MB)?\s*$/.exec(limit)
  if (!m) throw new Error(`cannot read size limit "${limit}"`)
  const unit = (m[2] ?? 'B').toUpperCase()
  return Math.round(Number(m[1]) * (unit === 'B' ? 1 : unit === 'MB' ? 1024 * 1024 : 1024))
}

const abs = (p: string): string => (isAbsolute(p) ? p : join(ROOT, p))

/** The import map of a check: file → what is imported from it (`*` when nothing is named). */
const importsOf = (check: SizeCheck): [string, string][] => {
  if (check.import && typeof check.import === 'object') return Object.entries(check.import)
  const paths = Array.isArray(check.path) ? check.path : [check.path]
  return paths.map((p) => [p, typeof check.import === 'string' ? check.import : ''])
}

/** Bundle, minify and gzip -9 one check, as an app bundler would ship it (ESM, tree-shaken). */
export const measure = async (check: SizeCheck): Promise<{ minified: number; gzipped: number }> => {
  const imports = importsOf(check)
  const entry = imports
    .map(([file, what], i) => {
      const spec = JSON.stringify(abs(file))
      if (!what) return `import ${spec}`
      return what.trim() === '*' ? `export * as m${i} from ${spec}` : `export ${what} from ${spec}`
    })
    .join('\n')
  const out = await build({
    stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    external: check.ignore ?? [],
  })
  const code = out.outputFiles[0]?.contents ?? new Uint8Array()
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

/** The browser IIFE (what tsup writes to dist/ajax-reauth.global.js), built from src/. */
const measureIife = async (): Promise<{ minified: number; gzipped: number }> => {
  const out = await build({
    entryPoints: [join(ROOT, 'src/index.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'AjaxReauth',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const code = out.outputFiles[0]?.contents ?? new Uint8Array()
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

/** Bytes per src/ file in the minified own-code core (what to cut when the budget is missed). */
const breakdown = async (check: SizeCheck): Promise<Record<string, number>> => {
  const spec = JSON.stringify(abs(importsOf(check)[0]![0]))
  const what = importsOf(check)[0]![1] || '*'
  const out = await build({
    stdin: {
      contents: what === '*' ? `export * from ${spec}` : `export ${what} from ${spec}`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    metafile: true,
    external: check.ignore ?? [],
  })
  const inputs = Object.values(out.metafile.outputs)[0]?.inputs ?? {}
  return Object.fromEntries(
    Object.entries(inputs)
      .map(([f, v]) => [f, v.bytesInOutput] as const)
      .filter(([, b]) => b > 0)
      .sort((a, b) => b[1] - a[1]),
  )
}

export const readChecks = (): SizeCheck[] => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'size-limit'?: SizeCheck[] }
  const checks = pkg['size-limit']
  if (!Array.isArray(checks) || checks.length === 0)
    throw new Error('package.json has no "size-limit" checks')
  return checks
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`

export async function runSize(): Promise<Section> {
  const checks = readChecks()
  const first = checks[0]!
  const firstFiles = new Set(importsOf(first).map(([f]) => abs(f)))
  const measured: Measured[] = []
  for (const check of checks) {
    const m = await measure(check)
    measured.push({ name: check.name, ...m, limit: parseLimit(check.limit) })
  }
  const base = measured[0]!
  for (const [i, check] of checks.entries()) {
    if (i === 0) continue
    const files = importsOf(check).map(([f]) => abs(f))
    const extendsFirst =
      files.length > firstFiles.size &&
      [...firstFiles].every((f) => files.includes(f)) &&
      JSON.stringify(check.ignore ?? []) === JSON.stringify(first.ignore ?? [])
    if (!extendsFirst) continue
    const m = measured[i]!
    m.onTop = {
      of: first.name,
      bytes: m.gzipped - base.gzipped,
      limit: m.limit !== null && base.limit !== null ? m.limit - base.limit : null,
    }
  }
  const iife = await measureIife()

  const rows: Row[] = []
  const goals: Goal[] = []
  for (const m of measured) {
    rows.push({
      bench: 'size',
      case: m.name,
      variant: 'min+gz',
      value: m.gzipped,
      unit: 'B',
      note: `${kb(m.gzipped)} (min ${kb(m.minified)})${m.limit !== null ? `, budget ${kb(m.limit)}` : ''}${m.onTop ? `; +${m.onTop.bytes} B on top of core${m.onTop.limit !== null ? ` (budget ${m.onTop.limit} B)` : ''}` : ''}`,
    })
    if (m.limit !== null) {
      goals.push({
        bench: 'size',
        goal: `${m.name} ≤ ${kb(m.limit)} min+gz`,
        met: m.gzipped <= m.limit,
        detail: `${kb(m.gzipped)} = ${m.gzipped} B (${(m.gzipped / m.limit).toFixed(2)}× budget)`,
      })
    }
    if (m.onTop && m.onTop.limit !== null) {
      goals.push({
        bench: 'size',
        goal: `${m.name}: ≤ ${m.onTop.limit} B on top of core`,
        met: m.onTop.bytes <= m.onTop.limit,
        detail: `+${m.onTop.bytes} B`,
      })
    }
  }
  rows.push({
    bench: 'size',
    case: 'ajax-reauth IIFE (window.AjaxReauth, dependencies included)',
    variant: 'min+gz',
    value: iife.gzipped,
    unit: 'B',
    note: `${kb(iife.gzipped)} (min ${kb(iife.minified)})`,
  })
  const problems = [...measured, { name: 'iife', ...iife }]
    .filter((m) => !positive(m.gzipped) || m.gzipped > m.minified)
    .map((m) => `${m.name}: implausible size ${m.gzipped} B gz / ${m.minified} B min`)
  return {
    name: 'size',
    rows,
    goals,
    data: {
      method: 'esbuild bundle (ESM, browser, es2022, minified, tree-shaken) + gzip level 9; 1 KB = 1024 B',
      measured,
      iife,
      coreBytesBySourceFile: await breakdown(first),
    },
    problems,
  }
}

// `npm run size`: print the checks, exit 1 when a budget is exceeded.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const section = await runSize()
  for (const r of section.rows)
    console.log(`${r.case.padEnd(64)} ${String(r.value).padStart(7)} B  ${r.note ?? ''}`)
  const failed = section.goals.filter((g) => !g.met)
  for (const g of section.goals) console.log(`${g.met ? 'ok  ' : 'FAIL'} ${g.goal}: ${g.detail}`)
  if (section.problems.length) console.error(section.problems.join('\n'))
  if (failed.length || section.problems.length) {
    console.error(`size: ${failed.length} budget(s) exceeded`)
    process.exit(1)
  }
}
