import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-browser tests need the built bundle: `npm run test:browser`.
    exclude: ['test/browser/**', '**/node_modules/**'],
    environment: 'node',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
})
