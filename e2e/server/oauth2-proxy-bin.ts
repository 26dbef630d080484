import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './upstream.js'

/** The one pinned oauth2-proxy version (`scripts/oauth2-proxy.version`, read by setup.sh too). */
export const OAUTH2_PROXY_VERSION = readFileSync(
  join(REPO_ROOT, 'scripts/oauth2-proxy.version'),
  'utf8',
).trim()

/** Where `scripts/setup.sh` builds the pinned binary (outside git). */
export function oauth2ProxyCachePath(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(cache, 'ajax-reauth', 'bin', `oauth2-proxy-${OAUTH2_PROXY_VERSION}`)
}

/** The binary the real stack runs: `OAUTH2_PROXY_PATH`, else the cached build. */
export function oauth2ProxyPath(): string {
  return process.env.OAUTH2_PROXY_PATH || oauth2ProxyCachePath()
}

/** The version line of the binary (`oauth2-proxy v7.15.6 (built with go1.26.8)`), or null when absent. */
export function oauth2ProxyVersionLine(path = oauth2ProxyPath()): string | null {
  if (!existsSync(path)) return null
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch {
    return null
  }
}

/** The binary, checked: throws with what to run when it is missing. */
export function requireOauth2Proxy(): { path: string; version: string } {
  const path = oauth2ProxyPath()
  const line = oauth2ProxyVersionLine(path)
  if (!line)
    throw new Error(
      `oauth2-proxy ${OAUTH2_PROXY_VERSION} not found at ${path}: run bash scripts/setup.sh (builds it with Go), or set OAUTH2_PROXY_PATH`,
    )
  const version = /\bv\d+\.\d+\.\d+\S*/.exec(line)?.[0] ?? line
  return { path, version }
}
