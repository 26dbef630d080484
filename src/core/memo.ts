/** How many keys a memo keeps; it is emptied when full (an app calls the same few URLs over and over). */
const MEMO_MAX = 256
/** Longer keys (a `data:` URL of a whole file) are computed each time, never kept alive by the memo. */
const MEMO_KEY_MAX = 2048

/**
 * `compute` memoised per string, for the request hot path: a hit costs one `Map` lookup instead of
 * regular expressions and string scans (and, for a resolved root-relative URL, flattening the
 * concatenated string again on each call).
 *
 * @example
 * const isHtml = memo((contentType) => /^text\/html\b/i.test(contentType))
 */
export const memo = <T>(
  compute: (key: string) => T,
): { get(key: string): T; has(key: string): boolean; set(key: string, value: T): void; clear(): void } => {
  const map = new Map<string, T>()
  return {
    get(key) {
      if (key.length > MEMO_KEY_MAX) return compute(key)
      let value = map.get(key)
      if (value === undefined) {
        if (map.size >= MEMO_MAX) map.clear()
        value = compute(key)
        map.set(key, value)
      }
      return value
    },
    /** Known, without computing it. */
    has: (key) => map.has(key),
    /** What is learnt later (a URL that redirects): kept like a computed value. */
    set(key, value) {
      if (key.length > MEMO_KEY_MAX) return
      if (map.size >= MEMO_MAX) map.clear()
      map.set(key, value)
    },
    clear: () => map.clear(),
  }
}
