import { existsSync } from 'node:fs'
import * as pp from 'puppeteer-core'
import { cookiesFor, DEFAULT_TIMEOUT_MS, Events, nodeGet, poll, urlMatches } from './common.js'
import type {
  Browser,
  BrowserContext,
  Cookie,
  Frame,
  LaunchOptions,
  NavigationResponse,
  Page,
  PageFunction,
  WaitOptions,
} from './types.js'

export const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr'

const toCookie = (c: pp.Cookie): Cookie => ({
  name: c.name,
  value: c.value,
  domain: c.domain,
  path: c.path,
  expires: c.expires,
  httpOnly: c.httpOnly ?? false,
  secure: c.secure,
  ...(c.sameSite === 'Strict' || c.sameSite === 'Lax' || c.sameSite === 'None'
    ? { sameSite: c.sameSite }
    : {}),
})

class FirefoxPage implements Page {
  readonly browserName = 'firefox' as const
  readonly #events = new Events<{ popup: Page; close: undefined }>()
  constructor(
    readonly raw: pp.Page,
    readonly ctx: FirefoxContext,
  ) {
    raw.on('popup', (p) => {
      if (!p) return
      const popup = ctx.adopt(p)
      this.#events.emit('popup', popup)
    })
    raw.once('close', () => this.#events.emit('close', undefined))
  }
  evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R> {
    if (typeof fn === 'string') return this.raw.evaluate(fn) as Promise<R>
    return this.raw.evaluate(fn as (a: unknown) => R, arg) as Promise<R>
  }
  async evaluateWithoutGesture<R>(expression: string): Promise<R> {
    // puppeteer's own evaluate always asks BiDi for user activation; call the realm without it.
    const realm = (this.raw.mainFrame() as any).mainRealm().realm
    const r = await realm.evaluate(`(async () => JSON.stringify(await (${expression})))()`, true, {
      resultOwnership: 'none',
      userActivation: false,
      serializationOptions: {},
    })
    if (r.type === 'exception') throw new Error(r.exceptionDetails?.text ?? 'evaluate failed')
    const v = r.result?.value
    return (typeof v === 'string' ? JSON.parse(v) : undefined) as R
  }
  goto(url: string): Promise<NavigationResponse | null> {
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
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector)
  }
  locator(selector: string) {
    return { count: () => this.evaluate((s) => document.querySelectorAll(s).length, selector) }
  }
  waitForFunction<A>(fn: PageFunction<A, unknown>, arg?: A, options?: WaitOptions): Promise<void> {
    // Polled without user activation: a poll must not hand the page a gesture it did not have.
    const expr = typeof fn === 'string' ? `(${fn})` : `(${fn.toString()})(${JSON.stringify(arg ?? null)})`
    return poll(
      async () => Boolean(await this.evaluateWithoutGesture(`Promise.resolve(${expr}).then(Boolean)`)),
      'function',
      options,
    )
  }
  waitForURL(url: string | RegExp, options?: WaitOptions): Promise<void> {
    return poll(async () => urlMatches(this.raw.url(), url), `URL ${url}`, options)
  }
  waitForLoadState(): Promise<void> {
    return this.waitForFunction(() => document.readyState === 'complete')
  }
  waitForTimeout(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms))
  }
  async addScriptTag(options: { content?: string; url?: string; type?: string }): Promise<void> {
    await this.raw.addScriptTag(options)
  }
  click(selector: string): Promise<void> {
    return this.raw.click(selector)
  }
  async frames(): Promise<Frame[]> {
    return this.raw.frames().map((f) => ({ url: () => f.url(), click: (s: string) => f.click(s) }))
  }
  on(event: 'popup' | 'close', listener: (p: never) => void): void {
    this.#events.on(event, listener as (v: unknown) => void)
  }
  waitForEvent(event: 'popup', options?: WaitOptions): Promise<Page>
  waitForEvent(event: 'close', options?: WaitOptions): Promise<void>
  waitForEvent(event: 'popup' | 'close', options?: WaitOptions): Promise<any> {
    if (event === 'close' && this.raw.isClosed()) return Promise.resolve(undefined)
    return this.#events.wait(event, options)
  }
  isClosed(): boolean {
    return this.raw.isClosed()
  }
  close(): Promise<void> {
    return this.raw.close()
  }
  context(): BrowserContext {
    return this.ctx
  }
  async screenshot(options: { path: string; fullPage?: boolean }): Promise<void> {
    await this.raw.screenshot({ path: options.path as `${string}.png`, fullPage: options.fullPage ?? false })
  }
}

