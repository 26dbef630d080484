import { launchBrowser } from '../driver/index.js'
import type { Browser, BrowserName, LaunchOptions } from '../driver/types.js'

export { CHROMIUM_PATH, launchPlaywrightChromium as launchChromium } from '../driver/chromium.js'

/** One browser behind the driver interface (`e2e/driver/`). One per test file; a fresh context per test. */
export function launch(name: BrowserName, options: LaunchOptions = {}): Promise<Browser> {
  return launchBrowser(name, options)
}
