/** The cells of the client matrix, in table order (the browser drivers are in `entry.ts`). */
export const CLIENT_NAMES = [
  'jquery3 $.ajax json',
  'jquery3 $.get',
  'jquery4 $.ajax json',
  'jquery4 $.get',
  'superagent',
  'axios xhr',
  'axios xhr + axiosReauth()',
  'axios fetch',
  'axios fetch + axiosReauth()',
  'ofetch',
  'wretch',
  'redaxios',
  'ky 1',
  'ky 1 + kyReauth()',
  'ky 2',
  'ky 2 + kyReauth()',
  'graphql-request',
  'whatwg-fetch polyfill',
  'tanstack query-core',
  'htmx',
  'angular HttpClient xhr',
  'angular HttpClient fetch',
  'apollo client',
  'urql',
  'rtk query',
] as const

export type ClientName = (typeof CLIENT_NAMES)[number]

/** What the app does besides `reauth.install()`, per cell. */
export const SETUP: Record<ClientName, string> = {
  'jquery3 $.ajax json': '`install()`',
  'jquery3 $.get': '`install()`',
  'jquery4 $.ajax json': '`install()`',
  'jquery4 $.get': '`install()`',
  superagent: '`install()`',
  'axios xhr': '`install()`',
  'axios xhr + axiosReauth()': '`install()` + `axiosReauth(instance, reauth)`',
  'axios fetch': "`install()` (`adapter: 'fetch'`)",
  'axios fetch + axiosReauth()': "`install()` + `axiosReauth(instance, reauth)` (`adapter: 'fetch'`)",
  ofetch: '`install()`',
  wretch: '`install()`',
  redaxios: '`install()`',
  'ky 1': '`install()`',
  'ky 1 + kyReauth()': '`install()` + `hooks: kyReauth(reauth)`',
  'ky 2': '`install()`',
  'ky 2 + kyReauth()': '`install()` + `hooks: kyReauth(reauth)`',
  'graphql-request': '`install()`',
  'whatwg-fetch polyfill': '`install()` after the polyfill (it patches the XHR under it)',
  'tanstack query-core': '`install()`',
  htmx: '`install()`',
  'angular HttpClient xhr': '`install()` (`provideHttpClient()`)',
  'angular HttpClient fetch': '`install()` (`provideHttpClient(withFetch())`)',
  'apollo client': '`install()`',
  urql: '`install()`',
  'rtk query': '`install()` (`fetchBaseQuery()`)',
}

/** The cells that run in Firefox and WebKit as well (the rest run in Chromium only). */
export const CROSS_BROWSER: readonly ClientName[] = ['htmx', 'angular HttpClient xhr']
