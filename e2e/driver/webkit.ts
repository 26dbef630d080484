import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { Builder, By, type WebDriver } from 'selenium-webdriver'
import {
  callSource,
  cookiesFor,
  DEFAULT_TIMEOUT_MS,
  Events,
  nodeGet,
  poll,
  sleep,
  urlMatches,
} from './common.js'
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

export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver'
const MINIBROWSER = ['x86_64', 'aarch64', 'i386', 'arm']
  .map((a) => `/usr/lib/${a}-linux-gnu/webkit2gtk-4.1/MiniBrowser`)
  .concat('/usr/lib/arm-linux-gnueabihf/webkit2gtk-4.1/MiniBrowser')
export const WEBKIT_BROWSER_PATH =
  process.env.WEBKIT_BROWSER_PATH || MINIBROWSER.find((p) => existsSync(p)) || MINIBROWSER[0]!
export const XVFB_PATH = process.env.XVFB_PATH || '/usr/bin/Xvfb'

// Children die with the test process, also when it is killed between a launch and its close().
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) c.kill()
})
const track = (c: ChildProcess): ChildProcess => {
  children.add(c)
  c.once('exit', () => children.delete(c))
  return c
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

/** Starts Xvfb on a free display number (it picks it: `-displayfd`). */
async function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  const proc = track(
    spawn(XVFB_PATH, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    }),
  )
  const display = await new Promise<string>((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)))
    proc.stdio[3]?.once('data', (d) => resolve(`:${String(d).trim()}`))
  })
  return { display, proc }
}

interface Result {
  s: 'ok' | 'err' | 'pending' | 'lost'
  v?: string
  e?: string
}

// One operation at a time per WebDriver session: WebDriver has one "current window", so every
// operation switches to its page's window first. Evaluations never block the session: they start
// the function in the page and are polled, so several tabs can run long evaluations at once.
class Session {
  #chain: Promise<unknown> = Promise.resolve()
  current: string | null = null
  constructor(
    readonly driver: WebDriver,
    readonly proc: ChildProcess,
  ) {}
  run<T>(handle: string | null, op: (d: WebDriver) => Promise<T>): Promise<T> {
    const p = this.#chain.then(async () => {
      if (handle !== null && this.current !== handle) {
        await this.driver.switchTo().window(handle)
        this.current = handle
      }
      return op(this.driver)
    })
    this.#chain = p.catch(() => undefined)
    return p
  }
}

let evalIds = 0

