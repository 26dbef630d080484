import { clock } from '../clock'
import { needsPeek, PEEK_BYTES } from '../detect'
import { type Engine, networkErrorSnapshot } from '../engine'
import { AuthRequiredError, authRequiredBody, authRequiredHeaders, isAuthRequiredError } from '../errors'
import type { applyPatch } from '../patch'
import type { RequestFacts, ResponseSnapshot } from '../types'

type Body = Document | XMLHttpRequestBodyInit | null

/** Native path: out of scope, synchronous, or cleared at HEADERS_RECEIVED. */
const PASS = 0
/** Sent in scope: watching for the first readyState that can be judged. */
const GUARD = 1
/** Waiting at the coordinator's gate before the native send(). */
const GATE = 2
/** App-visible events and state held back until the verdict. */
const HOLD = 3
/** Re-sent after a re-login: every native event is held. */
const REPLAY = 4
/** Held events are being re-dispatched to the app. */
const RELEASE = 5
/** Completed as the synthetic 401. */
const SYNTH = 6
/** The SDK itself is aborting the native request: its events are swallowed. */
const QUIET = 7

const HELD_TYPES = [
  'readystatechange',
  'progress',
  'load',
  'error',
  'timeout',
  'loadend',
  'loadstart',
  'abort',
]
const COVERED = [
  'readyState',
  'status',
  'statusText',
  'responseURL',
  'response',
  'responseText',
  'responseXML',
  'getResponseHeader',
  'getAllResponseHeaders',
] as const

const copyEvent = (event: Event): Event =>
  typeof ProgressEvent === 'function' && event instanceof ProgressEvent
    ? new ProgressEvent(event.type, {
        lengthComputable: event.lengthComputable,
        loaded: event.loaded,
        total: event.total,
      })
    : new Event(event.type)

const invalidState = (): Error =>
  typeof DOMException === 'function'
    ? new DOMException(
        "Failed to read the 'responseText' property from 'XMLHttpRequest': The value is only accessible if the object's 'responseType' is '' or 'text'.",
        'InvalidStateError',
      )
    : new Error('InvalidStateError')

const syntheticResponse = (type: XMLHttpRequestResponseType, body: string): unknown => {
  switch (type) {
    case '':
    case 'text':
      return body
    case 'json':
      return JSON.parse(body)
    case 'blob':
      return new Blob([body], { type: 'application/json' })
    case 'arraybuffer':
      return new TextEncoder().encode(body).buffer
    default:
      return null
  }
}

/**
 * Build the `XMLHttpRequest` subclass `install()` puts on `globalThis`. Instances are native objects
 * (`instanceof`, `event.target`, `upload`, every `responseType`, sync requests keep native behaviour);
 * only in-scope asynchronous requests are watched, and only their final events are held back while
 * the engine judges them.
 *
 * @example
 * globalThis.XMLHttpRequest = createXhrClass(reauth.engine, NativeXMLHttpRequest)
 */
