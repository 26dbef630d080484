import { clock } from '../clock'
import { needsPeek, PEEK_BYTES } from '../core/detect'
import type { Engine } from '../core/engine'
import { networkErrorSnapshot } from '../core/snapshot'
import { type AuthRequiredError, authRequiredBody, authRequiredHeaders, isAuthRequiredError } from '../errors'
import type { applyPatch } from '../patch'
import type { AuthReason, RequestFacts, ResponseSnapshot } from '../types'

type Body = Document | XMLHttpRequestBodyInit | null

/**
 * The response header the synthetic 401 carries, with the reason as its value: a fetch polyfill built on
 * XHR (whatwg-fetch) hands it on in its `Response`, so the fetch layer knows the request was judged.
 * (Same value as the clients' constant in errors.ts.)
 */

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
/**
 * Aborted while the native object was still OPENED and unsent (held at the gate, or completed from there):
 * the app sees UNSENT, as natively after an abort, until the next open().
 */
const UNSENT = 8

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

/** The upload's end when the request ends before its body was sent (abort, timeout): sizes 0, as natively. */
const UPLOAD_END = (type: string): [string, number, number?][] => [
  [`upload.${type}`, 4, 0],
  ['upload.loadend', 4, 0],
]

const copyEvent = (event: Event): Event =>
  typeof ProgressEvent === 'function' && event instanceof ProgressEvent
    ? new ProgressEvent(event.type, {
        lengthComputable: event.lengthComputable,
        loaded: event.loaded,
        total: event.total,
      })
    : new Event(event.type)

const stateMustBeOpened = (method: string): Error =>
  new DOMException(
    `Failed to execute '${method}' on 'XMLHttpRequest': The object's state must be OPENED.`,
    'InvalidStateError',
  )

/** A request header as it goes out: every value set for it, in order, joined by `, `; null when unset. */
const headerValue = (headers: [string, string][], lowerCaseName: string): string | null => {
  let value: string | null = null
  for (const [name, v] of headers)
    if (name.toLowerCase() === lowerCaseName) value = value === null ? v : `${value}, ${v}`
  return value
}

/** The request body's size in bytes where it is cheap to know (upload `loadstart` carries it). */
const bodySize = (body: Body): number => {
  if (typeof body === 'string') return new TextEncoder().encode(body).byteLength
  if (typeof Blob === 'function' && body instanceof Blob) return body.size
  if (body instanceof ArrayBuffer) return body.byteLength
  if (ArrayBuffer.isView(body)) return body.byteLength
  if (body instanceof URLSearchParams) return new TextEncoder().encode(body.toString()).byteLength
  return 0
}

/** What `responseType = 'json'` gives for these bytes: UTF-8, BOM dropped, null when it does not parse. */
const parseJson = (buffer: unknown): unknown => {
  if (!(buffer instanceof ArrayBuffer) && !ArrayBuffer.isView(buffer)) return null
  try {
    return JSON.parse(new TextDecoder().decode(buffer))
  } catch {
    return null
  }
}

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
 * globalThis.XMLHttpRequest = createXhrClass(engineOf(reauth), NativeXMLHttpRequest)
 */
