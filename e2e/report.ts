import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './server/upstream.js'

const FILE = join(REPO_ROOT, 'e2e/.output/results.json')

/** Record the numbers a scenario showed (e2e/.output/results.json, git-ignored) and print them. */
export function report(key: string, data: unknown): void {
  mkdirSync(join(REPO_ROOT, 'e2e/.output'), { recursive: true })
  let all: Record<string, unknown> = {}
  try {
    all = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>
  } catch {
    all = {}
  }
  all[key] = data
  writeFileSync(FILE, `${JSON.stringify(all, null, 2)}\n`)
  console.log(`[e2e] ${key}: ${JSON.stringify(data)}`)
}
