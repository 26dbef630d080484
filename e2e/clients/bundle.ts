import { join } from 'node:path'
import { REPO_ROOT } from '../server/upstream.js'

let built: Promise<string> | null = null

/**
 * Every client of the matrix, at the versions pinned in package.json, bundled with esbuild into one
 * browser script (kept in memory, injected with `page.addScriptTag({ content })`).
 */
export function clientsBundle(): Promise<string> {
  built ??= import('esbuild').then(async ({ build }) => {
    const out = await build({
      entryPoints: [join(REPO_ROOT, 'e2e/clients/entry.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    })
    return out.outputFiles[0]?.text ?? ''
  })
  return built
}
