import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { currentBrowser } from './driver/index.js'
import type { Browser, BrowserContext, BrowserName, Page } from './driver/types.js'
import { launch } from './server/browser.js'
import type { RealDeployment, RealDeploymentName, RealStack, RealStackOptions } from './server/real.js'
import { SESSION_COOKIE } from './server/real-proxy.js'
import type { Stack, StackOptions } from './server/stack.js'
import { startStack } from './server/stack.js'
import type { Transport } from './server/tls.js'
import { browserTls, envTransport } from './server/tls.js'

export type { Browser, BrowserContext, BrowserName, Page } from './driver/types.js'

/** The browser this test process drives (the vitest project's `TEST_BROWSER`, default chromium). */
export const BROWSER: BrowserName = currentBrowser()

/**
 * The transport of the emulated stacks this process starts (the vitest project's `E2E_TRANSPORT`:
 * `plain`, `h1-tls` or `h2`; a file's own `setupE2E({ transport })` wins). The real stack stays plain.
 */
export const TRANSPORT: Transport = envTransport()

/** `setupE2E({ proxy: 'real' })`: the same, with the real oauth2-proxy stack. */
export interface RealE2E {
  stack: RealStack
  browser: Browser
  context: BrowserContext
  page: Page
}

export interface E2E {
  stack: Stack
  browser: Browser
  context: BrowserContext
  page: Page
}

/**
 * One stack and one browser per test file (the vitest project's browser: chromium, firefox or
 * webkit, see `vitest.e2e.config.ts`), a fresh browser context per test, every switch reset before
 * each test. Servers and browser are closed in `afterAll`, also after failures.
 */
export function setupE2E(options?: StackOptions): E2E
export function setupE2E(options: RealStackOptions): RealE2E
export function setupE2E(options: StackOptions | RealStackOptions = {}): E2E | RealE2E {
  const state: Partial<E2E | RealE2E> = {}
  beforeAll(async () => {
    const stack = await startStack(
      options.proxy === 'real' ? options : { transport: TRANSPORT, ...(options as StackOptions) },
    )
    state.stack = stack
    const tls = 'tls' in stack ? stack.tls : null
    state.browser = await launch(BROWSER, tls ? { tls: browserTls(tls) } : {})
  })
  afterAll(async () => {
    await state.browser?.close().catch(() => undefined)
    await state.stack?.stop()
  })
  beforeEach(async () => {
    await state.stack?.reset()
    if (!state.browser) throw new Error('browser not started')
    state.context = await state.browser.newContext()
    state.page = await state.context.newPage()
  })
  afterEach(async () => {
    await state.context?.close().catch(() => undefined)
  })
  const get = <K extends keyof E2E>(k: K): E2E[K] => {
    const v = state[k]
    if (v === undefined) throw new Error(`e2e ${k} not ready`)
    return v as E2E[K]
  }
  return {
    get stack() {
      return get('stack')
    },
    get browser() {
      return get('browser')
    },
    get context() {
      return get('context')
    },
    get page() {
      return get('page')
    },
  }
}

/**
 * Sign in through the real flow (proxy → IdP → callback → proxy) and land on `path`.
 * `base` is the app origin (the test proxy, or nginx).
 */
export async function signIn(page: Page, base: string, path = '/app.html'): Promise<void> {
  await page.goto(`${base}/oauth2/start?rd=${encodeURIComponent(path)}`)
  await page.waitForURL(`${base}${path}`)
  await page.waitForFunction(() => 'ky' in window && 'axios' in window)
}

/** Cookies of the context whose name matches. */
export async function cookieNames(context: BrowserContext, re: RegExp): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name).filter((n) => re.test(n))
}

export const CSRF_PER_REQUEST = /^_oauth2_proxy_.{8}_csrf$/

/** The real stack's session cookie (`_oauth2_proxy`, or its `_0`, `_1`… parts when it is split). */
export async function sessionCookies(context: BrowserContext) {
  return (await context.cookies()).filter((c) => SESSION_COOKIE.test(c.name))
}

/** Lose the session the real way: the browser drops the session cookie (as when it expires). */
export async function dropSessionCookie(context: BrowserContext): Promise<number> {
  const cookies = await sessionCookies(context)
  if (cookies.length === 0) throw new Error('no session cookie')
  await context.addCookies(cookies.map((c) => ({ ...c, value: '', expires: 1 })))
  return cookies.length
}

/** Make the session cookie fail validation: change one character of its signed value. */
export async function tamperSessionCookie(context: BrowserContext): Promise<void> {
  const [c] = await sessionCookies(context)
  if (!c) throw new Error('no session cookie')
  const last = c.value.at(-1) === 'A' ? 'B' : 'A'
  await context.addCookies([{ ...c, value: c.value.slice(0, -1) + last }])
}

/** Switch the real stack to a deployment for one test (`reset()` before the next returns to the initial one). */
export function useDeployment(e: RealE2E, deployment: RealDeployment | RealDeploymentName): Promise<void> {
  return e.stack.real.configure(deployment)
}