class FirefoxContext implements BrowserContext {
  readonly #pages = new Map<pp.Page, FirefoxPage>()
  readonly #events = new Events<{ page: Page }>()
  constructor(readonly raw: pp.BrowserContext) {}
  readonly request = {
    get: async (url: string) =>
      nodeGet(url, await this.cookies(), async (set) => {
        if (set.length) await this.addCookies(set)
      }),
  }
  adopt(p: pp.Page): FirefoxPage {
    let w = this.#pages.get(p)
    if (!w) {
      w = new FirefoxPage(p, this)
      this.#pages.set(p, w)
      p.once('close', () => this.#pages.delete(p))
      this.#events.emit('page', w)
    }
    return w
  }
  async newPage(): Promise<Page> {
    return this.adopt(await this.raw.newPage())
  }
  pages(): Page[] {
    return [...this.#pages.values()].filter((p) => !p.isClosed())
  }
  async cookies(urls?: string | string[]): Promise<Cookie[]> {
    const all = (await this.raw.cookies()).map(toCookie)
    if (urls === undefined) return all
    const list = typeof urls === 'string' ? [urls] : urls
    return all.filter((c) => list.some((u) => cookiesFor([c], u).length > 0))
  }
  async addCookies(cookies: Cookie[]): Promise<void> {
    const expired = cookies.filter(
      (c) => c.expires !== undefined && c.expires > 0 && c.expires * 1000 <= Date.now(),
    )
    const live = cookies.filter((c) => !expired.includes(c))
    if (expired.length) {
      const current = await this.raw.cookies()
      const gone = current.filter((c) => expired.some((e) => e.name === c.name && e.domain === c.domain))
      if (gone.length) await this.raw.deleteCookie(...gone)
    }
    if (live.length) await this.raw.setCookie(...live.map((c) => ({ ...c, sameSite: c.sameSite ?? 'Lax' })))
  }
  on(_event: 'page', listener: (page: Page) => void): void {
    this.#events.on('page', listener)
  }
  waitForEvent(_event: 'page', options?: WaitOptions): Promise<Page> {
    return this.#events.wait('page', options)
  }
  close(): Promise<void> {
    return this.raw.close()
  }
}

class FirefoxBrowser implements Browser {
  readonly browserName = 'firefox' as const
  constructor(readonly raw: pp.Browser) {}
  async newContext(): Promise<BrowserContext> {
    return new FirefoxContext(await this.raw.createBrowserContext())
  }
  async newPage(): Promise<Page> {
    return (await this.newContext()).newPage()
  }
  close(): Promise<void> {
    return this.raw.close()
  }
}

/** Debian's Firefox ESR through puppeteer-core over WebDriver BiDi, headless. */
export async function launchFirefoxDriver(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(FIREFOX_PATH)) throw new Error(`firefox: ${FIREFOX_PATH} is missing`)
  const browser = await pp.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    protocol: 'webDriverBiDi',
    headless: true,
    protocolTimeout: DEFAULT_TIMEOUT_MS * 2,
    // the stack's test CA: WebDriver BiDi's `acceptInsecureCerts` (Firefox has no per-key switch, and
    // importing the CA needs NSS's certutil and a profile of our own)
    ...(options.tls ? { acceptInsecureCerts: true } : {}),
    // Every tab of a test is "in the background" but one: without this Firefox clamps their timers
    // to >= 1 s, and tabs told to start together start a second apart.
    extraPrefsFirefox: {
      'dom.min_background_timeout_value': 4,
      'dom.min_background_timeout_value_without_budget_throttling': 4,
      'dom.timeout.enable_budget_timer_throttling': false,
    },
  })
  return new FirefoxBrowser(browser)
}
