import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '../src')
const specifiers = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  )
const resolveLocal = (from: string, spec: string): string => {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ''))
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      readFileSync(candidate)
      return candidate
    } catch {}
  }
  throw new Error(`cannot resolve ${spec} from ${from}`)
}
/** Every bare module the file's static import graph reaches. */
const externals = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const out = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) visit(resolveLocal(file, spec))
      else out.add(spec)
    }
  }
  visit(entry)
  return out
}

describe('ajax-reauth/testing entry', () => {
  it('ajax-reauth itself never reaches msw; ajax-reauth/testing does', () => {
    const core = [...externals(join(SRC, 'index.ts'))]
    expect(core.filter((m) => m === 'msw' || m.startsWith('msw/'))).toEqual([])
    expect(externals(join(SRC, 'testing/index.ts'))).toContain('msw')
  })

  it('src/testing imports no Node API (it runs in the browser with the service worker)', () => {
    const files = readdirSync(join(SRC, 'testing'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    )
    expect(files.length).toBeGreaterThan(5)
    for (const f of files) {
      expect(specifiers(join(SRC, 'testing', f)).filter((s) => s.startsWith('node:') || s === 'fs')).toEqual(
        [],
      )
    }
    expect([...externals(join(SRC, 'testing/index.ts'))].sort()).toEqual(['msw'])
  })
})
