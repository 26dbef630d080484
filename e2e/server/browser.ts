import type { Browser } from 'playwright-core'
import { chromium } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Debian's Chromium, headless. Never downloads a browser. One per test file; a fresh context per test. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  })
}
