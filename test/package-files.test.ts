import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, posix, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')

/** README sections about this repository (its demo, test bed, benchmarks, development), not the package. */
const REPOSITORY_SECTIONS = [
  'Quick start (this repository)',
  'The demo',
  'The test bed',
  'Performance',
  'Development',
]

/** The files `npm pack` would publish (paths relative to the package root). */
const packed = (): string[] => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    // a listing of thousands of files (an example's node_modules) must fail the test, not the buffer
    maxBuffer: 64 * 1024 * 1024,
  })
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path)
}

/** Relative link targets (`](path)`, no scheme, no bare anchor) per `## ` section of a Markdown text. */
const relativeLinks = (markdown: string): { section: string; target: string }[] => {
  const links: { section: string; target: string }[] = []
  let section = ''
  for (const line of markdown.split('\n')) {
    const heading = /^## (.+)$/.exec(line)
    if (heading) section = heading[1]!.trim()
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!
      if (/^[a-z][a-z+.-]*:/i.test(target) || target.startsWith('#')) continue
      links.push({ section, target: target.split('#')[0]! })
    }
  }
  return links
}

describe('what the package links to, it ships', () => {
  const files = packed()
  const ships = (target: string): boolean =>
    files.some((f) => f === target || f.startsWith(`${target.replace(/\/$/, '')}/`))

  it('every relative link of the README outside its repository sections', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const missing = relativeLinks(readme)
      .filter((l) => !REPOSITORY_SECTIONS.includes(l.section))
      .filter((l) => !ships(l.target))
    expect(missing).toEqual([])
  })

  it('every relative link of the docs it ships', () => {
    const missing = files
      .filter((f) => /^docs\/[^/]+\.md$/.test(f))
      .flatMap((doc) =>
        relativeLinks(readFileSync(join(ROOT, doc), 'utf8')).map((l) => ({
          doc,
          target: posix.normalize(posix.join('docs', l.target)),
        })),
      )
      .filter((l) => !ships(l.target))
    expect(missing).toEqual([])
  })

  it("ships no example's node_modules (npm run test:example installs them in the checkout)", () => {
    expect(files.filter((f) => f.includes('node_modules/'))).toEqual([])
  })

  it("the doctor's --help and docs name files the package has", () => {
    const main = readFileSync(join(ROOT, 'src/doctor/main.ts'), 'utf8')
    for (const doc of main.match(/docs\/[\w-]+\.md/g) ?? []) expect(ships(doc)).toBe(true)
    for (const doc of [
      'docs/doctor.md',
      'docs/testing.md',
      'docs/clients.md',
      'docs/browsers.md',
      'CHANGELOG.md',
    ])
      expect(files).toContain(doc)
  })
})
