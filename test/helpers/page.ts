import { vi } from 'vitest'

export const ORIGIN = 'http://app.test'

/** Pretend to be a page at `ORIGIN` in Node: `window` and `location` are all the SDK reads. */
export const stubPage = (href = `${ORIGIN}/app/`): void => {
  vi.stubGlobal('window', globalThis)
  vi.stubGlobal('location', new URL(href))
}
