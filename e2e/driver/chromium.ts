import * as pw from 'playwright-core'
import type {
  Browser,
  BrowserContext,
  Cookie,
  Frame,
  LaunchOptions,
  NavigationResponse,
  NewContextOptions,
  Page,
  PageFunction,
  WaitOptions,
} from './types.js'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

/**
 * Debian's Chromium through playwright-core, headless. Never downloads a browser. `tls`: the stack's
 * test certificates are trusted by their public keys (`--ignore-certificate-errors-spki-list`, the
 * narrowest switch Chromium has: any other certificate error still fails), so the pages are secure
 * contexts with a valid certificate, as in production.
 */
export function launchPlaywrightChromium(options: LaunchOptions = {}): Promise<pw.Browser> {
  return pw.chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
      ...(options.tls ? [`--ignore-certificate-errors-spki-list=${options.tls.spki.join(',')}`] : []),
    ],
  })
}

const pages = new WeakMap<pw.Page, ChromiumPage>()
const contexts = new WeakMap<pw.BrowserContext, ChromiumContext>()

const wrapPage = (p: pw.Page): ChromiumPage => {
  let w = pages.get(p)
  if (!w) {
    w = new ChromiumPage(p)
    pages.set(p, w)
  }
  return w
}
const wrapContext = (c: pw.BrowserContext): ChromiumContext => {
  let w = contexts.get(c)
  if (!w) {
    w = new ChromiumContext(c)
    contexts.set(c, w)
  }
  return w
}

const timeout = (o?: WaitOptions) => (o?.timeout === undefined ? {} : { timeout: o.timeout })

class ChromiumPage implements Page {
  readonly browserName = 'chromium' as const
  constructor(readonly raw: pw.Page) {}
  evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R> {
    return this.raw.evaluate(fn as never, arg) as Promise<R>
  }
  async evaluateWithoutGesture<R>(expression: string): Promise<R> {
    const cdp = await this.raw.context().newCDPSession(this.raw)
    try {
      const r = await cdp.send('Runtime.evaluate', {
        expression,
        awaitPromise: true,
        returnByValue: true,
        userGesture: false,
      })
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? 'evaluate failed')
      return r.result.value as R
    } finally {
      await cdp.detach().catch(() => undefined)
    }
  }
  async goto(url: string): Promise<NavigationResponse | null> {
    return this.raw.goto(url)
  }
  url(): string {
    return this.raw.url()
  }
  title(): Promise<string> {
    return this.raw.title()
  }
  content(): Promise<string> {
    return this.raw.content()
  }
  textContent(selector: string): Promise<string | null> {
    return this.raw.textContent(selector)
  }
  locator(selector: string) {
    return this.raw.locator(selector)
  }
  async waitForFunction<A>(fn: PageFunction<A, unknown>, arg?: A, options?: WaitOptions): Promise<void> {
    await this.raw.waitForFunction(fn as never, arg, timeout(options))
  }
  waitForURL(url: string | RegExp, options?: WaitOptions): Promise<void> {
    return this.raw.waitForURL(url, timeout(options))
  }
  waitForLoadState(): Promise<void> {
    return this.raw.waitForLoadState()
  }
  waitForTimeout(ms: number): Promise<void> {
    return this.raw.waitForTimeout(ms)
  }
  async addScriptTag(options: { content?: string; url?: string; type?: string }): Promise<void> {
    await this.raw.addScriptTag(options)
  }
  click(selector: string): Promise<void> {
    return this.raw.click(selector)
  }
  async frames(): Promise<Frame[]> {
    return this.raw.frames()
  }
  on(event: 'popup' | 'close', listener: (p: never) => void): void {
    if (event === 'popup') this.raw.on('popup', (p) => (listener as (p: Page) => void)(wrapPage(p)))
    else this.raw.on('close', () => (listener as () => void)())
  }
  waitForEvent(event: 'popup', options?: WaitOptions): Promise<Page>
  waitForEvent(event: 'close', options?: WaitOptions): Promise<void>
  async waitForEvent(event: 'popup' | 'close', options?: WaitOptions): Promise<any> {
    if (event === 'popup') return wrapPage(await this.raw.waitForEvent('popup', timeout(options)))
    await this.raw.waitForEvent('close', timeout(options))
    return undefined
  }
  isClosed(): boolean {
    return this.raw.isClosed()
  }
  close(): Promise<void> {
    return this.raw.close()
  }
  context(): BrowserContext {
    return wrapContext(this.raw.context())
  }
  async screenshot(options: { path: string; fullPage?: boolean }): Promise<void> {
    await this.raw.screenshot(options)
  }
}

class ChromiumContext implements BrowserContext {
  constructor(readonly raw: pw.BrowserContext) {}
  readonly request = {
    get: (url: string, options: { maxRedirects?: number } = {}) => this.raw.request.get(url, options),
  }
  async newPage(): Promise<Page> {
    return wrapPage(await this.raw.newPage())
  }
  pages(): Page[] {
    return this.raw.pages().map(wrapPage)
  }
  async cookies(urls?: string | string[]): Promise<Cookie[]> {
    return this.raw.cookies(urls)
  }
  addCookies(cookies: Cookie[]): Promise<void> {
    return this.raw.addCookies(cookies)
  }
  on(_event: 'page', listener: (page: Page) => void): void {
    this.raw.on('page', (p) => listener(wrapPage(p)))
  }
  async waitForEvent(_event: 'page', options?: WaitOptions): Promise<Page> {
    return wrapPage(await this.raw.waitForEvent('page', timeout(options)))
  }
  close(): Promise<void> {
    return this.raw.close()
  }
}

class ChromiumBrowser implements Browser {
  readonly browserName = 'chromium' as const
  constructor(readonly raw: pw.Browser) {}
  async newContext(options: NewContextOptions = {}): Promise<BrowserContext> {
    return wrapContext(await this.raw.newContext(options))
  }
  async newPage(): Promise<Page> {
    return (await this.newContext()).newPage()
  }
  close(): Promise<void> {
    return this.raw.close()
  }
}

/** Chromium behind the driver interface. */
export async function launchChromiumDriver(options: LaunchOptions = {}): Promise<Browser> {
  return new ChromiumBrowser(await launchPlaywrightChromium(options))
}