export const createXhrClass = (engine: Engine, Native: typeof XMLHttpRequest): typeof XMLHttpRequest => {
  const { scope } = engine

  class XMLHttpRequest extends Native {
    #mode = PASS
    /** Bumped on open() and abort(): verdicts for an older request are dropped. */
    #gen = 0
    #method = 'GET'
    #url = ''
    #openArgs: unknown[] | null = null
    #headers: [string, string][] | null = null
    #body: Body = null
    #held: Event[] | null = null
    #states: number[] | null = null
    #ended: 'load' | 'error' | 'timeout' | null = null
    /** The readyState the app sees while covered. */
    #visible = 1
    #synthetic: { body: string; reason: AuthRequiredError['reason']; response?: unknown } | null = null
    #controller: AbortController | null = null
    #replayDone: ((error: unknown) => void) | null = null
    /** When (`clock()`) the native send went out. */
    #sentAt = 0
    /** Ends this request's count of requests on the wire (engine.track), at its response headers. */
    #untrack: (() => void) | null = null
    /** A blob body to peek at (asynchronously) before judging. */
    #peekBlob: Blob | null = null

    static #listener = function (this: XMLHttpRequest, event: Event): void {
      this.#onEvent(event)
    }

    /** Own-property accessors that shadow the native getters while the app must not see the truth. */
    static #covers: PropertyDescriptorMap = {
      readyState: {
        configurable: true,
        get(this: XMLHttpRequest) {
          return this.#visible
        },
      },
      status: {
        configurable: true,
        get(this: XMLHttpRequest) {
          return this.#synthetic ? 401 : 0
        },
      },
      statusText: {
        configurable: true,
        get(this: XMLHttpRequest) {
          return this.#synthetic ? 'Unauthorized' : ''
        },
      },
      responseURL: {
        configurable: true,
        get(this: XMLHttpRequest) {
          return this.#synthetic ? this.#url : ''
        },
      },
      response: {
        configurable: true,
        get(this: XMLHttpRequest) {
          const s = this.#synthetic
          const type = this.responseType
          if (!s) return type === '' || type === 'text' ? '' : null
          if (!('response' in s)) s.response = syntheticResponse(type, s.body)
          return s.response
        },
      },
      responseText: {
        configurable: true,
        get(this: XMLHttpRequest) {
          const type = this.responseType
          if (type !== '' && type !== 'text') throw invalidState()
          return this.#synthetic ? this.#synthetic.body : ''
        },
      },
      responseXML: { configurable: true, get: () => null },
      getResponseHeader: {
        configurable: true,
        writable: true,
        value(this: XMLHttpRequest, name: string) {
          const n = String(name).toLowerCase()
          return (
            (this.#synthetic && authRequiredHeaders(this.#synthetic.reason).find(([h]) => h === n)?.[1]) ??
            null
          )
        },
      },
      getAllResponseHeaders: {
        configurable: true,
        writable: true,
        value(this: XMLHttpRequest) {
          const s = this.#synthetic
          return s
            ? authRequiredHeaders(s.reason)
                .map(([h, v]) => `${h}: ${v}\r\n`)
                .join('')
            : ''
        },
      },
    }

    constructor() {
      super()
      // Registered first and as capturing, so they run before any listener or on* handler of the app.
      for (const type of HELD_TYPES) super.addEventListener(type, XMLHttpRequest.#listener, true)
    }

    override open(
      ...args: [
        method: string,
        url: string | URL,
        async?: boolean,
        user?: string | null,
        password?: string | null,
      ]
    ): void {
      this.#reset()
      ;(super.open as (...a: unknown[]) => void)(...args)
      if (args.length > 2 && !args[2]) return
      const url = scope.resolve(String(args[1]))
      if (!scope.test(url)) return
      this.#openArgs = args
      this.#method = String(args[0]).toUpperCase()
      this.#url = url
      this.#headers = []
    }

    override setRequestHeader(name: string, value: string): void {
      super.setRequestHeader(name, value)
      this.#headers?.push([name, value])
    }

    override send(body?: Body): void {
      const headers = this.#headers
      if (this.#mode === GATE) throw new DOMException('send() was already called', 'InvalidStateError')
      if (!headers || this.#mode !== PASS || this.readyState !== 1) {
        super.send(body)
        return
      }
      for (const [name, value] of engine.headersToAdd((n) => headers.some(([h]) => h.toLowerCase() === n))) {
        super.setRequestHeader(name, value)
        headers.push([name, value])
      }
      this.#body = body ?? null
      engine.guarded.set(this, null)
      if (!engine.coordinator.gated) {
        this.#mode = GUARD
        this.#untrack = engine.track()
        this.#sentAt = clock()
        super.send(body)
        return
      }
      this.#mode = GATE
      const gen = this.#gen
      const controller = new AbortController()
      this.#controller = controller
      engine.coordinator.gate(this.#url, this.#method, controller.signal).then(
        () => {
          if (gen !== this.#gen) return
          this.#mode = GUARD
          this.#untrack = engine.track()
          this.#sentAt = clock()
          super.send(body)
        },
        (error: unknown) => {
          if (gen !== this.#gen) return
          this.#complete(isAuthRequiredError(error) ? error : this.#error('circuit-open', error))
        },
      )
    }

    override abort(): void {
      this.#stopTracking()
      const mode = this.#mode
      if (mode === PASS || mode === RELEASE) {
        super.abort()
        return
      }
      this.#gen++
      if (mode === GUARD) {
        this.#mode = PASS
        super.abort()
        return
      }
      this.#controller?.abort()
      const replayDone = this.#replayDone
      this.#replayDone = null
      const visible = mode === SYNTH ? 4 : this.#visible
      this.#mode = QUIET
      super.abort()
      this.#uncover()
      this.#held = this.#states = null
      this.#synthetic = null
      this.#mode = PASS
      replayDone?.(new DOMException('The request was aborted', 'AbortError'))
      // A request the app still sees as in flight ends the native way: readystatechange(4), abort, loadend.
      if (mode !== SYNTH && visible < 4)
        this.#emit(
          [
            ['readystatechange', 4],
            ['abort', 4],
            ['loadend', 4],
          ],
          0,
          false,
        )
    }

    #stopTracking(): void {
      this.#untrack?.()
      this.#untrack = null
    }

    #reset(): void {
      this.#stopTracking()
      this.#gen++
      this.#controller?.abort()
      this.#controller = null
      if (this.#mode !== PASS) this.#uncover()
      this.#mode = PASS
      this.#headers = null
      this.#openArgs = null
      this.#held = this.#states = null
      this.#synthetic = null
      this.#ended = null
      this.#replayDone = null
      this.#body = null
    }

    #cover(): void {
      Object.defineProperties(this, XMLHttpRequest.#covers)
    }

    #uncover(): void {
      for (const key of COVERED) delete (this as Record<string, unknown>)[key]
    }

    #facts(): RequestFacts {
      const accept = this.#headers?.find(([h]) => h.toLowerCase() === 'accept')
      return { url: this.#url, method: this.#method, accept: accept ? accept[1] : null, inScope: true }
    }

    /** What detection sees, read from the native getters (no app code runs while covers are off). */
    #snapshot(withBody: boolean): ResponseSnapshot {
      const covered = this.#mode !== GUARD
      if (covered) this.#uncover()
      const url = this.responseURL
      const snapshot: ResponseSnapshot = {
        status: this.status,
        type: 'basic',
        redirected: url !== '' && url !== this.#url.split('#')[0],
        url,
        contentType: this.getResponseHeader('content-type'),
        location: this.getResponseHeader('location'),
      }
      if (withBody && needsPeek(snapshot.status, snapshot.contentType)) {
        const type = this.responseType
        if (type === '' || type === 'text') snapshot.bodyPeek = this.responseText.slice(0, PEEK_BYTES)
        else if (type === 'blob' && this.response) this.#peekBlob = this.response as Blob
        else if (type === 'arraybuffer' && this.response) {
          snapshot.bodyPeek = new TextDecoder().decode(
            new Uint8Array(this.response, 0, Math.min(PEEK_BYTES, this.response.byteLength)),
          )
        }
      }
      if (covered) this.#cover()
      return snapshot
    }

    #onEvent(event: Event): void {
      // Headers received (readystatechange 2), or the request ended without them.
      if (this.#untrack && event.type !== 'loadstart' && event.type !== 'progress') this.#stopTracking()
      const mode = this.#mode
      if (mode === PASS || mode === RELEASE) return
      if (mode === QUIET || mode === SYNTH) {
        event.stopImmediatePropagation()
        return
      }
      const type = event.type
      if (mode === GUARD) {
        if (type === 'readystatechange') {
          const state = this.readyState
          if (state < 2) return
          if (state === 2 && engine.clearsEarly(this.#snapshot(false), this.#facts())) {
            this.#mode = PASS
            return
          }
          if (state === 3) return
        } else if (type !== 'error' && type !== 'load' && type !== 'loadend' && type !== 'timeout') return
        this.#mode = HOLD
        this.#held = []
        this.#states = []
        this.#visible = 1
        this.#cover()
      }
      event.stopImmediatePropagation()
      if (
        mode === REPLAY &&
        (type === 'loadstart' || (type === 'readystatechange' && this.#nativeState() === 1))
      )
        return
      this.#held!.push(event)
      this.#states!.push(this.#nativeState())
      if (type === 'error' || type === 'timeout' || type === 'load') this.#ended = type
      if (type === 'loadend') this.#decide()
    }

    #nativeState(): number {
      this.#uncover()
      const state = this.readyState
      this.#cover()
      return state
    }

    #decide(): void {
      const ended = this.#ended
      const done = this.#replayDone
      if (ended === 'timeout') {
        if (done) done(null)
        else this.#release()
        return
      }
      this.#peekBlob = null
      const snapshot = ended === 'error' ? networkErrorSnapshot(this.#url) : this.#snapshot(true)
      const gen = this.#gen
      const facts = this.#facts()
      const blob = this.#peekBlob as Blob | null
      this.#peekBlob = null
      const peeked = blob
        ? blob
            .slice(0, PEEK_BYTES)
            .text()
            .then(
              (text) => {
                snapshot.bodyPeek = text
              },
              () => {},
            )
        : Promise.resolve()
      peeked
        .then(() => engine.judge(snapshot, facts))
        .then(
          (error) => {
            if (gen !== this.#gen) return
            if (done) {
              this.#replayDone = null
              if (!error) return done(null)
              engine
                .recover(error, { method: facts.method, isReplay: true, replay: null })
                .then(() => done(null), done)
              return
            }
            if (!error) return this.#release()
            this.#recover(error)
          },
          () => {
            if (gen === this.#gen) (done ?? (() => this.#release()))(null)
          },
        )
    }

    #recover(error: AuthRequiredError): void {
      const gen = this.#gen
      this.#controller ??= new AbortController()
      engine
        .recover<void>(error, {
          method: this.#method,
          sentAt: this.#sentAt,
          signal: this.#controller.signal,
          notReplayable: null,
          replay: () => this.#replay(),
        })
        .then(
          () => {
            if (gen === this.#gen) this.#release()
          },
          (final: unknown) => {
            if (gen === this.#gen) this.#complete(isAuthRequiredError(final) ? final : error)
          },
        )
    }

    /** Re-open and re-send this same object; its events stay held until the replay is judged. */
    #replay(): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        this.#replayDone = (error) => (error ? reject(error) : resolve())
        this.#mode = REPLAY
        this.#held = []
        this.#states = []
        this.#ended = null
        this.#uncover()
        try {
          ;(super.open as (...a: unknown[]) => void)(...this.#openArgs!)
          for (const [name, value] of this.#headers!) super.setRequestHeader(name, value)
          this.#cover()
          super.send(this.#body)
        } catch (error) {
          this.#cover()
          this.#replayDone = null
          reject(error)
        }
      })
    }

    #release(): void {
      const held = this.#held ?? []
      const states = this.#states ?? []
      this.#held = this.#states = null
      const gen = this.#gen
      this.#mode = RELEASE
      this.#uncover()
      Object.defineProperty(this, 'readyState', XMLHttpRequest.#covers.readyState!)
      try {
        // An app that re-opens the object from a listener (reuse) ends this request's events.
        for (let i = 0; i < held.length && gen === this.#gen; i++) {
          this.#visible = states[i]!
          this.dispatchEvent(copyEvent(held[i]!))
        }
      } finally {
        if (gen === this.#gen) {
          delete (this as Record<string, unknown>).readyState
          this.#mode = PASS
        }
      }
    }

    #error(reason: 'circuit-open', cause: unknown): AuthRequiredError {
      return new AuthRequiredError({ reason, url: this.#url, method: this.#method, cause })
    }

    /** The lost session could not be saved: complete as a 401 with the native event sequence. */
    #complete(error: AuthRequiredError): void {
      this.#held = this.#states = null
      this.#synthetic = { body: authRequiredBody(error.reason), reason: error.reason }
      engine.guarded.set(this, error)
      this.#uncover()
      this.#cover()
      const length = this.#synthetic.body.length
      this.#emit(
        [
          ['readystatechange', 2],
          ['readystatechange', 3],
          ['progress', 3],
          ['readystatechange', 4],
          ['load', 4],
          ['loadend', 4],
        ],
        length,
        true,
      )
    }

    /** Dispatch SDK-made events with the given app-visible readyStates; `synthetic` keeps the 401 covers. */
    #emit(sequence: [string, number][], length: number, synthetic: boolean): void {
      const gen = this.#gen
      if (!synthetic) Object.defineProperty(this, 'readyState', XMLHttpRequest.#covers.readyState!)
      this.#mode = RELEASE
      try {
        for (const [type, state] of sequence) {
          if (gen !== this.#gen) break
          this.#visible = state
          this.dispatchEvent(
            type === 'readystatechange'
              ? new Event(type)
              : new ProgressEvent(type, { lengthComputable: length > 0, loaded: length, total: length }),
          )
        }
      } finally {
        if (gen === this.#gen) {
          if (!synthetic) delete (this as Record<string, unknown>).readyState
          this.#mode = synthetic ? SYNTH : PASS
        }
      }
    }
  }

  return XMLHttpRequest
}

/**
 * Patch `globalThis.XMLHttpRequest` with the SDK's subclass; `install()` calls this. Returns the
 * restore function, or null where there is no `XMLHttpRequest`.
 *
 * @example
 * const restore = installXhr(reauth.engine, reauth, applyPatch)
 * restore?.()
 */
export const installXhr = (engine: Engine, owner: object, patch: typeof applyPatch): (() => void) | null => {
  if (typeof globalThis.XMLHttpRequest !== 'function') return null
  return patch<typeof XMLHttpRequest>(globalThis, 'XMLHttpRequest', owner, (native) =>
    createXhrClass(engine, native),
  )
}