export const createXhrClass = (engine: Engine, Native: typeof XMLHttpRequest): typeof XMLHttpRequest => {
  const { scope } = engine
  const proto = Native.prototype
  // happy-dom and other stand-ins may have no `timeout` at all: then the SDK's own timer is all there is.
  let timeoutOwner: object | null = proto
  while (timeoutOwner && !Object.getOwnPropertyDescriptor(timeoutOwner, 'timeout')?.set)
    timeoutOwner = Object.getPrototypeOf(timeoutOwner)
  const hasNativeTimeout = timeoutOwner !== null

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
    #synthetic: { body: string; reason: AuthReason; response?: unknown } | null = null
    #controller: AbortController | null = null
    #replayDone: ((error: unknown) => void) | null = null
    /** When (`clock()`) the native send went out. */
    #sentAt = 0
    /** Ends this request's count of requests on the wire (engine.track), at its response headers. */
    #untrack: (() => void) | null = null
    /** A blob body to peek at (asynchronously) before judging. */
    #peekBlob: Blob | null = null
    /** The `timeout` the app set (the native one is shortened while a held request is on the wire). */
    #timeout = 0
    /** When (`clock()`) the app called send(); the app's timeout counts from here. */
    #appSentAt = 0
    /** How much later than the app's send() the native request in flight went out. */
    #offset = 0
    /** A native request of this object is between its send() and its loadend. */
    #inFlight = false
    /** The SDK's timer for the app's timeout while no native request runs (gate, verdict, re-login). */
    #timer: ReturnType<typeof setTimeout> | undefined
    /** The app already saw a loadstart (sent at the gate): the native one is dropped. */
    #skipLoadstart = false
    #skipUploadLoadstart = false
    /** The size of an upload the SDK started (at the gate) and must end itself, or -1. */
    #uploadTotal = -1
    /** Our listener on `upload`, added when the upload object is first read, so before any of the app's. */
    #tap: ((event: Event) => void) | null = null
    /**
     * A `json` request whose HTML answer had to be read: the native responseType was switched to
     * `arraybuffer` at HEADERS_RECEIVED, and the app's `response` is parsed from those bytes as natively.
     */
    #json: { value?: unknown } | null = null

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
      // An engine that keeps `upload` as an own data property (happy-dom) would hide the getter below.
      const own = Object.getOwnPropertyDescriptor(this, 'upload')
      if (own && 'value' in own) {
        const upload = own.value as XMLHttpRequestUpload
        Object.defineProperty(this, 'upload', {
          configurable: true,
          enumerable: own.enumerable ?? true,
          get: () => this.#tapUpload(upload),
        })
      }
    }

    // Listeners on the upload object run in the order they were added (Chromium too: it is no node), so
    // ours goes first by being added when the app first reads `upload`, which it must do to listen at all.
    // The upload listener flag (a CORS preflight) is then the app's own doing.
    override get upload(): XMLHttpRequestUpload {
      return this.#tapUpload(super.upload)
    }

    #tapUpload(upload: XMLHttpRequestUpload): XMLHttpRequestUpload {
      if (this.#tap) return upload
      const tap = (event: Event): void => {
        const mode = this.#mode
        // A second native round (replay) or the SDK's own abort: the app saw this upload already.
        if (mode === REPLAY || mode === QUIET) event.stopImmediatePropagation()
        else if (event.type === 'loadstart' && this.#skipUploadLoadstart) {
          this.#skipUploadLoadstart = false
          event.stopImmediatePropagation()
        }
      }
      this.#tap = tap
      for (const type of HELD_TYPES) upload.addEventListener(type, tap, true)
      return upload
    }

    override get timeout(): number {
      return this.#timeout
    }

    override set timeout(ms: number) {
      if (hasNativeTimeout) {
        // The native setter validates (a synchronous request in a window throws) and converts the value.
        Reflect.set(timeoutOwner!, 'timeout', ms, this)
        this.#timeout = Reflect.get(timeoutOwner!, 'timeout', this) as number
      } else this.#timeout = Math.max(0, Math.trunc(Number(ms)) || 0)
      if (this.#appSentAt === 0) return
      // Natively a new timeout still counts from send().
      if (this.#inFlight) this.#nativeTimeout()
      else if (this.#mode !== PASS) this.#arm()
    }

    override get responseType(): XMLHttpRequestResponseType {
      return this.#json ? 'json' : super.responseType
    }

    override set responseType(type: XMLHttpRequestResponseType) {
      super.responseType = type
    }

    override get response(): unknown {
      const json = this.#json
      if (!json) return super.response
      if (this.readyState !== 4) return null
      if (!('value' in json)) json.value = parseJson(super.response)
      return json.value
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
      const json = this.#json
      this.#reset()
      ;(super.open as (...a: unknown[]) => void)(...args)
      if (json) this.#restoreJson()
      if (args.length > 2 && !args[2]) return
      const url = scope.resolve(String(args[1]))
      if (!scope.test(url)) return
      // Resolved now, as open() does natively: a replay after a client-side route change (or a new
      // <base>) goes where the request went, not where the same relative URL points by then.
      this.#openArgs = [args[0], url, ...args.slice(2)] as typeof args
      this.#method = String(args[0]).toUpperCase()
      this.#url = url
      this.#headers = []
    }

    override setRequestHeader(name: string, value: string): void {
      const mode = this.#mode
      // The native object is still OPENED there, but the app has sent (or aborted) the request.
      if (mode === GATE || mode === SYNTH || mode === UNSENT) throw stateMustBeOpened('setRequestHeader')
      super.setRequestHeader(name, value)
      this.#headers?.push([name, value])
    }

    override send(body?: Body): void {
      const headers = this.#headers
      const mode = this.#mode
      if (mode === GATE || mode === SYNTH || mode === UNSENT) throw stateMustBeOpened('send')
      if (!headers || mode !== PASS || this.readyState !== 1) {
        super.send(body)
        return
      }
      for (const [name, value] of engine.headersFor((n) => headerValue(headers, n))) {
        // setRequestHeader() appends to a header set already (`current, value`): only what is new goes.
        const current = headerValue(headers, name)
        const added =
          current !== null && value.startsWith(`${current}, `) ? value.slice(current.length + 2) : value
        super.setRequestHeader(name, added)
        headers.push([name, added])
      }
      const method = this.#method
      this.#body = method === 'GET' || method === 'HEAD' ? null : (body ?? null)
      engine.guarded.set(this, null)
      this.#appSentAt = clock()
      this.#offset = 0
      const controller = new AbortController()
      const held = engine.gate({ url: this.#url, method }, controller.signal)
      if (!held) {
        this.#mode = GUARD
        this.#untrack = engine.track()
        this.#sentAt = this.#appSentAt
        this.#inFlight = true
        super.send(body)
        return
      }
      this.#mode = GATE
      const gen = this.#gen
      this.#controller = controller
      held.then(
        () => {
          if (gen === this.#gen) this.#sendHeld(body)
        },
        (error: unknown) => {
          // gate() rejects with an AuthRequiredError, or with the abort of our own signal, which only
          // abort(), open() and the app's timeout use, each after moving #gen on.
          if (gen === this.#gen) this.#complete(error as AuthRequiredError)
        },
      )
      // Natively loadstart (and the upload's) fire within send(); the native ones come later and are dropped.
      this.#skipLoadstart = true
      // Upload events only for an app that listens to them (it has read `upload`: the tap is there).
      const upload = this.#body !== null && this.#tap !== null
      this.#dispatch(this, 'loadstart', 0, 0)
      if (gen !== this.#gen) return
      if (upload) {
        const total = bodySize(this.#body)
        this.#uploadTotal = total
        this.#dispatch(this.upload, 'loadstart', 0, total)
        if (gen !== this.#gen) return
        this.#skipUploadLoadstart = true
      }
      this.#arm()
    }

    /** The gate opened: send natively, with what is left of the app's timeout. */
    #sendHeld(body: Body | undefined): void {
      const deadline = this.#deadline()
      if (deadline !== 0 && clock() >= deadline) {
        this.#expire()
        return
      }
      this.#disarm()
      this.#mode = GUARD
      this.#uploadTotal = -1
      this.#untrack = engine.track()
      this.#sentAt = clock()
      this.#offset = this.#sentAt - this.#appSentAt
      this.#inFlight = true
      this.#nativeTimeout()
      super.send(body)
    }

    override abort(): void {
      this.#stopTracking()
      const mode = this.#mode
      // Released events past readyState 4 (a load listener aborting) end natively: nothing to stop.
      if (mode === PASS || mode === UNSENT || (mode === RELEASE && this.#visible === 4)) {
        super.abort()
        return
      }
      this.#gen++
      this.#disarm()
      if (mode === GUARD) {
        this.#mode = PASS
        super.abort()
        return
      }
      this.#controller?.abort()
      const replayDone = this.#replayDone
      this.#replayDone = null
      const visible = mode === SYNTH ? 4 : this.#visible
      const upload = this.#uploadTotal >= 0
      this.#uploadTotal = -1
      this.#mode = QUIET
      super.abort()
      this.#inFlight = false
      this.#uncover()
      this.#held = this.#states = null
      this.#synthetic = null
      this.#mode = PASS
      replayDone?.(new DOMException('The request was aborted', 'AbortError'))
      // A request the app still sees as in flight ends the native way: readystatechange(4), abort, loadend.
      if (mode !== SYNTH && visible < 4) {
        const gen = this.#gen
        this.#emit(
          [['readystatechange', 4], ...(upload ? UPLOAD_END('abort') : []), ['abort', 4], ['loadend', 4]],
          0,
          false,
        )
        if (gen !== this.#gen) return
      }
      if (super.readyState !== 0) {
        this.#mode = UNSENT
        Object.defineProperty(this, 'readyState', { configurable: true, get: () => 0 })
      }
    }

    #stopTracking(): void {
      this.#untrack?.()
      this.#untrack = null
    }

    #reset(): void {
      this.#stopTracking()
      this.#disarm()
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
      this.#inFlight = false
      this.#visible = 1
      this.#appSentAt = 0
      this.#skipLoadstart = this.#skipUploadLoadstart = false
      this.#uploadTotal = -1
      if (this.#offset !== 0) {
        this.#offset = 0
        this.#nativeTimeout()
      }
    }

    /** Back to the app's `json` after a switch (needs OPENED: called right after the native open()). */
    #restoreJson(): void {
      this.#json = null
      try {
        super.responseType = 'json'
      } catch {
        // A synchronous open() refuses it: so it does natively with 'json'.
      }
    }

    #cover(): void {
      Object.defineProperties(this, XMLHttpRequest.#covers)
    }

    #uncover(): void {
      for (const key of COVERED) delete (this as Record<string, unknown>)[key]
    }

    #deadline(): number {
      return this.#timeout > 0 && this.#appSentAt > 0 ? this.#appSentAt + this.#timeout : 0
    }

    /** The native timeout of the request in flight, counted from the app's send(). */
    #nativeTimeout(): void {
      if (!hasNativeTimeout) return
      const ms =
        this.#timeout && this.#offset ? Math.max(1, Math.ceil(this.#timeout - this.#offset)) : this.#timeout
      Reflect.set(timeoutOwner!, 'timeout', ms, this)
    }

    /** While no native request runs for it, the SDK itself times the request out at the app's deadline. */
    #arm(): void {
      this.#disarm()
      const deadline = this.#deadline()
      if (deadline === 0 || this.#inFlight) return
      this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - clock()))
    }

    #disarm(): void {
      if (this.#timer === undefined) return
      clearTimeout(this.#timer)
      this.#timer = undefined
    }

    /**
     * The app's timeout ran out while the SDK held the request: end it as natively (readystatechange 4,
     * timeout, loadend; status 0) and drop everything still pending for it (gate, verdict, queue, replay).
     */
    #expire(): void {
      this.#timer = undefined
      const mode = this.#mode
      if (this.#inFlight || (mode !== GATE && mode !== HOLD && mode !== REPLAY)) return
      this.#gen++
      this.#stopTracking()
      this.#controller?.abort()
      const replayDone = this.#replayDone
      this.#replayDone = null
      const upload = this.#uploadTotal >= 0
      this.#uploadTotal = -1
      this.#held = this.#states = null
      this.#synthetic = null
      this.#uncover()
      this.#cover()
      replayDone?.(new DOMException('The request timed out', 'TimeoutError'))
      this.#emit(
        [['readystatechange', 4], ...(upload ? UPLOAD_END('timeout') : []), ['timeout', 4], ['loadend', 4]],
        0,
        true,
      )
    }

    #facts(): RequestFacts {
      const accept = this.#headers ? headerValue(this.#headers, 'accept') : null
      return { url: this.#url, method: this.#method, accept, inScope: true }
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
        const type = super.responseType
        const response: unknown = type === '' || type === 'text' ? null : super.response
        if (type === '' || type === 'text') snapshot.bodyPeek = this.responseText.slice(0, PEEK_BYTES)
        else if (type === 'blob' && response) this.#peekBlob = response as Blob
        else if (type === 'arraybuffer' && response instanceof ArrayBuffer) {
          snapshot.bodyPeek = new TextDecoder().decode(
            new Uint8Array(response, 0, Math.min(PEEK_BYTES, response.byteLength)),
          )
        } else if (type === 'document' && response) {
          // The parsed page: its title and form keep the sign-in markers.
          const root = (response as Document).documentElement
          if (root) snapshot.bodyPeek = root.outerHTML.slice(0, PEEK_BYTES)
        }
      }
      if (covered) this.#cover()
      return snapshot
    }

    /**
     * A `json` request answered with a page that must be read: natively its `response` is null and its text
     * unreadable, so the native type becomes `arraybuffer` (allowed at HEADERS_RECEIVED) and the app's
     * `response` is parsed from those bytes.
     */
    #readableBody(status: number, contentType: string | null): void {
      if (super.responseType !== 'json' || !needsPeek(status, contentType)) return
      try {
        super.responseType = 'arraybuffer'
        this.#json = {}
      } catch {
        // An engine that refuses it (happy-dom) keeps the native json: judged without the body.
      }
    }

    #onEvent(event: Event): void {
      const type = event.type
      if (type === 'loadend') this.#inFlight = false
      // Headers received (readystatechange 2), or the request ended without them.
      if (this.#untrack && type !== 'loadstart' && type !== 'progress') this.#stopTracking()
      const mode = this.#mode
      if (mode === PASS || mode === RELEASE || mode === GATE) return
      if (mode === QUIET || mode === SYNTH || mode === UNSENT) {
        event.stopImmediatePropagation()
        return
      }
      if (mode === GUARD) {
        if (type === 'loadstart') {
          if (this.#skipLoadstart) {
            this.#skipLoadstart = false
            event.stopImmediatePropagation()
          }
          return
        }
        if (type === 'readystatechange') {
          const state = super.readyState
          if (state < 2) return
          if (state === 2) {
            const snapshot = this.#snapshot(false)
            if (engine.clearsEarly(snapshot, this.#facts())) {
              this.#mode = PASS
              return
            }
            this.#readableBody(snapshot.status, snapshot.contentType)
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
      if (mode === REPLAY) {
        if (type === 'loadstart') return
        if (type === 'readystatechange') {
          const state = this.#nativeState()
          if (state === 1) return
          if (state === 2) {
            this.#readableBody(super.status, super.getResponseHeader('content-type'))
          }
        }
      }
      this.#held!.push(event)
      this.#states!.push(this.#nativeState())
      if (type === 'error' || type === 'timeout' || type === 'load') this.#ended = type
      if (type === 'loadend') this.#decide()
    }

    #nativeState(): number {
      return super.readyState
    }

    #decide(): void {
      const ended = this.#ended
      const done = this.#replayDone
      if (ended === 'timeout') {
        if (done) done(null)
        else this.#release()
        return
      }
      this.#arm()
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
        .then(() => engine.judge(snapshot, facts, undefined, this.#sentAt))
        .then(
          (error) => {
            if (gen !== this.#gen) return
            if (done) {
              // A replay that lost its session again rejects: the coordinator starts nothing for it.
              this.#replayDone = null
              return done(error)
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
          facts: this.#facts(),
          sentAt: this.#sentAt,
          signal: this.#controller.signal,
          notReplayable: null,
          send: () =>
            gen === this.#gen
              ? this.#replay()
              : Promise.reject(new DOMException('The request was aborted', 'AbortError')),
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

    /**
     * Re-open and re-send this same object; its events stay held until the replay is judged, and its
     * upload events are dropped (the app saw the first round's).
     */
    #replay(): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        this.#replayDone = (error) => (error ? reject(error) : resolve())
        this.#disarm()
        this.#mode = REPLAY
        this.#held = []
        this.#states = []
        this.#ended = null
        this.#uncover()
        try {
          ;(super.open as (...a: unknown[]) => void)(...this.#openArgs!)
          if (this.#json) this.#restoreJson()
          for (const [name, value] of this.#headers!) super.setRequestHeader(name, value)
          this.#cover()
          this.#sentAt = clock()
          this.#offset = this.#sentAt - this.#appSentAt
          this.#nativeTimeout()
          this.#inFlight = true
          super.send(this.#body)
        } catch (error) {
          this.#inFlight = false
          this.#cover()
          this.#replayDone = null
          reject(error)
        }
      })
    }

    #release(): void {
      this.#disarm()
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

    /** The lost session could not be saved: complete as a 401 with the native event sequence. */
    #complete(error: AuthRequiredError): void {
      this.#disarm()
      this.#held = this.#states = null
      this.#visible = 1
      const body = authRequiredBody(error.reason)
      this.#synthetic = { body, reason: error.reason }
      engine.guarded.set(this, error)
      this.#uncover()
      this.#cover()
      // An upload the SDK started at the gate was, as far as the app knows, sent in full before the answer.
      const total = this.#uploadTotal
      this.#uploadTotal = -1
      const upload: [string, number, number?][] =
        total >= 0
          ? [
              ['upload.progress', 1, total],
              ['upload.load', 1, total],
              ['upload.loadend', 1, total],
            ]
          : []
      this.#emit(
        [
          ...upload,
          ['readystatechange', 2],
          ['readystatechange', 3],
          ['progress', 3],
          ['readystatechange', 4],
          ['load', 4],
          ['loadend', 4],
        ],
        body.length,
        true,
      )
    }

    /** Dispatch one SDK-made progress event (the app's listeners run; ours let it through). */
    #dispatch(target: EventTarget, type: string, loaded: number, total: number): void {
      target.dispatchEvent(new ProgressEvent(type, { lengthComputable: total > 0, loaded, total }))
    }

    /**
     * Dispatch SDK-made events under the covers with the given app-visible readyStates (`upload.*` on the
     * upload object, with its own size where given); `final` keeps the covers (synthetic 401 or timeout).
     */
    #emit(sequence: [string, number, number?][], length: number, final: boolean): void {
      const gen = this.#gen
      // Status 0 and no response while an abort's events run, whatever the engine's native object says.
      if (!final) this.#cover()
      this.#mode = RELEASE
      try {
        for (const [type, state, size] of sequence) {
          if (gen !== this.#gen) break
          if (type.startsWith('upload.')) {
            const n = size ?? 0
            this.#dispatch(this.upload, type.slice(7), n, n)
            continue
          }
          this.#visible = state
          if (type === 'readystatechange') this.dispatchEvent(new Event(type))
          else this.#dispatch(this, type, length, length)
        }
      } finally {
        if (gen === this.#gen) {
          if (!final) this.#uncover()
          this.#mode = final ? SYNTH : PASS
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
 * const restore = installXhr(engineOf(reauth), reauth, applyPatch)
 * restore?.()
 */
export const installXhr = (engine: Engine, owner: object, patch: typeof applyPatch): (() => void) | null => {
  if (typeof globalThis.XMLHttpRequest !== 'function') return null
  return patch<typeof XMLHttpRequest>(globalThis, 'XMLHttpRequest', owner, (native) =>
    createXhrClass(engine, native),
  )
}
