import { randomToken, Signer, safeEqual } from './util.js'

/** One stored session. `expiresOn` is when the session (the proxy cookie's tokens) ends. */
export interface StoredSession<T> {
  data: T
  createdAt: number
  expiresOn: number
}

export type LoadResult<T> =
  | { status: 'ok'; id: string; session: StoredSession<T> }
  /** Bad signature, undecodable, tampered or unknown (deleted): the proxy clears the cookie. */
  | { status: 'invalid'; reason: 'undecodable' | 'bad-signature' | 'tampered' | 'unknown' }

export interface SessionStoreOptions {
  cookieName: string
  secret: string
  now?: () => number
  /**
   * Random bytes in the session id. The cookie's length matters for the CSRF-cookie flood:
   * real oauth2-proxy cookies carry encrypted tokens, so the e2e stack pads them to real sizes.
   */
  idBytes?: number
}

/**
 * In-memory session store keyed by an opaque, HMAC-signed cookie value
 * (`<id>|<issued-at>|<signature>`). Signing uses Web Crypto, so the store runs in
 * browsers (msw) and in Node alike. Admin switches act on every session: the test bed has
 * one user.
 */
export class SessionStore<T> {
  readonly #sessions = new Map<string, StoredSession<T>>()
  readonly #tampered = new Set<string>()
  readonly #signer: Signer
  readonly #cookieName: string
  readonly #now: () => number
  readonly #idBytes: number

  constructor(options: SessionStoreOptions) {
    this.#idBytes = options.idBytes ?? 18
    this.#signer = new Signer(options.secret)
    this.#cookieName = options.cookieName
    this.#now = options.now ?? Date.now
  }

  get size(): number {
    return this.#sessions.size
  }

  /** Create a session and return its cookie value. */
  async create(data: T, lifetimeMs: number): Promise<string> {
    const id = randomToken(this.#idBytes)
    const now = this.#now()
    this.#sessions.set(id, { data, createdAt: now, expiresOn: now + lifetimeMs })
    return this.cookieValue(id)
  }

  /** A freshly signed cookie value for an existing session (a "save" after refresh). */
  async cookieValue(id: string): Promise<string> {
    const issued = String(Math.floor(this.#now() / 1000))
    const sig = await this.#signer.sign(`${this.#cookieName}|${id}|${issued}`)
    return `${id}|${issued}|${sig}`
  }

  async load(value: string): Promise<LoadResult<T>> {
    const parts = value.split('|')
    if (parts.length !== 3) return { status: 'invalid', reason: 'undecodable' }
    const [id = '', issued = '', sig = ''] = parts
    const expected = await this.#signer.sign(`${this.#cookieName}|${id}|${issued}`)
    if (!safeEqual(sig, expected)) return { status: 'invalid', reason: 'bad-signature' }
    if (this.#tampered.has(id)) return { status: 'invalid', reason: 'tampered' }
    const session = this.#sessions.get(id)
    if (!session) return { status: 'invalid', reason: 'unknown' }
    return { status: 'ok', id, session }
  }

  update(id: string, patch: Partial<StoredSession<T>>): void {
    const session = this.#sessions.get(id)
    if (session) this.#sessions.set(id, { ...session, ...patch })
  }

  delete(id: string): void {
    this.#sessions.delete(id)
  }

  /** Every session's `expiresOn` becomes now: the next request finds it expired. */
  expireAll(): number {
    const now = this.#now()
    for (const [id, s] of this.#sessions) this.#sessions.set(id, { ...s, expiresOn: now })
    return this.#sessions.size
  }

  /** Make every session look `ageMs` older (to trigger a cookie refresh). */
  ageAll(ageMs: number): void {
    for (const [id, s] of this.#sessions) this.#sessions.set(id, { ...s, createdAt: s.createdAt - ageMs })
  }

  /** Forget every session (server-side logout, a Redis flush). */
  deleteAll(): number {
    const n = this.#sessions.size
    this.#sessions.clear()
    return n
  }

  /** Every existing cookie now fails validation, as a tampered or undecodable cookie does. */
  tamperAll(): number {
    for (const id of this.#sessions.keys()) this.#tampered.add(id)
    return this.#sessions.size
  }

  sessions(): StoredSession<T>[] {
    return [...this.#sessions.values()]
  }

  reset(): void {
    this.#sessions.clear()
    this.#tampered.clear()
  }
}
