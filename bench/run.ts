import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { type Goal, log, ROOT, type Row, type RunOptions, type Section } from './lib.js'
import { runMemory } from './memory.js'
import { runOverhead } from './overhead.js'
import { runSize } from './size.js'
import { runStorm } from './storm.js'
import { runWrapper } from './wrapper.js'

/**
 * `npm run bench`: all five benchmarks, one table, bench/results.json.
 * `npm run bench:smoke`: tiny counts, checks only that each ran and produced sane numbers (no timing
 * assertions); exits 1 otherwise. `--only=size,wrapper` runs a subset.
 */
const argv = process.argv.slice(2)
const smoke = argv.includes('--smoke')
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
const opts: RunOptions = { smoke, profile: !smoke && !argv.includes('--no-profile') }

const BENCHES: [string, (o: RunOptions) => Promise<Section>][] = [
  ['size', () => runSize()],
  ['wrapper', runWrapper],
  ['overhead', runOverhead],
  ['storm', runStorm],
  ['memory', runMemory],
]

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length))

const table = (rows: Row[]): string => {
  const cells = rows.map((r) => [
    r.bench,
    r.case,
    r.variant,
    `${r.value}${r.unit ? ` ${r.unit}` : ''}`,
    r.ratio === undefined ? '' : `${r.ratio}×`,
    r.note ?? '',
  ])
  const head = ['bench', 'case', 'variant', 'value', 'ratio', 'note']
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]): string => `| ${c.map((x, i) => pad(x, widths[i]!)).join(' | ')} |`
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n')
}

const main = async (): Promise<void> => {
  const started = Date.now()
  const sections: Section[] = []
  const failures: string[] = []
  for (const [name, run] of BENCHES) {
    if (only && !only.includes(name)) continue
    log(`${name}…`)
    const t0 = Date.now()
    try {
      const section = await run(opts)
      section.data.seconds = Math.round((Date.now() - t0) / 100) / 10
      sections.push(section)
      if (section.rows.length === 0) failures.push(`${name}: no rows`)
      for (const p of section.problems) failures.push(`${name}: ${p}`)
    } catch (error) {
      failures.push(
        `${name}: threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
    }
    log(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }
  const rows = sections.flatMap((s) => s.rows)
  const goals: Goal[] = sections.flatMap((s) => s.goals)
  console.log(table(rows))
  console.log('\nGoals')
  for (const g of goals) console.log(`  ${g.met ? 'met   ' : 'MISSED'} ${g.bench}: ${g.goal} — ${g.detail}`)
  for (const s of sections) {
    const profiles = s.data.profiles as Record<
      string,
      { spots: { where: string; fn: string; selfPct: number }[] }
    >
    if (!profiles || Object.keys(profiles).length === 0) continue
    console.log(`\nProfile (${s.name}, where a goal was missed): top SDK self time, % of all samples`)
    for (const [k, p] of Object.entries(profiles)) {
      console.log(
        `  ${k}: ${p.spots
          .slice(0, 6)
          .map((x) => `${x.fn} ${x.where.split(' ')[0]} ${x.selfPct}%`)
          .join(', ')}`,
      )
    }
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  const file = join(ROOT, 'bench', smoke ? 'results.smoke.json' : 'results.json')
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        smoke,
        seconds,
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
        goals,
        rows,
        sections: Object.fromEntries(sections.map((s) => [s.name, s.data])),
        failures,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`\n${sections.length} benchmarks in ${seconds} s; wrote ${file}`)
  if (failures.length) {
    console.error(`\nNot sane:\n  ${failures.join('\n  ')}`)
    process.exit(1)
  }
}

await main()
