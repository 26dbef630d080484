import type { NormalizedOptions } from '../options'

/**
 * The `Accept` an in-scope request should go out with under `headers.accept` (off by default: any entry
 * added changes what a content-negotiating server picks), or null to leave it as it is. Sets `wanted` when
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
 * Fetch's CORS-safelisted rule for an `Accept` value: at most 128 bytes (a header value is a byte
 * string: one byte per character) and no CORS-unsafe request-header byte (a control but HT, DEL,
 * `"():<>?@[\]{}`).
 */
export const isSafelistedAccept = (value: string): boolean =>
  value.length <= 128 && !/[^\t -~\x80-\xff]|["():<>?@[\\\]{}]/.test(value)

/**
 * The one header policy every adapter applies to an in-scope request: given a getter for the values it
 * has (lower-case names, null when missing) and whether the request is cross-origin, the headers to set, each with its whole new value (an
 * extended `Accept` starts with the app's own value, then `, ` and the SDK's). `X-Requested-With` is set
 * only when missing.
 *
 * @example
 * const policy = createHeaderPolicy(options)
 * for (const [name, value] of policy((n) => headers.get(n))) headers.set(name, value)
 */
export const createHeaderPolicy = (
  options: Pick<NormalizedOptions, 'headers'>,
): ((get: (lowerCaseName: string) => string | null, crossOrigin?: boolean) => [string, string][]) => {
  const { accept, requestedWith } = options.headers
  const extend = accept ? acceptFor(accept) : null
  return (get, crossOrigin = false) => {
    const set: [string, string][] = []
    const current = extend ? get('accept') : null
    let value = extend ? extend(current) : null
    // Cross-origin, an `Accept` that stops being CORS-safelisted costs a preflight the server may refuse:
    // one the app's own value would not have needed is not worth the proxy's exact entry.
    if (
      crossOrigin &&
      value !== null &&
      !isSafelistedAccept(value) &&
      (!current || isSafelistedAccept(current))
    )
      value = null
    if (value !== null) set.push(['accept', value])
    if (requestedWith && get('x-requested-with') === null) set.push(['x-requested-with', requestedWith])
    return set
  }
}