class WebKitPage implements Page {
  readonly browserName = 'webkit' as const
  readonly #events = new Events<{ popup: Page; close: undefined }>()
  #url = 'about:blank'
  #closed = false
  constructor(
    readonly handle: string,
    readonly ctx: WebKitContext,
  ) {}
  #run<T>(op: (d: WebDriver) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('Target page has been closed'))
    return this.ctx.session.run(this.handle, op)
  }
  async #refreshUrl(): Promise<void> {
    this.#url = await this.#run((d) => d.getCurrentUrl()).catch(() => this.#url)
  }
  async evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R> {
    this.ctx.lastActive = this
    const id = `e${++evalIds}`
    const start = `const id = arguments[0], arg = arguments[1]
const w = window
w.__drv = w.__drv || {}
const ser = (v) => (v === undefined ? { s: 'ok' } : { s: 'ok', v: JSON.stringify(v) })
const err = (e) => ({ s: 'err', e: e && e.message ? e.name + ': ' + e.message : String(e) })
let v
try { v = ${callSource(fn, 'arg')} } catch (e) { return err(e) }
if (v && typeof v.then === 'function') {
  w.__drv[id] = { s: 'pending' }
  v.then((r) => { w.__drv[id] = ser(r) }, (e) => { w.__drv[id] = err(e) })
  return { s: 'pending' }
}
return ser(v)`
    const check = `const r = window.__drv && window.__drv[arguments[0]]
if (!r) return { s: 'lost' }
if (r.s !== 'pending') delete window.__drv[arguments[0]]
return r`
    let r = (await this.#run((d) => d.executeScript(start, id, arg ?? null))) as Result
    for (let wait = 5; r.s === 'pending'; wait = Math.min(wait * 2, 40)) {
      await sleep(wait)
      r = (await this.#run((d) => d.executeScript(check, id))) as Result
    }
    if (r.s === 'err') throw new Error(r.e)
    if (r.s === 'lost') throw new Error('Execution context was destroyed (the page navigated)')
    return (r.v === undefined ? undefined : JSON.parse(r.v)) as R
  }
  /** WebKit's WebDriver never evaluates as a user gesture. */
  evaluateWithoutGesture<R>(expression: string): Promise<R> {
    return this.evaluate<R>(expression)
  }
  async goto(url: string): Promise<NavigationResponse | null> {
    await this.#run((d) => d.get(url))
    await this.#refreshUrl()
    const finalUrl = this.#url
    // WebKit has no PerformanceNavigationTiming.responseStatus yet: 0 when unknown.
    const status = await this.evaluate(
      () =>
        (performance.getEntriesByType('navigation')[0] as { responseStatus?: number })?.responseStatus ?? 0,
    )
    return { status: () => status, url: () => finalUrl }
  }
  url(): string {
    return this.#url
  }
  title(): Promise<string> {
    return this.#run((d) => d.getTitle())
  }
  content(): Promise<string> {
    return this.#run((d) => d.getPageSource())
  }
  textContent(selector: string): Promise<string | null> {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector)
  }
  locator(selector: string) {
    return { count: () => this.evaluate((s) => document.querySelectorAll(s).length, selector) }
  }
  waitForFunction<A>(fn: PageFunction<A, unknown>, arg?: A, options?: WaitOptions): Promise<void> {
    return poll(
      async () => Boolean(await this.evaluate(fn as PageFunction<A, unknown>, arg).catch(() => false)),
      'function',
      options,
    )
  }
  waitForURL(url: string | RegExp, options?: WaitOptions): Promise<void> {
    return poll(
      async () => {
        await this.#refreshUrl()
        return urlMatches(this.#url, url)
      },
      `URL ${url}`,
      options,
    )
  }
  async waitForLoadState(): Promise<void> {
    await this.waitForFunction(() => document.readyState === 'complete')
    await this.#refreshUrl()
  }
  waitForTimeout(ms: number): Promise<void> {
    return sleep(ms)
  }
  async addScriptTag(options: { content?: string; url?: string; type?: string }): Promise<void> {
    await this.evaluate(
      (o: { content?: string; url?: string; type?: string }) =>
        new Promise<void>((resolve, reject) => {
          const s = document.createElement('script')
          if (o.type) s.type = o.type
          if (o.url) {
            s.src = o.url
            s.onload = () => resolve()
            s.onerror = () => reject(new Error(`script ${o.url} failed to load`))
            document.head.append(s)
          } else {
            s.textContent = o.content ?? ''
            document.head.append(s)
            resolve()
          }
        }),
      options,
    )
  }
  async click(selector: string): Promise<void> {
    this.ctx.lastActive = this
    await poll(
      async () => (await this.#run((d) => d.findElements(By.css(selector)))).length > 0,
      `selector ${selector}`,
    )
    await this.#run(async (d) => (await d.findElement(By.css(selector))).click())
    await this.#refreshUrl()
  }
  async frames(): Promise<Frame[]> {
    const urls = await this.#run(async (d) => {
      const list: string[] = []
      const count = (await d.findElements(By.css('iframe'))).length
      for (let i = 0; i < count; i++) {
        await d.switchTo().frame(i)
        // Get Current URL answers for the top-level page: ask the frame's document instead.
        list.push(String(await d.executeScript('return location.href')))
        await d.switchTo().defaultContent()
      }
      return list
    })
    const main: Frame = { url: () => this.#url, click: (s) => this.click(s) }
    return [
      main,
      ...urls.map((u, i) => ({
        url: () => u,
        click: (s: string) =>
          this.#run(async (d) => {
            this.ctx.lastActive = this
            await d.switchTo().frame(i)
            try {
              await (await d.findElement(By.css(s))).click()
            } finally {
              await d.switchTo().defaultContent()
            }
          }),
      })),
    ]
  }
  on(event: 'popup' | 'close', listener: (p: never) => void): void {
    this.#events.on(event, listener as (v: unknown) => void)
  }
  waitForEvent(event: 'popup', options?: WaitOptions): Promise<Page>
  waitForEvent(event: 'close', options?: WaitOptions): Promise<void>
  waitForEvent(event: 'popup' | 'close', options?: WaitOptions): Promise<any> {
    if (event === 'close' && this.#closed) return Promise.resolve(undefined)
    return this.#events.wait(event, options)
  }
  /** Called by the context's window watcher. */
  markClosed(): void {
    if (this.#closed) return
    this.#closed = true
    this.#events.emit('close', undefined)
  }
  emitPopup(p: Page): void {
    this.#events.emit('popup', p)
  }
  isClosed(): boolean {
    return this.#closed
  }
  async close(): Promise<void> {
    if (this.#closed) return
    await this.#run(async (d) => {
      await d.close()
      // WebDriver has no current window after closing it: go back to the context's blank window.
      await d.switchTo().window(this.ctx.home)
      this.ctx.session.current = this.ctx.home
    })
    this.ctx.forget(this)
    this.markClosed()
  }
  context(): BrowserContext {
    return this.ctx
  }
  async screenshot(options: { path: string }): Promise<void> {
    const png = await this.#run((d) => d.takeScreenshot())
    const { writeFile } = await import('node:fs/promises')
    await writeFile(options.path, Buffer.from(png, 'base64'))
  }
}

