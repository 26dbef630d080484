import { existsSync } from 'node:fs'
import { CHROMIUM_PATH, launchChromiumDriver } from './chromium.js'
import { FIREFOX_PATH, launchFirefoxDriver } from './firefox.js'
import type { Browser, BrowserName, LaunchOptions } from './types.js'
import { BROWSER_NAMES } from './types.js'
import { launchWebKitDriver, WEBKIT_BROWSER_PATH, WEBKIT_DRIVER_PATH, XVFB_PATH } from './webkit.js'

export type * from './types.js'
export { BROWSER_NAMES } from './types.js'

/** Launches one browser behind the driver interface. Never downloads anything. */
export function launchBrowser(name: BrowserName, options: LaunchOptions = {}): Promise<Browser> {
  if (name === 'chromium') return launchChromiumDriver(options)
  if (name === 'firefox') return launchFirefoxDriver(options)
  return launchWebKitDriver(options)
}

/** What each browser needs on disk, and the one line that says how to provide it. */
const NEEDS: Record<BrowserName, { paths: string[]; hint: string }> = {
  chromium: {
    paths: [CHROMIUM_PATH],
    hint: 'apt-get install chromium, or CHROMIUM_PATH=/path/to/chrome',
  },
  firefox: {
    paths: [FIREFOX_PATH],
    hint: 'apt-get install firefox-esr, or FIREFOX_PATH=/path/to/firefox (128+)',
  },
  webkit: {
    paths: [WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH, XVFB_PATH],
    hint: 'apt-get install webkit2gtk-driver xvfb, or WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH, XVFB_PATH',
  },
}

/** `null` when the browser can run here, else one line naming what is missing and how to provide it. */
export function missing(name: BrowserName): string | null {
  const absent = NEEDS[name].paths.filter((p) => !existsSync(p))
  return absent.length ? `${name}: ${absent.join(', ')} missing (${NEEDS[name].hint})` : null
}

/**
 * The browsers to run: `BROWSERS=chromium,firefox,webkit` (default: all three). A requested browser
 * that cannot run is an error, not a skip.
 */
export function selectedBrowsers(env: string | undefined = process.env.BROWSERS): BrowserName[] {
  const list = (env ?? BROWSER_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const n of list) {
    if (!(BROWSER_NAMES as readonly string[]).includes(n)) {
      throw new Error(`BROWSERS: unknown browser "${n}" (use ${BROWSER_NAMES.join(', ')})`)
    }
  }
  const names = list as BrowserName[]
  const problems = names.map(missing).filter((m) => m !== null)
  if (problems.length) throw new Error(problems.join('; '))
  return names
}

/** The browser this test process runs in (set per vitest project): `TEST_BROWSER`, default chromium. */
export function currentBrowser(): BrowserName {
  const n = process.env.TEST_BROWSER ?? 'chromium'
  if (!(BROWSER_NAMES as readonly string[]).includes(n)) throw new Error(`TEST_BROWSER: unknown "${n}"`)
  return n as BrowserName
}
