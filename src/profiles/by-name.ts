import type { ProxyProfile } from '../types'
import { oauth2Proxy } from './oauth2-proxy'

/** The names the IIFE build accepts besides the default (src/iife.ts registers them). */
let table: Readonly<Record<string, () => ProxyProfile>> = {}

/** Accept the built-in profiles by name (`proxy: 'pomerium'`): the IIFE build, which has them all. */
export const useProfileNames = (names: Readonly<Record<string, () => ProxyProfile>>): void => {
  table = names
}

/** The profile a name stands for: `'oauth2-proxy'` (the default) always, the others once registered. */
export const profileByName = (name: string): ProxyProfile | undefined =>
  name === 'oauth2-proxy' ? oauth2Proxy() : Object.hasOwn(table, name) ? table[name]!() : undefined

/** The names `proxy` accepts here. */
export const profileNames = (): string[] => [...new Set(['oauth2-proxy', ...Object.keys(table)])]

const BUILTIN = ['pomerium', 'authelia', 'google-iap', 'cloudflare-access', 'azure-easy-auth']

/**
 * What to write instead of a built-in profile's name (ESM/CJS take the profile as an import):
 * `import { googleIap } from 'ajax-reauth'` and `proxy: googleIap()`. Undefined for any other string.
 */
export const importHint = (name: unknown): string | undefined => {
  if (typeof name !== 'string' || !BUILTIN.includes(name)) return undefined
  const fn = name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())
  return `import { ${fn} } from 'ajax-reauth' and pass proxy: ${fn}()`
}
