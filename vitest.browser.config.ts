import { defineConfig } from 'vitest/config'

// Real Chromium (playwright-core) against the built IIFE: `npm run build` first.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    // Each file drives its own Chromium: one at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
