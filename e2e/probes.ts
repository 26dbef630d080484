import type { Page } from './driver/types.js'

/** What a page saw of a `fetch()`. */
export type FetchOutcome =
  | {
      ok: true
      status: number
      type: string
      redirected: boolean
      url: string
      contentType: string | null
      cacheControl: string | null
      headerCount: number
      text: string
      isJson: boolean
    }
  | { ok: false; errorName: string; message: string }

export interface XhrOutcome {
  status: number
  readyState: number
  responseURL: string
  contentType: string | null
  text: string
  events: string[]
}

export type AxiosOutcome =
  | { ok: true; status: number; data: unknown }
  | { ok: false; code: string | null; hasResponse: boolean; status: number | null; data: unknown }

export interface FetchInit {
  method?: string
  headers?: Record<string, string>
  redirect?: 'follow' | 'manual' | 'error'
  body?: string
}

export function viaFetch(page: Page, url: string, init: FetchInit = {}): Promise<FetchOutcome> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const r = await fetch(url, init)
        const text = r.type === 'opaqueredirect' ? '' : await r.text()
        let isJson = true
        try {
          JSON.parse(text)
        } catch {
          isJson = false
        }
        return {
          ok: true as const,
          status: r.status,
          type: r.type,
          redirected: r.redirected,
          url: r.url,
          contentType: r.headers.get('content-type'),
          cacheControl: r.headers.get('cache-control'),
          headerCount: [...r.headers].length,
          text,
          isJson,
        }
      } catch (e) {
        const err = e as Error
        return { ok: false as const, errorName: err.name, message: err.message }
      }
    },
    { url, init },
  )
}

/** Many fetches at once; returns one outcome per request (status, or the error's name). */
export function viaFetchParallel(page: Page, url: string, count: number): Promise<(number | string)[]> {
  return page.evaluate(
    async ({ url, count }) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          fetch(`${url}${url.includes('?') ? '&' : '?'}n=${i}`).then(
            (r) => r.status,
            (e: Error) => e.name,
          ),
        ),
      ),
    { url, count },
  )
}

export function viaXhr(page: Page, url: string, headers: Record<string, string> = {}): Promise<XhrOutcome> {
  return page.evaluate(
    ({ url, headers }) =>
      new Promise<XhrOutcome>((resolve) => {
        const x = new XMLHttpRequest()
        const events: string[] = []
        x.open('GET', url)
        for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v)
        for (const t of ['load', 'error', 'abort', 'timeout', 'loadend']) {
          x.addEventListener(t, () => {
            events.push(t)
            if (t === 'loadend') {
              resolve({
                status: x.status,
                readyState: x.readyState,
                responseURL: x.responseURL,
                contentType: x.getResponseHeader('content-type'),
                text: x.responseText,
                events,
              })
            }
          })
        }
        x.send()
      }),
    { url, headers },
  )
}

export function viaAxios(
  page: Page,
  url: string,
  headers: Record<string, string> = {},
): Promise<AxiosOutcome> {
  return page.evaluate(
    async ({ url, headers }) => {
      const axios = (window as any).axios
      try {
        const r = await axios.get(url, { headers })
        return { ok: true as const, status: r.status as number, data: r.data as unknown }
      } catch (e) {
        const err = e as { code?: string; response?: { status: number; data: unknown } }
        return {
          ok: false as const,
          code: err.code ?? null,
          hasResponse: err.response !== undefined,
          status: err.response?.status ?? null,
          data: err.response?.data ?? null,
        }
      }
    },
    { url, headers },
  )
}

export function viaKy(
  page: Page,
  url: string,
): Promise<{ ok: boolean; status: number | null; name: string | null }> {
  return page.evaluate(async (url) => {
    const ky = (window as any).ky
    try {
      const r = await ky.get(url)
      return { ok: true, status: r.status as number, name: null }
    } catch (e) {
      const err = e as { name: string; response?: { status: number } }
      return { ok: false, status: err.response?.status ?? null, name: err.name }
    }
  }, url)
}

/** The markers of oauth2-proxy's sign-in page (`pkg/app/pagewriter/sign_in.html`). */
export function signInMarkers(html: string) {
  return {
    title: html.includes('<title>Sign In</title>'),
    form: html.includes('action="/oauth2/start"'),
    rd: /<input type="hidden" name="rd" value="[^"]*">/.test(html),
    button: html.includes('Sign in with OpenID Connect'),
    footer: /Secured with <a [^>]*>OAuth2 Proxy<\/a>/.test(html),
  }
}
