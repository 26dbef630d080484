// The part of selenium-webdriver 4 (no bundled types) the WebKit driver uses.
declare module 'selenium-webdriver' {
  export interface WebElement {
    click(): Promise<void>
  }
  export interface SeleniumCookie {
    name: string
    value: string
    domain?: string
    path?: string
    expiry?: number
    httpOnly?: boolean
    secure?: boolean
    sameSite?: string
  }
  export interface WebDriver {
    get(url: string): Promise<void>
    getCurrentUrl(): Promise<string>
    getTitle(): Promise<string>
    getPageSource(): Promise<string>
    getWindowHandle(): Promise<string>
    getAllWindowHandles(): Promise<string[]>
    executeScript(script: string, ...args: unknown[]): Promise<unknown>
    findElement(locator: unknown): Promise<WebElement>
    findElements(locator: unknown): Promise<WebElement[]>
    takeScreenshot(): Promise<string>
    close(): Promise<void>
    quit(): Promise<void>
    switchTo(): {
      window(handle: string): Promise<void>
      newWindow(type: 'tab' | 'window'): Promise<void>
      frame(id: number | WebElement | null): Promise<void>
      defaultContent(): Promise<void>
    }
    manage(): {
      getCookies(): Promise<SeleniumCookie[]>
      addCookie(cookie: SeleniumCookie): Promise<void>
      deleteCookie(name: string): Promise<void>
      setTimeouts(t: { script?: number; pageLoad?: number; implicit?: number }): Promise<void>
    }
  }
  export class Builder {
    usingServer(url: string): Builder
    withCapabilities(caps: Record<string, unknown>): Builder
    build(): Promise<WebDriver> & WebDriver
  }
  export const By: { css(selector: string): unknown }
}
