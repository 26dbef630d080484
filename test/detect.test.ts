import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classify } from '../src/core/detect'
import { builtinProfiles } from '../src/profiles/names'
import type { RequestFacts, ResponseSnapshot } from '../src/types'
import {
  APP_FRAGMENT,
  CUSTOM_SIGN_IN_PAGE,
  NGINX_400_COOKIE,
  OAUTH2_FORBIDDEN_PAGE,
  OAUTH2_SIGN_IN_PAGE,
} from './helpers/fixtures'

const APP = 'https://app.example.com'
const json = 'application/json'
const html = 'text/html; charset=utf-8'

const req = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  url: `${APP}/api/items`,
  method: 'GET',
  accept: 'application/json',
  inScope: true,
  ...over,
})
const snap = (over: Partial<ResponseSnapshot> = {}): ResponseSnapshot => ({
  status: 200,
  type: 'basic',
  redirected: false,
  url: `${APP}/api/items`,
  contentType: json,
  ...over,
})

type Row = [
  name: string,
  snapshot: Partial<ResponseSnapshot>,
  request: Partial<RequestFacts>,
  expected: string | null,
]

// One row per line of shared/proxy-behaviour.md, OAuth2-Proxy first.
const oauth2Rows: Row[] = [
  ['Ajax, no session: 401 {}', { status: 401, contentType: json }, {}, 'unauthorized'],
  ['Ajax before 7.2: 401 with an empty body', { status: 401, contentType: null }, {}, 'unauthorized'],
  [
    'browser, default: 403 HTML sign-in page',
    { status: 403, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
    {},
    'login-page',
  ],
  [
    'browser, default, Accept */*: 403 sign-in page',
    { status: 403, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
    { accept: '*/*' },
    'login-page',
  ],
  [
    'skip-provider-button 302 seen through redirect:manual',
    { status: 0, type: 'opaqueredirect', contentType: null },
    {},
    'opaque-redirect',
  ],
  [
    'skip-provider-button 302 followed cross-origin: CORS TypeError',
    { status: 0, type: 'error', url: '', contentType: null },
    {},
    'network-error',
  ],
  [
    'nginx front: 302 to /oauth2/start followed (same origin) to the sign-in page',
    {
      redirected: true,
      url: `${APP}/oauth2/sign_in?rd=%2Fapi%2Fitems`,
      contentType: html,
      bodyPeek: OAUTH2_SIGN_IN_PAGE,
    },
    {},
    'sign-in-redirect',
  ],
  [
    'nginx front: 302 to /oauth2/start visible (XHR responseURL)',
    { status: 403, url: `${APP}/oauth2/start?rd=%2Fapi`, contentType: html },
    {},
    'sign-in-redirect',
  ],
  [
    'a 302 whose Location is the sign-in URL (manual redirect in Node)',
    { status: 302, location: '/oauth2/sign_in', contentType: null },
    {},
    'sign-in-redirect',
  ],
  [
    'custom templates: silent redirect to an unmarked HTML page',
    { redirected: true, url: `${APP}/login`, contentType: html, bodyPeek: CUSTOM_SIGN_IN_PAGE },
    {},
    'login-page',
  ],
  ['CSRF cookie flood: 431 from a Node hop', { status: 431, contentType: null }, {}, 'header-overflow'],
  [
    'CSRF cookie flood: nginx 400 Request Header Or Cookie Too Large',
    { status: 400, contentType: 'text/html', bodyPeek: NGINX_400_COOKIE },
    {},
    'header-overflow',
  ],
  [
    '/oauth2/sign_in reached silently: 200 sign-in page',
    { redirected: true, url: `${APP}/oauth2/sign_in`, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
    {},
    'sign-in-redirect',
  ],
  // Signed in, not allowed: the proxy clears the session with its 403; the probe tells it from an upstream's.
  [
    'signed in, not allowed: 403 Forbidden page',
    { status: 403, contentType: html, bodyPeek: OAUTH2_FORBIDDEN_PAGE },
    {},
    'not-allowed',
  ],
  [
    'signed in, not allowed, Accept json: still the Forbidden page',
    { status: 403, contentType: html, bodyPeek: OAUTH2_FORBIDDEN_PAGE },
    { accept: json },
    'not-allowed',
  ],
  [
    'signed in, not allowed, --force-json-errors: 403 {}',
    { status: 403, contentType: 'application/json', bodyPeek: '{}' },
    { accept: json },
    'not-allowed',
  ],
  [
    "an upstream's 403 with a JSON body of its own",
    { status: 403, contentType: 'application/json', bodyPeek: '{"error":"no access to order 7"}' },
    { accept: json },
    null,
  ],
  // Negatives: never a re-login.
  [
    'a legitimate HTML endpoint asked for with Accept text/html',
    { contentType: html, bodyPeek: APP_FRAGMENT },
    { accept: 'text/html' },
    null,
  ],
  [
    'a legitimate HTML endpoint reached by a same-origin redirect, asked as HTML',
    { redirected: true, url: `${APP}/fragments/v2`, contentType: html, bodyPeek: APP_FRAGMENT },
    { accept: 'text/html,*/*' },
    null,
  ],
  ['a 500 HTML error page', { status: 500, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE }, {}, null],
  ['a 502 from the proxy', { status: 502, contentType: 'text/plain' }, {}, null],
  ['a normal JSON 200', {}, {}, null],
  ['an app 403 JSON', { status: 403 }, {}, null],
  ['an app redirect 302 elsewhere', { status: 302, location: '/api/items/2', contentType: null }, {}, null],
  [
    'a 400 that is not about headers',
    { status: 400, contentType: html, bodyPeek: '<h1>Bad Request</h1>' },
    {},
    null,
  ],
  ['out of scope 401', { status: 401 }, { inScope: false }, null],
  [
    'out of scope sign-in page',
    { status: 403, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
    { inScope: false },
    null,
  ],
  ['out of scope network error', { status: 0, type: 'error' }, { inScope: false }, null],
  // An answer the app asked to be opaque (`mode: 'no-cors'`): the server answered, nothing to judge.
  [
    "mode no-cors: an opaque answer (status 0, type 'opaque')",
    { status: 0, type: 'opaque', url: '' },
    {},
    null,
  ],
]

const otherRows: [profile: keyof typeof builtinProfiles, ...Row][] = [
  [
    'pomerium',
    'Ajax: 401 {"error":"Unauthenticated"}',
    { status: 401, contentType: json },
    {},
    'unauthorized',
  ],
  [
    'pomerium',
    'browser: 302 to the authenticate service, CORS failure',
    { status: 0, type: 'error' },
    {},
    'network-error',
  ],
  [
    'authelia',
    '401 with Location to the portal',
    { status: 401, location: 'https://auth.example.com/?rd=x', contentType: 'text/html' },
    {},
    'unauthorized',
  ],
  [
    'authelia',
    '302 to the portal, followed (cross-origin)',
    { status: 0, type: 'error' },
    {},
    'network-error',
  ],
  ['google-iap', 'X-Requested-With: 401', { status: 401, contentType: 'text/html' }, {}, 'unauthorized'],
  ['cloudflare-access', 'X-Requested-With: 401', { status: 401 }, {}, 'unauthorized'],
  [
    'cloudflare-access',
    'without XRW: 302 to <team>.cloudflareaccess.com (manual)',
    {
      status: 302,
      location: 'https://team.cloudflareaccess.com/cdn-cgi/access/login/app',
      contentType: null,
    },
    {},
    'sign-in-redirect',
  ],
  [
    'azure-easy-auth',
    '302 to /.auth/login/aad followed then CORS failure',
    { status: 0, type: 'error' },
    {},
    'network-error',
  ],
  ['azure-easy-auth', 'Return401: 401', { status: 401 }, {}, 'unauthorized'],
  [
    'azure-easy-auth',
    '302 to /.auth/login/aad seen same-origin',
    { status: 302, location: '/.auth/login/aad?post_login_redirect_uri=%2F', contentType: null },
    {},
    'sign-in-redirect',
  ],
  ['azure-easy-auth', 'a normal 200', {}, {}, null],
]

describe('classify() — OAuth2-Proxy', () => {
  it.each(oauth2Rows)('%s', (_name, s, r, expected) => {
    const signal = classify(snap(s), req(r), builtinProfiles['oauth2-proxy'])
    expect(signal?.reason ?? null).toBe(expected)
  })

  // The README's table "what counts as a lost session, and what is confirmed first", row by row.
  const probeRows: [
    name: string,
    profile: keyof typeof builtinProfiles,
    snapshot: Partial<ResponseSnapshot>,
    request: Partial<RequestFacts>,
    needsProbe: boolean,
  ][] = [
    [
      "oauth2-proxy's 403 Forbidden page (signed in, not allowed; or an upstream's)",
      'oauth2-proxy',
      { status: 403, contentType: html, bodyPeek: OAUTH2_FORBIDDEN_PAGE },
      {},
      true, // the proxy ends the session with it, an upstream does not: the probe tells them apart
    ],
    [
      'oauth2-proxy JSON 401 {}',
      'oauth2-proxy',
      { status: 401, contentType: json, bodyPeek: '{}' },
      {},
      true, // a body fingerprint: an upstream can send the same bytes
    ],
    [
      'oauth2-proxy 401, empty body (< 7.2)',
      'oauth2-proxy',
      { status: 401, contentType: null, bodyPeek: '' },
      {},
      true, // a body fingerprint: an upstream can send the same bytes
    ],
    [
      "an upstream's own JSON 401 (wrong password)",
      'oauth2-proxy',
      { status: 401, contentType: json, bodyPeek: '{"error":"invalid_credentials"}' },
      { method: 'POST' },
      true,
    ],
    [
      "an upstream's text 401",
      'oauth2-proxy',
      { status: 401, contentType: 'text/plain', bodyPeek: 'no' },
      {},
      true,
    ],
    [
      'pomerium "Unauthenticated" JSON',
      'pomerium',
      { status: 401, contentType: json, bodyPeek: '{"error":"Unauthenticated","status":401}' },
      {},
      true, // a body fingerprint: an upstream can send the same bytes
    ],
    ['pomerium: another JSON 401', 'pomerium', { status: 401, contentType: json, bodyPeek: '{}' }, {}, true],
    [
      'authelia 401 with Location to the portal',
      'authelia',
      { status: 401, contentType: 'text/plain', location: 'https://auth.example.com/?rd=https%3A%2F%2Fapp' },
      {},
      false,
    ],
    ['authelia 401 without Location', 'authelia', { status: 401, contentType: 'text/plain' }, {}, true],
    [
      'google-iap "Invalid IAP credentials"',
      'google-iap',
      { status: 401, contentType: html, bodyPeek: 'Invalid IAP credentials: empty token' },
      {},
      true, // a body fingerprint: an upstream can send the same bytes
    ],
    ['cloudflare-access 401 (no fingerprint)', 'cloudflare-access', { status: 401 }, {}, true],
    ['431 cookie flood', 'oauth2-proxy', { status: 431, contentType: null }, {}, false],
    [
      'sign-in page markers (403)',
      'oauth2-proxy',
      { status: 403, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
      {},
      false,
    ],
    [
      'the app\'s own 200 page titled "Sign in", fetched as data',
      'oauth2-proxy',
      {
        status: 200,
        contentType: html,
        bodyPeek: '<!DOCTYPE html><title>Sign in</title><h1>Welcome back</h1>',
      },
      {},
      true, // markers alone prove nothing: no sign-in URL, not the proxy's 403
    ],
    [
      "the app's own 200 page with a form to /oauth2/start, POSTed to",
      'oauth2-proxy',
      { status: 200, contentType: html, bodyPeek: '<form method="post" action="/oauth2/start"></form>' },
      { method: 'POST', accept: '*/*, application/json' },
      true,
    ],
    [
      'sign-in page markers, but the app asked for HTML',
      'oauth2-proxy',
      { status: 200, contentType: html, bodyPeek: OAUTH2_SIGN_IN_PAGE },
      { accept: 'text/html' },
      true,
    ],
    [
      'redirected onto /oauth2/sign_in',
      'oauth2-proxy',
      { redirected: true, url: `${APP}/oauth2/sign_in`, contentType: html },
      {},
      false,
    ],
    [
      'Post/Redirect/Get: 303 → an unmarked HTML receipt',
      'oauth2-proxy',
      { redirected: true, url: `${APP}/orders/1/receipt`, contentType: html, bodyPeek: APP_FRAGMENT },
      { method: 'POST' },
      true,
    ],
    ['network TypeError', 'oauth2-proxy', { status: 0, type: 'error', url: '', contentType: null }, {}, true],
    ['opaque redirect', 'oauth2-proxy', { status: 0, type: 'opaqueredirect', contentType: null }, {}, true],
  ]
  it.each(probeRows)('%s: counts at once unless confirmed by the probe', (_name, profile, s, r, probe) => {
    const signal = classify(snap(s), req(r), builtinProfiles[profile])
    expect(signal).not.toBeNull()
    expect(signal?.needsProbe).toBe(probe)
  })

  it('a body fingerprint counts at once only for a profile without a probe to ask', () => {
    const noProbe = { ...builtinProfiles['oauth2-proxy'], probe: null }
    const own = snap({ status: 401, contentType: json, bodyPeek: '{}' })
    expect(classify(own, req(), noProbe)?.needsProbe).toBe(false)
    const upstream = snap({ status: 401, contentType: json, bodyPeek: '{"error":"x"}' })
    expect(classify(upstream, req(), noProbe)?.needsProbe).toBe(true)
  })

  it('honours a custom --proxy-prefix', async () => {
    const { oauth2Proxy } = await import('../src/profiles')
    const profile = oauth2Proxy({ prefix: '/auth' })
    const page = OAUTH2_SIGN_IN_PAGE.replace('/oauth2/start', '/auth/start').replace('Sign In', 'x')
    expect(classify(snap({ status: 403, contentType: html, bodyPeek: page }), req(), profile)?.reason).toBe(
      'login-page',
    )
    expect(
      classify(snap({ redirected: true, url: `${APP}/auth/sign_in`, contentType: html }), req(), profile)
        ?.reason,
    ).toBe('sign-in-redirect')
  })
})

describe('classify() — other proxies', () => {
  it.each(otherRows)('%s: %s', (profile, _name, s, r, expected) => {
    expect(classify(snap(s), req(r), builtinProfiles[profile])?.reason ?? null).toBe(expected)
  })
})

describe('classify() — properties', () => {
  const snapshotArb = fc.record(
    {
      status: fc.oneof(
        fc.integer({ min: -5, max: 1000 }),
        fc.constantFrom(0, 200, 302, 401, 403, 431, 400, 500),
      ),
      type: fc.constantFrom('basic', 'cors', 'default', 'error', 'opaque', 'opaqueredirect'),
      redirected: fc.boolean(),
      url: fc.oneof(fc.webUrl(), fc.string(), fc.constant(''), fc.constant(`${APP}/oauth2/sign_in`)),
      contentType: fc.option(fc.oneof(fc.string(), fc.constantFrom('text/html', json)), { nil: null }),
      location: fc.option(fc.oneof(fc.string(), fc.webUrl(), fc.constant('/oauth2/start')), {
        nil: undefined,
      }),
      bodyPeek: fc.option(fc.oneof(fc.string(), fc.constant(OAUTH2_SIGN_IN_PAGE)), { nil: undefined }),
    },
    { requiredKeys: ['status', 'type', 'redirected', 'url', 'contentType'] },
  )
  const requestArb = fc.record({
    url: fc.oneof(fc.webUrl(), fc.string()),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', ''),
    accept: fc.option(fc.string(), { nil: null }),
    inScope: fc.boolean(),
  })
  const profileArb = fc.constantFrom(...Object.values(builtinProfiles))

  it('never throws on arbitrary snapshots', () => {
    fc.assert(
      fc.property(snapshotArb, requestArb, profileArb, (s, r, p) => {
        classify(s as ResponseSnapshot, r, p)
      }),
      { numRuns: 2000 },
    )
  })

  it('returns null for every out-of-scope request', () => {
    fc.assert(
      fc.property(snapshotArb, requestArb, profileArb, (s, r, p) => {
        expect(classify(s as ResponseSnapshot, { ...r, inScope: false }, p)).toBeNull()
      }),
      { numRuns: 2000 },
    )
  })
})
