/** Runs `ajax-reauth doctor` as a child process (doctor.e2e.ts, real-doctor.e2e.ts). */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import type { DoctorReport } from '../src/doctor/types.js'
import { REPO_ROOT } from './server/upstream.js'

const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx')
const CLI = join(REPO_ROOT, 'src/doctor/cli.ts')
export const BUILT = join(REPO_ROOT, 'dist/cli.js')

export interface Run {
  code: number
  out: string
  err: string
}

/** Runs the CLI asynchronously: the stack answers from this very process. */
export function doctor(args: string[], bin: 'tsx' | 'built' = 'tsx'): Promise<Run> {
  const [file, argv] = bin === 'tsx' ? [TSX, [CLI, ...args]] : [BUILT, args]
  return new Promise((resolve) => {
    execFile(file, argv, { timeout: 25_000, encoding: 'utf8' }, (error, out, err) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({ code, out, err })
    })
  })
}

export async function report(url: string, ...args: string[]): Promise<{ run: Run; r: DoctorReport }> {
  const run = await doctor(['doctor', url, '--json', ...args])
  return { run, r: JSON.parse(run.out) as DoctorReport }
}
export const ids = (r: DoctorReport) => r.findings.map((f) => f.id)
export const finding = (r: DoctorReport, id: string) => {
  const f = r.findings.find((x) => x.id === id)
  if (!f) throw new Error(`no finding ${id}: ${ids(r).join(', ')}`)
  return f
}
export const answers = (r: DoctorReport) => Object.fromEntries(r.answers.map((a) => [a.request, a.answer]))
