import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: { index: 'src/index.ts', axios: 'src/axios.ts', ky: 'src/ky.ts', testing: 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    sourcemap: true,
    external: ['axios', 'ky', 'msw'],
  },
  {
    entry: { 'ajax-reauth': 'src/index.ts' },
    format: ['iife'],
    globalName: 'AjaxReauth',
    minify: true,
    target: 'es2022',
    platform: 'browser',
    sourcemap: true,
    outExtension: () => ({ js: '.global.js' }),
  },
  {
    // The `ajax-reauth` bin (doctor): Node only, never in the browser bundles; the shebang is kept.
    entry: { cli: 'src/doctor/cli.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: false,
    dts: false,
  },
])
