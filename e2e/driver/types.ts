/**
 * The browser-driver interface every browser test and e2e scenario is written against: the subset
 * of Playwright's Page / BrowserContext / Browser that the tests use, with the same method names
 * and call shapes, implemented for Chromium (playwright-core), Firefox (puppeteer-core over
 * WebDriver BiDi) and WebKit (WebKitWebDriver + MiniBrowser through selenium-webdriver).
 *
 * Values crossing `evaluate` are JSON (as in Playwright's `evaluate`, no handles).
 */

export type BrowserName = 'chromium' | 'firefox' | 'webkit'
export const BROWSER_NAMES: readonly BrowserName[] = ['chromium', 'firefox', 'webkit']

/** A function run in the page with one JSON argument, or an expression string. */
export type PageFunction<A, R> = string | ((arg: A) => R | Promise<R>)

export interface Cookie {
  name: string
  value: string
  domain: string
  path: string
  expires?: number
  httpOnly?: boolean
  secure?: boolean
  sameSite?: 'Strict' | 'Lax' | 'None'
}

/** The main-document response of a navigation. */
export interface NavigationResponse {
  /** The HTTP status (WebKit: from the Navigation Timing entry, 0 when the browser does not expose it). */
  status(): number
  url(): string
}

export interface WaitOptions {
  timeout?: number
}

export interface Frame {
  url(): string
  click(selector: string): Promise<void>
}

export interface Page {
  readonly browserName: BrowserName
  /** Runs `fn(arg)` (or the expression) in the page and resolves to its JSON result. */
  evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R>
  /**
   * Evaluates an expression without transient user activation (Chromium and Firefox evaluate as a
   * user gesture; WebKit's WebDriver never does). The result is JSON.
   */
  evaluateWithoutGesture<R>(expression: string): Promise<R>
  goto(url: string): Promise<NavigationResponse | null>
  /** The page's URL. WebKit: as last seen by the driver (after goto, waitForURL, click, evaluate). */
  url(): string
  title(): Promise<string>
  content(): Promise<string>
  textContent(selector: string): Promise<string | null>
  locator(selector: string): { count(): Promise<number> }
  /** Waits until `fn(arg)` is truthy (polled). */
  waitForFunction<A>(fn: PageFunction<A, unknown>, arg?: A, options?: WaitOptions): Promise<void>
  waitForURL(url: string | RegExp, options?: WaitOptions): Promise<void>
  /** Waits for `document.readyState === 'complete'`. */
  waitForLoadState(): Promise<void>
  waitForTimeout(ms: number): Promise<void>
  addScriptTag(options: { content?: string; url?: string; type?: string }): Promise<void>
  /** A real (trusted) click on the first element matching `selector`: a user gesture. */
  click(selector: string): Promise<void>
  /** Child frames and the main frame. */
  frames(): Promise<Frame[]>
  on(event: 'popup', listener: (popup: Page) => void): void
  on(event: 'close', listener: () => void): void
  waitForEvent(event: 'popup', options?: WaitOptions): Promise<Page>
  waitForEvent(event: 'close', options?: WaitOptions): Promise<void>
  isClosed(): boolean
  close(): Promise<void>
  context(): BrowserContext
  screenshot(options: { path: string; fullPage?: boolean }): Promise<void>
}

/** The answer of a request made from Node with the context's cookies (Playwright's APIRequestContext). */
export interface ApiResponse {
  status(): number
  headers(): Record<string, string>
}

/** An isolated profile: own cookies and storage; its pages (tabs) share them. */
export interface BrowserContext {
  newPage(): Promise<Page>
  /** Open pages, popups included. */
  pages(): Page[]
  /**
   * Cookies of the context, or of the given URLs. WebKit's WebDriver only lists the cookies of the
   * current document: there the list is the union over the context's open pages.
   */
  cookies(urls?: string | string[]): Promise<Cookie[]>
  addCookies(cookies: Cookie[]): Promise<void>
  on(event: 'page', listener: (page: Page) => void): void
  /** A new page of this context (popups, `window.open`). */
  waitForEvent(event: 'page', options?: WaitOptions): Promise<Page>
  /** GET from Node with the context's cookies; `Set-Cookie` of the answer is stored in the context. */
  request: { get(url: string, options?: { maxRedirects?: number }): Promise<ApiResponse> }
  close(): Promise<void>
}

/** How the browser is launched. */
export interface LaunchOptions {
  /** Trust the e2e stack's test certificates (`browserTls(stack.tls)`, e2e/server/tls.ts). */
  tls?: {
    spki: string[]
    /** The leaf (with its chain) and key, for a browser's own helper pages on the stack's hosts (WebKit). */
    cert?: string
    key?: string
  }
}

export interface NewContextOptions {
  viewport?: { width: number; height: number }
}

export interface Browser {
  readonly browserName: BrowserName
  newContext(options?: NewContextOptions): Promise<BrowserContext>
  /** A page in a new context of its own. */
  newPage(): Promise<Page>
  close(): Promise<void>
}
