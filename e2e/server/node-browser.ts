/**
 * A browser's cookie handling, enough for Node-side checks of the stack: one jar for `localhost`
 * (cookies ignore ports, as in a browser), `Set-Cookie` applied from every answer, redirects
 * followed by hand.
 */
export class NodeJar {
  readonly cookies = new Map<string, string>()

  header(): string | null {
    return this.cookies.size ? [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ') : null
  }

  apply(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const eq = line.indexOf('=')
      const name = line.slice(0, eq).trim()
      const value = line.slice(eq + 1).split(';')[0] ?? ''
      const attrs = line.toLowerCase()
      const exp = /;\s*expires=([^;]+)/.exec(attrs)?.[1]
      const cleared =
        /;\s*max-age=(0|-\d+)\b/.test(attrs) || (exp !== undefined && Date.parse(exp) < Date.now())
      if (cleared) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  /** The session cookie(s) as one `Cookie` header value (`_oauth2_proxy`, or its split parts). */
  session(): string {
    const parts = [...this.cookies].filter(([n]) => /^_oauth2_proxy(?:_\d+)?$/.test(n))
    if (parts.length === 0)
      throw new Error(`no session cookie (cookies: ${[...this.cookies.keys()].join(', ')})`)
    return parts.map(([n, v]) => `${n}=${v}`).join('; ')
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const cookie = this.header()
    const res = await fetch(url, {
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
      redirect: 'manual',
    })
    this.apply(res)
    return res
  }
}

/** Change one character of a cookie header's last value: its signature no longer validates. */
export function tamper(cookieHeader: string): string {
  const last = cookieHeader.at(-1) === 'A' ? 'B' : 'A'
  return cookieHeader.slice(0, -1) + last
}

/**
 * Sign in like a browser's top-level navigation: `/oauth2/start` → provider (auto login) →
 * `/oauth2/callback` → the app. Resolves to the jar's session cookie header.
 */
export async function nodeSignIn(appUrl: string, jar = new NodeJar(), rd = '/app.html'): Promise<string> {
  let url = `${appUrl}/oauth2/start?rd=${encodeURIComponent(rd)}`
  const accept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
  for (let hop = 0; hop < 20; hop++) {
    const res = await jar.get(url, { accept, 'sec-fetch-mode': 'navigate' })
    await res.arrayBuffer()
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href
      continue
    }
    if (res.status === 200 && url.startsWith(appUrl)) return jar.session()
    throw new Error(`sign-in stopped at ${url} with ${res.status}`)
  }
  throw new Error('sign-in: too many redirects')
}
