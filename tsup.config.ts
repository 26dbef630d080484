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
  // A script tag has no bundler to replace NODE_ENV, and no `process` for options.ts to test.
  define: production
    ? { 'process.env.NODE_ENV': '"production"' }
    : { process: '{"env":{"NODE_ENV":"development"}}', 'process.env.NODE_ENV': '"development"' },
  outExtension: () => ({ js: production ? '.global.min.js' : '.global.js' }),
})

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      axios: 'src/axios.ts',
      ky: 'src/ky.ts',
      callback: 'src/callback.ts',
      testing: 'src/testing/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'es2022',
    splitting: true,
    treeshake: true,
    sourcemap: true,
    external: ['axios', 'ky', 'msw'],
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
