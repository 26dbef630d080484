import { vi } from 'vitest'

export const ORIGIN = 'http://app.test'

/**
 * Pretend to be a page at `ORIGIN` in Node: `window` (with the EventTarget methods a page has) and
 * `location` are all the SDK reads.
 */
export const stubPage = (href = `${ORIGIN}/app/`): void => {
  const events = new EventTarget()
  vi.stubGlobal('window', globalThis)
  vi.stubGlobal('location', new URL(href))
  vi.stubGlobal('addEventListener', events.addEventListener.bind(events))
  vi.stubGlobal('removeEventListener', events.removeEventListener.bind(events))
  vi.stubGlobal('dispatchEvent', events.dispatchEvent.bind(events))
  // A new page: no re-login of an earlier test's SDK instances is in progress on it (src/flights.ts).
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('ajax-reauth.flights.v1')]
}
