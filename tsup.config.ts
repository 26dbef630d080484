import { defineConfig, type Options } from 'tsup'

/** The browser build: `.global.js` for development (full option messages), `.global.min.js` for production. */
const iife = (production: boolean): Options => ({
  entry: { 'ajax-reauth': 'src/iife.ts' },
  format: ['iife'],
  globalName: 'AjaxReauth',
  minify: production,
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  // A script tag has no bundler to replace NODE_ENV: the flag decides alone.
  define: production
    ? { __AJAX_REAUTH_DEV__: 'false', 'process.env.NODE_ENV': '"production"' }
    : { __AJAX_REAUTH_DEV__: 'true' },
  outExtension: () => ({ js: production ? '.global.min.js' : '.global.js' }),
})

/** The SDK's entries; the `development` build has the same, with the option checks always on. */
const SDK_ENTRIES = { index: 'src/index.ts', axios: 'src/axios.ts', ky: 'src/ky.ts' }
/**
 * The option checks and zod, in a file of their own (not exported): the default build imports it behind
 * the NODE_ENV test, so an app's production bundler drops the unused import whole (the package is
 * side-effect free). Inlined into index.js, zod's module-level code would stay (~8 KB min+gz).
 */
const VALIDATE_ENTRY = { 'validate-options': 'src/validate.ts' }

export default defineConfig([
  {
    entry: {
      ...SDK_ENTRIES,
      ...VALIDATE_ENTRY,
      callback: 'src/callback.ts',
      testing: 'src/testing/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: { entry: { ...SDK_ENTRIES, callback: 'src/callback.ts', testing: 'src/testing/index.ts' } },
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    sourcemap: true,
    external: ['axios', 'ky', 'msw'],
    // The default build: the bundler's process.env.NODE_ENV decides whether the option checks stay.
    define: { __AJAX_REAUTH_DEV__: 'false' },
  },
  {
    // `exports[…].development` (Vite's dev server, webpack's development mode): the option checks run
    // even where no `process` is defined. Types: the default build's.
    entry: SDK_ENTRIES,
    outDir: 'dist/development',
    format: ['esm', 'cjs'],
    dts: false,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    sourcemap: true,
    external: ['axios', 'ky'],
    define: { __AJAX_REAUTH_DEV__: 'true' },
  },
  iife(false),
  iife(true),
  {
    // The callback page's script tag: runs handleReauthCallback() on load, defines no global.
    entry: { 'ajax-reauth-callback': 'src/callback-iife.ts' },
    format: ['iife'],
    minify: true,
    target: 'es2022',
    platform: 'browser',
    sourcemap: true,
    outExtension: () => ({ js: '.global.min.js' }),
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
