import { defineConfig } from 'vitest/config'
import { selectedBrowsers } from './e2e/driver/index.js'

// Real browsers against the built IIFE: `npm run build` first. One project per browser
// (BROWSERS=chromium,firefox,webkit, default all three); the project name prefixes every test name.
export default defineConfig({
  test: {
    environment: 'node',
    // Each file drives its own browser: one at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: selectedBrowsers().map((name) => ({
      extends: true as const,
      test: {
        name,
        include: ['test/browser/**/*.test.ts'],
        env: { TEST_BROWSER: name },
      },
    })),
  },
})
