import type { NormalizedOptions } from '../options'

/**
 * Headers by which a hypermedia library marks its requests, which want the server's HTML (htmx's
 * `HX-Request`, Unpoly's `X-Up-Version`, Turbo's `Turbo-Frame`, pjax's `X-PJAX`): they send no `Accept`
 * of their own (htmx) or a browser-like one, and a negotiating server must answer them as without the SDK.
 */
export const HYPERMEDIA_HEADERS: readonly string[] = ['hx-request', 'x-up-version', 'turbo-frame', 'x-pjax']

/**
 * The `Accept` an in-scope request should go out with, or null to leave it as it is (issue #26.3: a
 * negotiating server must pick the representation it picks without the SDK wherever the app said which
 * it wants):
 * - a hypermedia library's request (`HYPERMEDIA_HEADERS`): left alone, it wants the server's HTML;
 * - none (the browser's `*\/*`): `wanted`, a data request's;
 * - one whose entries all admit `wanted` without naming it exactly (jQuery's `*\/*`,
 *   `application/json; charset=utf-8`, `application/*`): `, wanted` appended, so the proxy sees an exact
 *   entry; nothing else was asked for, so nothing is outranked;
 * - one that names another type (Apollo's `application/graphql-response+json,…`, jQuery `load()`'s
 *   `text/html, *\/*; q=0.01`), or names `wanted` exactly: left alone, the app's ranking stands.
 */
const acceptFor = (
  wanted: string,
): ((current: string | null, get: (lowerCaseName: string) => string | null) => string | null) => {
  // Worked out once per instance, not per request.
  const lower = wanted.toLowerCase()
  const [type = '', sub = ''] = lower.split(';')[0]!.split('/')
  return (current, get) => {
    if (HYPERMEDIA_HEADERS.some((name) => get(name) !== null)) return null
    if (!current?.trim()) return wanted
    const entries = current.split(',').map((e) => e.trim().toLowerCase())
    if (entries.includes(lower)) return null
    const admitsOnly = entries.every((e) => {
      const range = e.split(';')[0]!.trim()
      return range === '*/*' || range === `${type}/*` || range === `${type}/${sub}`
    })
    return admitsOnly ? `${current}, ${wanted}` : null
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
    let value = extend ? extend(current, get) : null
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