// One context = one WebKitWebDriver with one MiniBrowser session (the driver allows one session):
// its own ephemeral cookie and storage jar; its windows (tabs, popups) share it.
class WebKitContext implements BrowserContext {
  readonly #pages = new Map<string, WebKitPage>()
  readonly #events = new Events<{ page: Page }>()
  readonly #known = new Set<string>()
  #watcher: ReturnType<typeof setInterval> | undefined
  #closed = false
  lastActive: WebKitPage | null = null
  constructor(
    readonly session: Session,
    readonly home: string,
    readonly jarPort: number,
    /** `https` under TLS: WebDriver reads a `Secure` cookie only from an https document. */
    readonly jarScheme: 'http' | 'https',
  ) {
    // The session's first window stays open and blank: closing a session's last window ends it.
    this.#known.add(home)
    this.#watcher = setInterval(() => void this.#watch(), 100)
  }
  async #watch(): Promise<void> {
    if (this.#closed) return
    const handles = await this.session.run(null, (d) => d.getAllWindowHandles()).catch(() => null)
    if (!handles || this.#closed) return
    for (const h of handles) {
      if (this.#known.has(h)) continue
      this.#known.add(h)
      const popup = this.#add(h)
      this.lastActive?.emitPopup(popup)
    }
    for (const [h, p] of this.#pages) {
      if (!handles.includes(h)) {
        this.forget(p)
        if (this.session.current === h) {
          await this.session.run(this.home, async () => undefined).catch(() => undefined)
        }
        p.markClosed()
      }
    }
  }
  #add(handle: string): WebKitPage {
    const p = new WebKitPage(handle, this)
    this.#pages.set(handle, p)
    this.#events.emit('page', p)
    return p
  }
  forget(p: WebKitPage): void {
    this.#pages.delete(p.handle)
  }
  readonly request = {
    get: async (url: string) =>
      nodeGet(url, await this.cookies(), async (set) => {
        if (set.length) await this.addCookies(set)
      }),
  }
  async newPage(): Promise<Page> {
    const handle = await this.session.run(null, async (d) => {
      // A window, not a tab: MiniBrowser blocks window.open from a tab that is not the visible one,
      // even in a click handler.
      await d.switchTo().newWindow('window')
      const h = await d.getWindowHandle()
      this.#known.add(h)
      this.session.current = h
      return h
    })
    return this.#add(handle)
  }
  pages(): Page[] {
    return [...this.#pages.values()]
  }
  /**
   * WebDriver reads and writes the cookies of the current document only: the context's blank window
   * is sent to a blank page on the cookie's host (the browser's own tiny server; cookies ignore
   * ports), so the whole jar of a host is reachable whatever the test's pages show.
   */
  #onHost<T>(host: string, op: (d: WebDriver) => Promise<T>): Promise<T> {
    return this.session.run(this.home, async (d) => {
      const target = `${this.jarScheme}://${host}:${this.jarPort}/`
      if ((await d.getCurrentUrl()) !== target) await d.get(target)
      return op(d)
    })
  }
  async cookies(urls?: string | string[]): Promise<Cookie[]> {
    const list = urls === undefined ? undefined : typeof urls === 'string' ? [urls] : urls
    const hosts = new Set<string>(list ? list.map((u) => new URL(u).hostname) : ['localhost', '127.0.0.1'])
    if (!list) {
      for (const p of this.#pages.values()) {
        if (p.url().startsWith('http')) hosts.add(new URL(p.url()).hostname)
      }
    }
    const seen = new Map<string, Cookie>()
    for (const host of hosts) {
      const got = await this.#onHost(host, (d) => d.manage().getCookies())
      for (const c of got) {
        const cookie: Cookie = {
          name: c.name,
          value: c.value,
          domain: c.domain ?? host,
          path: c.path ?? '/',
          ...(typeof c.expiry === 'number' ? { expires: c.expiry } : {}),
          httpOnly: c.httpOnly ?? false,
          secure: c.secure ?? false,
          ...(c.sameSite ? { sameSite: c.sameSite as 'Lax' } : {}),
        }
        seen.set(`${cookie.domain}|${cookie.path}|${cookie.name}`, cookie)
      }
    }
    const all = [...seen.values()]
    return list ? all.filter((c) => list.some((u) => cookiesFor([c], u).length > 0)) : all
  }
  async addCookies(cookies: Cookie[]): Promise<void> {
    for (const c of cookies) {
      await this.#onHost(c.domain.replace(/^\./, ''), async (d) => {
        if (c.expires !== undefined && c.expires > 0 && c.expires * 1000 <= Date.now()) {
          await d.manage().deleteCookie(c.name)
          return
        }
        await d.manage().addCookie({
          name: c.name,
          value: c.value,
          path: c.path,
          ...(c.expires !== undefined && c.expires > 0 ? { expiry: Math.floor(c.expires) } : {}),
          httpOnly: c.httpOnly ?? false,
          secure: c.secure ?? false,
          ...(c.sameSite ? { sameSite: c.sameSite } : {}),
        })
      })
    }
  }
  on(_event: 'page', listener: (page: Page) => void): void {
    this.#events.on('page', listener)
  }
  waitForEvent(_event: 'page', options?: WaitOptions): Promise<Page> {
    return this.#events.wait('page', options)
  }
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#watcher)
    await this.session.driver.quit().catch(() => undefined)
    this.session.proc.kill()
  }
}

