import { defineConfig } from 'vitest/config'
import { selectedBrowsers } from './e2e/driver/index.js'
import type { BrowserName } from './e2e/driver/types.js'

const ALL = ['e2e/**/*.e2e.ts']
/**
 * What runs in each browser. Chromium runs everything; Firefox and WebKit run the scenarios where
 * browsers differ (see docs/browsers.md). demo.e2e.ts drives the demo page in Chromium only.
 */
const INCLUDE: Record<BrowserName, string[]> = {
  chromium: ALL,
  firefox: ALL,
  webkit: ALL,
}
const EXCLUDE: Record<BrowserName, string[]> = {
  chromium: [],
  firefox: ['e2e/demo.e2e.ts'],
  webkit: ['e2e/demo.e2e.ts'],
}

// One project per browser (BROWSERS=chromium,firefox,webkit, default all three): the project name
// prefixes every test name.
export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    // a flaky browser test must be fixed, not retried
    retry: 0,
    projects: selectedBrowsers().map((name) => ({
      extends: true as const,
      test: {
        name,
        include: INCLUDE[name],
        exclude: ['**/node_modules/**', ...EXCLUDE[name]],
        env: { TEST_BROWSER: name },
      },
    })),
  },
})
