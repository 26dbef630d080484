import { join } from 'node:path'
import { REPO_ROOT } from '../server/upstream.js'

const built = new Map<string, Promise<string>>()

/**
 * A browser script bundled with esbuild as an app's production build bundles it (IIFE, es2020,
 * `NODE_ENV=production`), kept in memory once per source and injected with
 * `page.addScriptTag({ content })`. `source`: a file under the repository, or `{ contents }`, a module
 * whose imports resolve from the repository root.
 */
export function browserBundle(source: string | { contents: string }): Promise<string> {
  const key = typeof source === 'string' ? source : source.contents
  let bundle = built.get(key)
  if (!bundle) {
    bundle = import('esbuild').then(async ({ build }) => {
      const out = await build({
        ...(typeof source === 'string'
          ? { entryPoints: [join(REPO_ROOT, source)] }
          : { stdin: { contents: source.contents, resolveDir: REPO_ROOT, loader: 'js' as const } }),
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
    built.set(key, bundle)
  }
  return bundle
}

/** Every client of the matrix, at the versions pinned in package.json, in one browser script. */
export const clientsBundle = (): Promise<string> => browserBundle('e2e/clients/entry.ts')