async function startSession(
  display: string,
  options: LaunchOptions,
): Promise<{ session: Session; home: string }> {
  const port = await freePort()
  const proc = track(
    spawn(WEBKIT_DRIVER_PATH, [`--port=${port}`], {
      stdio: 'ignore',
      env: { ...process.env, DISPLAY: display },
    }),
  )
  const end = Date.now() + 10_000
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/status`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    if (Date.now() > end) {
      proc.kill()
      throw new Error(`webkit: ${WEBKIT_DRIVER_PATH} did not answer on port ${port}`)
    }
    await sleep(50)
  }
  const driver = await new Builder()
    .usingServer(`http://127.0.0.1:${port}`)
    .withCapabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: WEBKIT_BROWSER_PATH, args: ['--automation'] },
      // the stack's test CA: WebKitWebDriver's only way (`acceptInsecureCerts`: TLS errors ignored)
      ...(options.tls ? { acceptInsecureCerts: true } : {}),
    })
    .build()
  await driver.manage().setTimeouts({ script: DEFAULT_TIMEOUT_MS, pageLoad: DEFAULT_TIMEOUT_MS })
  const session = new Session(driver, proc)
  const home = await driver.getWindowHandle()
  session.current = home
  return { session, home }
}

class WebKitBrowser implements Browser {
  readonly browserName = 'webkit' as const
  // A session is started ahead of need: the next newContext() is then instant.
  #next: Promise<{ session: Session; home: string }> | null = null
  readonly #contexts = new Set<WebKitContext>()
  constructor(
    readonly xvfb: { display: string; proc: ChildProcess },
    readonly jar: http.Server | https.Server,
    readonly options: LaunchOptions,
  ) {}
  async newContext(): Promise<BrowserContext> {
    const next = this.#next ?? startSession(this.xvfb.display, this.options)
    this.#next = startSession(this.xvfb.display, this.options)
    this.#next.catch(() => undefined)
    const { session, home } = await next
    const port = (this.jar.address() as net.AddressInfo).port
    const ctx = new WebKitContext(session, home, port, this.options.tls?.cert ? 'https' : 'http')
    this.#contexts.add(ctx)
    return ctx
  }
  async newPage(): Promise<Page> {
    return (await this.newContext()).newPage()
  }
  async close(): Promise<void> {
    await Promise.all([...this.#contexts].map((c) => c.close()))
    const next = await this.#next?.catch(() => null)
    if (next) {
      await next.session.driver.quit().catch(() => undefined)
      next.session.proc.kill()
    }
    this.xvfb.proc.kill()
    this.jar.closeAllConnections()
    await new Promise<void>((r) => this.jar.close(() => r()))
  }
}

/** WebKitGTK's MiniBrowser through WebKitWebDriver (selenium-webdriver), under its own Xvfb. */
export async function launchWebKitDriver(options: LaunchOptions = {}): Promise<Browser> {
  for (const p of [WEBKIT_DRIVER_PATH, WEBKIT_BROWSER_PATH, XVFB_PATH]) {
    if (!existsSync(p)) throw new Error(`webkit: ${p} is missing`)
  }
  const page: http.RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<!doctype html><title>cookie jar</title>')
  }
  const { cert, key } = options.tls ?? {}
  const jar =
    cert && key
      ? https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, page)
      : http.createServer(page)
  // '::' also accepts IPv4: the page answers as localhost and as 127.0.0.1.
  await new Promise<void>((r) => jar.listen(0, '::', () => r()))
  return new WebKitBrowser(await startXvfb(), jar, options)
}
