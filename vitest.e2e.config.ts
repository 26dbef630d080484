import { configDefaults, defineConfig } from 'vitest/config'
import { selectedBrowsers } from './e2e/driver/index.js'
import type { BrowserName } from './e2e/driver/types.js'

const ALL = ['e2e/**/*.e2e.ts']
// No browser: run once, in a project of their own, whatever BROWSERS lists.
const NODE_ONLY = ['e2e/doctor.e2e.ts', 'e2e/real-conformance.e2e.ts', 'e2e/real-doctor.e2e.ts']
/**
 * What runs in each browser. Chromium runs everything; Firefox and WebKit the scenario files where
 * browsers differ (docs/browsers.md), within the 30-minute CI budget on 2 cores.
 */
// raw: the failure without the SDK in every proxy mode; sdk-session: recovery per mode (fetch and
// XHR, see ADAPTERS in e2e/sdk.ts); sdk-relogin: iframe / popup / interaction-required, provider
// down, framing, circuit; storm: 3 tabs × 100; wake: the wake-up check (visibility, online, Web Locks).
const SUBSET = [
  'e2e/raw.e2e.ts',
  'e2e/sdk-session.e2e.ts',
  'e2e/sdk-relogin.e2e.ts',
  'e2e/storm.e2e.ts',
  'e2e/proof.e2e.ts',
  'e2e/wake.e2e.ts',
  // redirect: 'manual' and the abort of queued requests are each engine's own (issue #23)
  'e2e/levers.e2e.ts',
  // the real oauth2-proxy: not-allowed in every front, the ID token's exp (iframe re-login in each engine)
  'e2e/real-sdk.e2e.ts',
]
const INCLUDE: Record<BrowserName, string[]> = {
  chromium: ALL,
  firefox: SUBSET,
  webkit: SUBSET,
}

// One project per browser (BROWSERS=chromium,firefox,webkit, default all three), plus `node` for
// NODE_ONLY: the project name prefixes every test name.
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
    projects: [
      ...selectedBrowsers().map((name) => ({
        extends: true as const,
        test: {
          name,
          include: INCLUDE[name],
          exclude: [...configDefaults.exclude, ...NODE_ONLY],
          env: { TEST_BROWSER: name },
        },
      })),
      { extends: true as const, test: { name: 'node', include: NODE_ONLY } },
    ],
  },
})
