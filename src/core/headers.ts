import type { NormalizedOptions } from '../options'

/**
 * The `Accept` an in-scope request should go out with, or null to leave it as it is. Sets `wanted` when
 * there is none; appends it to one that already admits it (`*\/*`, `application/*`,
 * `application/json;q=0.9`) so the proxy sees an exact entry; never drops or overrides what the app
 * asked for.
 */
const acceptFor = (wanted: string): ((current: string | null) => string | null) => {
  // Worked out once per instance, not per request.
  const lower = wanted.toLowerCase()
  const [type = '', sub = ''] = lower.split(';')[0]!.split('/')
  return (current) => {
    if (!current?.trim()) return wanted
    const entries = current.split(',').map((e) => e.trim().toLowerCase())
    if (entries.includes(lower)) return null
    const admits = entries.some((e) => {
      const range = e.split(';')[0]!.trim()
      return range === '*/*' || range === `${type}/*` || range === `${type}/${sub}`
    })
    return admits ? `${current}, ${wanted}` : null
  }
}

/**
 * The one header policy every adapter applies to an in-scope request: given a getter for the values it
 * has (lower-case names, null when missing), the headers to set, each with its whole new value (an
 * extended `Accept` starts with the app's own value, then `, ` and the SDK's). `X-Requested-With` is set
 * only when missing.
 *
 * @example
 * const policy = createHeaderPolicy(options)
 * for (const [name, value] of policy((n) => headers.get(n))) headers.set(name, value)
 */
export const createHeaderPolicy = (
  options: Pick<NormalizedOptions, 'headers'>,
): ((get: (lowerCaseName: string) => string | null) => [string, string][]) => {
  const { accept, requestedWith } = options.headers
  const extend = accept ? acceptFor(accept) : null
  return (get) => {
    const set: [string, string][] = []
    const value = extend ? extend(get('accept')) : null
    if (value !== null) set.push(['accept', value])
    if (requestedWith && get('x-requested-with') === null) set.push(['x-requested-with', requestedWith])
    return set
  }
}
