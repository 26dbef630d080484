import { clock } from '../clock'
import { needsPeek, PEEK_BYTES } from '../core/detect'
import type { Engine } from '../core/engine'
import { networkErrorSnapshot } from '../core/snapshot'
import { type AuthRequiredError, authRequiredBody, authRequiredHeaders, isAuthRequiredError } from '../errors'
import type { applyPatch } from '../patch'
import type { AuthReason, RequestFacts, ResponseSnapshot } from '../types'

type Body = Document | XMLHttpRequestBodyInit | null
type Xhr = XMLHttpRequest

// ─── Modes: what the SDK does with a request's native events ────────────────────────────────────────

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
/** Held or SDK-made events are being dispatched to the app. */
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

// ─── Helpers ────────────────────────────────────────────────────────────────────────────────────────

const isText = (type: XMLHttpRequestResponseType): boolean => type === '' || type === 'text'

const domError = (message: string, name = 'InvalidStateError'): Error => new DOMException(message, name)

const aborted = (): Error => domError('The request was aborted', 'AbortError')

const stateMustBeOpened = (method: string): Error =>
  domError(`Failed to execute '${method}' on 'XMLHttpRequest': The object's state must be OPENED.`)

const copyEvent = (event: Event): Event =>
  event instanceof ProgressEvent
    ? new ProgressEvent(event.type, {
        lengthComputable: event.lengthComputable,
        loaded: event.loaded,
        total: event.total,
      })
    : new Event(event.type)

/** Dispatch one SDK-made progress event (the app's listeners run; ours let it through). */
const progress = (target: EventTarget, type: string, loaded: number, total = loaded): void => {
  target.dispatchEvent(new ProgressEvent(type, { lengthComputable: total > 0, loaded, total }))
}

/** A request header as it goes out: every value set for it, in order, joined by `, `; null when unset. */
const headerValue = (headers: [string, string][], lowerCaseName: string): string | null => {
  let value: string | null = null
  for (const [name, v] of headers)
    if (name.toLowerCase() === lowerCaseName) value = value === null ? v : `${value}, ${v}`
  return value
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The request body's size in bytes where it is cheap to know (upload `loadstart` carries it). */
const bodySize = (body: Body): number => {
  if (typeof body === 'string' || body instanceof URLSearchParams) return utf8(String(body)).byteLength
  if (body instanceof Blob) return body.size
  return body instanceof ArrayBuffer || ArrayBuffer.isView(body) ? body.byteLength : 0
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

/** The synthetic 401's JSON body in the form `responseType` asks for. */
const syntheticResponse = (type: XMLHttpRequestResponseType, body: string): unknown =>
  isText(type)
    ? body
    : type === 'json'
      ? JSON.parse(body)
      : type === 'blob'
        ? new Blob([body], { type: 'application/json' })
        : type === 'arraybuffer'
          ? utf8(body).buffer
          : null

// ─── Event sequences the SDK dispatches itself ──────────────────────────────────────────────────────
// A number is a readystatechange at that app-visible readyState (the events after it keep it); `upload.`
// events go to the upload object.

const upload = (type: string): string => `upload.${type}`
const LOADED = ['progress', 'load', 'loadend']
/** The events that end a request; each is followed by `loadend`. */
const ENDS = ['load', 'error', 'timeout', 'abort']

/** How a request the app still sees in flight ends natively (abort, timeout); the upload's with sizes 0. */
const ending = (type: string, withUpload: boolean): (string | number)[] => [
  4,
  ...(withUpload ? [type, 'loadend'].map(upload) : []),
  type,
  'loadend',
]

/** The synthetic 401's events; an upload the SDK started at the gate first completes in full. */
const completion = (withUpload: boolean): (string | number)[] => [
  ...(withUpload ? LOADED.map(upload) : []),
  2,
  3,
  'progress',
  4,
  'load',
  'loadend',
]

/**
 * Native access to `proto`, as `super.x` reaches it, without a generic `Reflect.get` per event: a getter
 * is found once per class (nothing patches those), a method is looked up on each call, so a wrapper
 * that an APM tool puts on the native prototype later still runs.
 */
const nativeMembers = (proto: object) => {
  const getters: Record<string, (() => unknown) | undefined> = {}
  const getterOf = (key: string) => {
    for (let o: object | null = proto; o; o = Object.getPrototypeOf(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d) return d.get
    }
  }
  return {
    read: (xhr: object, key: string): unknown => {
      getters[key] ??= getterOf(key)
      const get = getters[key]
      return get ? get.call(xhr) : Reflect.get(proto, key, xhr)
    },
    call: (xhr: object, key: string, args: unknown[]): unknown =>
      (proto as unknown as Record<string, (...a: unknown[]) => unknown>)[key]!.apply(xhr, args),
  }
}

/** What one class made by createXhrClass shares between its instances. */
interface Shared {
  engine: Engine
  proto: XMLHttpRequest
  native: ReturnType<typeof nativeMembers>
  /** The prototype with the native `timeout` setter, or null (happy-dom: the SDK's own timer is all). */
  owner: object | null
  /** The own-property accessors that shadow the native getters while the app must not see the truth. */
  covers: PropertyDescriptorMap
  /** Ours, registered first and as capturing, so it runs before any listener or on* handler of the app. */
  listener: (this: Xhr, event: Event) => void
}

/**
 * One XMLHttpRequest's state and logic; the subclass only forwards to it. Native methods and getters are
 * reached through the class's prototype, as `super.x` would.
 */
class XhrState {
  readonly #xhr: XMLHttpRequest
  readonly #shared: Shared
  #mode = PASS
  /** Bumped on open(), abort() and a timeout: verdicts and callbacks for an older request are dropped. */
  #gen = 0
  #method = 'GET'
  #url = ''
  #openArgs: unknown[] | null = null
  /** The request headers set in scope; null for a request the SDK does not watch. */
  #headers: [string, string][] | null = null
  #body: Body = null
  /** Held native events, each with the native readyState it came at, and whether it is the upload's. */
  #held: [Event, number, boolean?][] | null = null
  #ended: string | null = null
  /** The readyState the app sees while covered. */
  #visible = 1
  #synthetic: { body: string; reason: AuthReason; response?: unknown } | null = null
  #controller: AbortController | null = null
  #replayDone: ((error: unknown) => void) | null = null
  /** When (`clock()`) the app called send(); the app's timeout counts from here. */
  #appSentAt = 0
  /** When (`clock()`) the native send in flight went out. */
  #sentAt = 0
  /** Ends this request's count of requests on the wire (engine.track), at its response headers. */
  #untrack: (() => void) | null = null
  /** A native request of this object is between its send() and its loadend. */
  #inFlight = false
  /** The SDK's timer for the app's timeout while no native request runs (gate, verdict, re-login). */
  #timer: ReturnType<typeof setTimeout> | undefined
  /** The app already saw a loadstart (sent at the gate): the native one is dropped. */
  #skipLoadstart = false
  #skipUploadLoadstart = false
  /**
   * The size of the upload the app saw start (`loadstart`, the SDK's at the gate or the native one) and
   * not end, or -1: the SDK ends it where it ends the request itself, and a replay's upload continues it.
   */
  #uploadTotal = -1
  /** Our listener is on `upload`, added when the upload object is first read, so before any of the app's. */
  #tapped = false
  /** The `timeout` the app set (the native one is shortened while a held request is on the wire). */
  timeout = 0
  /**
   * A `json` request whose HTML answer had to be read: the native responseType was switched to
   * `arraybuffer` at HEADERS_RECEIVED, and the app's `response` is parsed from those bytes as natively.
   */
  json: { value?: unknown } | null = null

  constructor(xhr: XMLHttpRequest, shared: Shared) {
    this.#xhr = xhr
    this.#shared = shared
    for (const type of HELD_TYPES) this.#call('addEventListener', type, shared.listener, true)
    // An engine that keeps `upload` as an own data property (happy-dom) would hide the subclass's getter.
    const own = Object.getOwnPropertyDescriptor(xhr, 'upload')
    if (own && 'value' in own) {
      Object.defineProperty(xhr, 'upload', {
        configurable: true,
        enumerable: own.enumerable ?? true,
        get: () => this.tap(own.value),
      })
    }
  }

  /** The covers of one class: they read the state of the instance's XhrState. */
  static covers(of: (xhr: XMLHttpRequest) => XhrState): PropertyDescriptorMap {
    const synthetic = (xhr: XMLHttpRequest) => of(xhr).#synthetic
    const getters: Record<string, (this: XMLHttpRequest) => unknown> = {
      readyState() {
        return of(this).#visible
      },
      status() {
        return synthetic(this) ? 401 : 0
      },
      statusText() {
        return synthetic(this) ? 'Unauthorized' : ''
      },
      responseURL() {
        return synthetic(this) ? of(this).#url : ''
      },
      response() {
        const s = synthetic(this)
        if (!s) return isText(this.responseType) ? '' : null
        if (!('response' in s)) s.response = syntheticResponse(this.responseType, s.body)
        return s.response
      },
      responseText() {
        if (!isText(this.responseType))
          throw domError(
            "Failed to read the 'responseText' property from 'XMLHttpRequest': The value is only accessible if the object's 'responseType' is '' or 'text'.",
          )
        return synthetic(this)?.body ?? ''
      },
      responseXML: () => null,
    }
    const methods: Record<string, (this: XMLHttpRequest, name: string) => unknown> = {
      getResponseHeader(name) {
        const s = synthetic(this)
        const n = String(name).toLowerCase()
        return (s && authRequiredHeaders(s.reason).find(([h]) => h === n)?.[1]) ?? null
      },
      getAllResponseHeaders() {
        const s = synthetic(this)
        return s
          ? authRequiredHeaders(s.reason)
              .map(([h, v]) => `${h}: ${v}\r\n`)
              .join('')
          : ''
      },
    }
    const covers: PropertyDescriptorMap = {}
    for (const key in getters) covers[key] = { configurable: true, get: getters[key]! }
    for (const key in methods) covers[key] = { configurable: true, writable: true, value: methods[key]! }
    return covers
  }

  // ─── Native access ──────────────────────────────────────────────────────────────────────────────

  #get(key: string): any {
    return this.#shared.native.read(this.#xhr, key)
  }

  #call(key: string, ...args: unknown[]): any {
    return this.#shared.native.call(this.#xhr, key, args)
  }

  #setType(type: XMLHttpRequestResponseType): void {
    Reflect.set(this.#shared.proto, 'responseType', type, this.#xhr)
  }

  #cover(): void {
    Object.defineProperties(this.#xhr, this.#shared.covers)
  }

  #uncover(): void {
    for (const key in this.#shared.covers) delete (this.#xhr as unknown as Record<string, unknown>)[key]
  }

  // Listeners on the upload object run in the order they were added (Chromium too: it is no node), so
  // ours goes first by being added when the app first reads `upload`, which it must do to listen at all.
  // The upload listener flag (a CORS preflight) is then the app's own doing.
  tap(target: XMLHttpRequestUpload): XMLHttpRequestUpload {
    if (this.#tapped) return target
    this.#tapped = true
    const tap = (event: Event): void => {
      if (this.#uploadEvent(event)) return
      event.stopImmediatePropagation()
    }
    for (const type of HELD_TYPES) target.addEventListener(type, tap, true)
    return target
  }

  /**
   * An upload event: true to let it through to the app (and note what the app saw of the upload), false
   * when it is dropped or held with the request's events.
   */
  #uploadEvent(event: Event): boolean {
    const mode = this.#mode
    const type = event.type
    // The SDK's own abort; or the native loadstart after the one the app saw at the gate.
    if (mode === QUIET) return false
    if (type === 'loadstart' && this.#skipUploadLoadstart) {
      this.#skipUploadLoadstart = false
      return false
    }
    if (mode === HOLD || mode === REPLAY) {
      const state = this.#get('readyState') as number
      // A request error's upload events (at DONE, after readystatechange 4) wait with the request's: a
      // replay drops them, a genuine failure releases them in their place.
      if (mode === HOLD || state === 4) {
        this.#held!.push([event, state, true])
        return false
      }
      // A replay's upload continues the one the app saw start; one the app saw end is not shown again.
      if (type === 'loadstart' || this.#uploadTotal < 0) return false
    }
    if (type === 'loadstart') this.#uploadTotal = (event as ProgressEvent).total
    else if (type === 'loadend') this.#uploadTotal = -1
    return true
  }

  // ─── The app's calls ────────────────────────────────────────────────────────────────────────────

  open(args: unknown[]): void {
    const json = this.json
    this.#reset()
    this.#call('open', ...args)
    if (json) this.#restoreJson()
    if (args.length > 2 && !args[2]) return
    const { scope } = this.#shared.engine
    const url = scope.resolve(String(args[1]))
    if (!scope.test(url)) return
    // Resolved now, as open() does natively: a replay after a client-side route change (or a new
    // <base>) goes where the request went, not where the same relative URL points by then.
    this.#openArgs = [args[0], url, ...args.slice(2)]
    this.#method = String(args[0]).toUpperCase()
    this.#url = url
    this.#headers = []
  }

  /** The native object is still OPENED at the gate and after a completion from there, but the app sent. */
  #mustBeOpened(method: string): void {
    const mode = this.#mode
    if (mode === GATE || mode === SYNTH || mode === UNSENT) throw stateMustBeOpened(method)
  }

  setRequestHeader(name: string, value: string): void {
    this.#mustBeOpened('setRequestHeader')
    this.#call('setRequestHeader', name, value)
    this.#headers?.push([name, value])
  }

  send(body: Body | undefined): void {
    const headers = this.#headers
    this.#mustBeOpened('send')
    if (!headers || this.#mode !== PASS || this.#xhr.readyState !== 1) {
      this.#call('send', body)
      return
    }
    const { engine } = this.#shared
    for (const [name, value] of engine.headersFor((n) => headerValue(headers, n), this.#url)) {
      // setRequestHeader() appends to a header set already (`current, value`): only what is new goes.
      const current = headerValue(headers, name)
      const added =
        current !== null && value.startsWith(`${current}, `) ? value.slice(current.length + 2) : value
      this.#call('setRequestHeader', name, added)
      headers.push([name, added])
    }
    const method = this.#method
    this.#body = method === 'GET' || method === 'HEAD' ? null : (body ?? null)
    engine.guarded.set(this.#xhr, null)
    this.#sentAt = this.#appSentAt = clock()
    const controller = new AbortController()
    const held = engine.gate({ url: this.#url, method }, controller.signal)
    if (!held) {
      this.#go(body, GUARD, this.#appSentAt)
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
    const withUpload = this.#body !== null && this.#tapped
    progress(this.#xhr, 'loadstart', 0)
    if (gen !== this.#gen) return
    if (withUpload) {
      progress(this.#xhr.upload, 'loadstart', 0, bodySize(this.#body))
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
    this.#go(body, GUARD)
  }

  /**
   * The native send, guarded (counted on the wire) or as a replay. Sent `at` the app's send(), the native
   * timeout is the app's; sent later, it gets what is left.
   */
  #go(body: Body | undefined, mode: number, at?: number): void {
    this.#mode = mode
    if (mode === GUARD) this.#untrack = this.#shared.engine.track({ url: this.#url, method: this.#method })
    this.#sentAt = at ?? clock()
    this.#inFlight = true
    if (at === undefined) this.#nativeTimeout()
    this.#call('send', body)
  }

  abort(): void {
    this.#stopTracking()
    const mode = this.#mode
    // Released events past readyState 4 (a load listener aborting) end natively: nothing to stop.
    const native = mode === PASS || mode === UNSENT || (mode === RELEASE && this.#visible === 4)
    if (native || mode === GUARD) {
      if (!native) {
        this.#gen++
        this.#disarm()
        this.#mode = PASS
      }
      this.#call('abort')
      return
    }
    const visible = mode === SYNTH ? 4 : this.#visible
    const withUpload = this.#drop(aborted())
    this.#mode = QUIET
    this.#call('abort')
    this.#inFlight = false
    this.#uncover()
    this.#mode = PASS
    // A request the app still sees as in flight ends the native way: readystatechange(4), abort, loadend.
    if (mode !== SYNTH && visible < 4) {
      const gen = this.#gen
      this.#emit(ending('abort', withUpload), 0, false)
      if (gen !== this.#gen) return
    }
    if (this.#get('readyState') !== 0) {
      this.#mode = UNSENT
      this.#visible = 0
      Object.defineProperty(this.#xhr, 'readyState', this.#shared.covers.readyState!)
    }
  }

  setTimeoutMs(ms: number): void {
    const { owner } = this.#shared
    if (owner) {
      // The native setter validates (a synchronous request in a window throws) and converts the value.
      Reflect.set(owner, 'timeout', ms, this.#xhr)
      this.timeout = Reflect.get(owner, 'timeout', this.#xhr) as number
    } else this.timeout = Math.max(0, Math.trunc(Number(ms)) || 0)
    if (this.#appSentAt === 0) return
    // Natively a new timeout still counts from send().
    if (this.#inFlight) this.#nativeTimeout()
    else if (this.#mode !== PASS) this.#arm()
  }

  // ─── Ending a request the SDK holds ─────────────────────────────────────────────────────────────

  /**
   * Drop everything pending for the current request (gate, verdict, queue, replay, timer, wire count);
   * a replay in flight rejects with `error`. Returns whether the SDK had started an upload itself.
   */
  #drop(error?: Error): boolean {
    this.#gen++
    this.#stopTracking()
    this.#disarm()
    this.#controller?.abort()
    if (error) this.#replayDone?.(error)
    this.#replayDone = null
    this.#held = this.#synthetic = null
    const withUpload = this.#uploadTotal >= 0 || (error !== undefined && this.#bodylessUploadEnds())
    this.#uploadTotal = -1
    return withUpload
  }

  /**
   * Blink ends the upload of a request sent without a body too: its abort, error or timeout fires the
   * upload's `abort`/`error`/`timeout` and `loadend` (no `loadstart` before them) once the app read `upload`,
   * if the request allowed upload events (same-origin, or a method or header outside the CORS safelist).
   * The spec, Gecko and WebKit count such an upload complete at send() and fire nothing (measured in
   * Chromium, Firefox ESR and WebKitGTK: test/browser/xhr-events.test.ts). No event or request shows it
   * beforehand (a data: probe raises CSP violations): its user agent token does (`Chrome/`,
   * `HeadlessChrome/`, `Chromium/`; not iOS's `CriOS/`, which is WebKit).
   */
  #bodylessUploadEnds(): boolean {
    return (
      this.#body === null &&
      this.#tapped &&
      /Chrom(e|ium)\//.test(globalThis.navigator?.userAgent) &&
      (new URL(this.#url).origin === globalThis.location?.origin ||
        !/^(GET|HEAD|POST)$/.test(this.#method) ||
        (this.#headers ?? []).some(
          ([name]) => !/^(accept|content-type|range|(accept|content)-language)$/i.test(name),
        ))
    )
  }

  #reset(): void {
    if (this.#mode !== PASS) this.#uncover()
    this.#drop()
    this.#controller = null
    this.#mode = PASS
    this.#headers = this.#openArgs = this.#body = this.#ended = null
    this.#inFlight = this.#skipLoadstart = this.#skipUploadLoadstart = false
    this.#visible = 1
    const shortened = this.#offset() !== 0
    this.#appSentAt = 0
    if (shortened) this.#nativeTimeout()
  }

  #stopTracking(): void {
    this.#untrack?.()
    this.#untrack = null
  }

  /** Back to the app's `json` after a switch (needs OPENED: called right after the native open()). */
  #restoreJson(): void {
    this.json = null
    try {
      this.#setType('json')
    } catch {
      // A synchronous open() refuses it: so it does natively with 'json'.
    }
  }

  // ─── The app's timeout, counted from its send() across gate, verdict, re-login and replay ─────────

  /** How much later than the app's send() the native request in flight went out. */
  #offset(): number {
    return this.#appSentAt && this.#sentAt - this.#appSentAt
  }

  #deadline(): number {
    return this.timeout > 0 && this.#appSentAt > 0 ? this.#appSentAt + this.timeout : 0
  }

  /** The native timeout of the request in flight, counted from the app's send(). */
  #nativeTimeout(): void {
    const { owner } = this.#shared
    if (!owner) return
    const ms = this.timeout
    const offset = this.#offset()
    Reflect.set(owner, 'timeout', ms && offset ? Math.max(1, Math.ceil(ms - offset)) : ms, this.#xhr)
  }

  /** While no native request runs for it, the SDK itself times the request out at the app's deadline. */
  #arm(): void {
    this.#disarm()
    const deadline = this.#deadline()
    if (deadline === 0 || this.#inFlight) return
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - clock()))
  }

  #disarm(): void {
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
    const withUpload = this.#drop(domError('The request timed out', 'TimeoutError'))
    this.#uncover()
    this.#cover()
    this.#emit(ending('timeout', withUpload), 0, true)
  }

  // ─── Holding native events, and the verdict ─────────────────────────────────────────────────────

  onEvent(event: Event): void {
    const type = event.type
    const mode = this.#mode
    if (this.#stale(type, mode)) return
    if (type === 'loadend') this.#inFlight = false
    // Headers received (readystatechange 2), or the request ended without them.
    if (this.#untrack && type !== 'loadstart' && type !== 'progress') this.#stopTracking()
    if (mode === PASS || mode === RELEASE || mode === GATE) return
    if (mode === QUIET || mode === SYNTH || mode === UNSENT) {
      event.stopImmediatePropagation()
      return
    }
    if (mode === GUARD && !this.#startsHolding(event)) return
    event.stopImmediatePropagation()
    const state = this.#get('readyState') as number
    if (mode === REPLAY) {
      if (type === 'loadstart' || (type === 'readystatechange' && state === 1)) return
      if (type === 'readystatechange' && state === 2)
        this.#readableBody(this.#get('status'), this.#call('getResponseHeader', 'content-type'))
    }
    this.#held!.push([event, state])
    if (type === 'error' || type === 'timeout' || type === 'load') this.#ended = type
    if (type === 'loadend') this.#decide()
  }

  /**
   * An earlier request's end, which the app sees as natively: it called open() from a listener of that
   * request's `load` (or readystatechange 4), and the browser still dispatches what is left of it (Chromium,
   * Firefox and WebKit: the `loadend` after `load`; Firefox and WebKit: `load` and `loadend` after
   * readystatechange 4). The request now watched ends only at DONE.
   */
  #stale(type: string, mode: number): boolean {
    return (
      (mode === GUARD || mode === HOLD || mode === REPLAY) &&
      (type === 'loadend' || ENDS.includes(type)) &&
      this.#get('readyState') !== 4
    )
  }

  /** A guarded request's event: false to let it through, true once it must be held (covers on). */
  #startsHolding(event: Event): boolean {
    const type = event.type
    if (type === 'loadstart') {
      if (this.#skipLoadstart) {
        this.#skipLoadstart = false
        event.stopImmediatePropagation()
      }
      return false
    }
    if (type === 'readystatechange') {
      const state = this.#get('readyState')
      if (state < 2) return false
      if (state === 2) {
        const [snapshot] = this.#snapshot(false)
        if (this.#shared.engine.clearsEarly(snapshot, this.#facts())) {
          this.#mode = PASS
          return false
        }
        this.#readableBody(snapshot.status, snapshot.contentType)
      }
      if (state === 3) return false
    } else if (type !== 'error' && type !== 'load' && type !== 'loadend' && type !== 'timeout') return false
    this.#mode = HOLD
    this.#held = []
    this.#visible = 1
    this.#cover()
    return true
  }

  #facts(): RequestFacts {
    const accept = headerValue(this.#headers ?? [], 'accept')
    return { url: this.#url, method: this.#method, accept, inScope: true }
  }

  /**
   * What detection sees, read from the native getters (no app code runs while covers are off), and a
   * blob body to peek at (asynchronously) before judging.
   */
  #snapshot(withBody: boolean): [ResponseSnapshot, Blob | undefined] {
    const xhr = this.#xhr
    const covered = this.#mode !== GUARD
    if (covered) this.#uncover()
    const url = xhr.responseURL
    const snapshot: ResponseSnapshot = {
      status: xhr.status,
      type: 'basic',
      redirected: url !== '' && url !== this.#url.split('#')[0],
      url,
      contentType: xhr.getResponseHeader('content-type'),
      location: xhr.getResponseHeader('location'),
    }
    let blob: Blob | undefined
    if (withBody && needsPeek(snapshot.status, snapshot.contentType)) {
      const type = this.#get('responseType')
      const response: unknown = isText(type) ? null : this.#get('response')
      if (isText(type)) snapshot.bodyPeek = xhr.responseText.slice(0, PEEK_BYTES)
      else if (type === 'blob' && response) blob = response as Blob
      else if (type === 'arraybuffer' && response instanceof ArrayBuffer)
        snapshot.bodyPeek = new TextDecoder().decode(new Uint8Array(response).subarray(0, PEEK_BYTES))
      else if (type === 'document' && response) {
        // The parsed page: its title and form keep the sign-in markers.
        const root = (response as Document).documentElement
        if (root) snapshot.bodyPeek = root.outerHTML.slice(0, PEEK_BYTES)
      }
    }
    if (covered) this.#cover()
    return [snapshot, blob]
  }

  /**
   * A `json` request answered with a page that must be read: natively its `response` is null and its text
   * unreadable, so the native type becomes `arraybuffer` (allowed at HEADERS_RECEIVED) and the app's
   * `response` is parsed from those bytes.
   */
  #readableBody(status: number, contentType: string | null): void {
    if (this.#get('responseType') !== 'json' || !needsPeek(status, contentType)) return
    try {
      this.#setType('arraybuffer')
      this.json = {}
    } catch {
      // An engine that refuses it (happy-dom) keeps the native json: judged without the body.
    }
  }

  #decide(): void {
    const ended = this.#ended
    const done = this.#replayDone
    const release = () => this.#release()
    if (ended === 'timeout') {
      if (done) done(null)
      else release()
      return
    }
    this.#arm()
    const [snapshot, blob] =
      ended === 'error' ? [networkErrorSnapshot(this.#url), undefined] : this.#snapshot(true)
    const gen = this.#gen
    const facts = this.#facts()
    const { engine } = this.#shared
    Promise.resolve(
      blob
        ?.slice(0, PEEK_BYTES)
        .text()
        .then(
          (text) => {
            snapshot.bodyPeek = text
          },
          () => {},
        ),
    )
      .then(() => engine.judge(snapshot, facts, undefined, this.#sentAt))
      .then(
        (error) => {
          if (gen !== this.#gen) return
          if (done) {
            // A replay that lost its session again rejects: the coordinator starts nothing for it.
            this.#replayDone = null
            return done(error)
          }
          if (!error) return release()
          this.#recover(error)
        },
        () => {
          if (gen === this.#gen) (done ?? release)(null)
        },
      )
  }

  #recover(error: AuthRequiredError): void {
    const gen = this.#gen
    this.#controller ??= new AbortController()
    this.#shared.engine
      .recover<void>(error, {
        facts: this.#facts(),
        sentAt: this.#sentAt,
        signal: this.#controller.signal,
        notReplayable: null,
        send: () => (gen === this.#gen ? this.#replay() : Promise.reject(aborted())),
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
      this.#ended = null
      this.#uncover()
      try {
        this.#call('open', ...this.#openArgs!)
        if (this.json) this.#restoreJson()
        for (const [name, value] of this.#headers!) this.#call('setRequestHeader', name, value)
        this.#cover()
        this.#go(this.#body, REPLAY)
      } catch (error) {
        this.#inFlight = false
        this.#cover()
        this.#replayDone = null
        reject(error)
      }
    })
  }

  // ─── Handing events to the app ──────────────────────────────────────────────────────────────────

  #release(): void {
    const xhr = this.#xhr
    this.#disarm()
    const held = this.#held ?? []
    this.#held = null
    const gen = this.#gen
    this.#mode = RELEASE
    this.#uncover()
    Object.defineProperty(xhr, 'readyState', this.#shared.covers.readyState!)
    try {
      let last = ''
      for (const [event, state, toUpload] of held) {
        if (gen !== this.#gen) {
          // Re-opened from a listener (reuse): this request's events end, but for the `loadend` that
          // natively follows its end event, which the app then sees with the new request's state.
          if (event.type === 'loadend' && ENDS.includes(last)) xhr.dispatchEvent(copyEvent(event))
          break
        }
        this.#visible = state
        if (toUpload) xhr.upload.dispatchEvent(copyEvent(event))
        else {
          last = event.type
          xhr.dispatchEvent(copyEvent(event))
        }
      }
    } finally {
      if (gen === this.#gen) {
        delete (xhr as unknown as Record<string, unknown>).readyState
        this.#mode = PASS
      }
    }
  }

  /** The lost session could not be saved: complete as a 401 with the native event sequence. */
  #complete(error: AuthRequiredError): void {
    this.#disarm()
    this.#held = null
    this.#visible = 1
    const body = authRequiredBody(error.reason)
    this.#synthetic = { body, reason: error.reason }
    this.#shared.engine.guarded.set(this.#xhr, error)
    this.#uncover()
    this.#cover()
    // An upload the app saw start and not end (at the gate, or a failed attempt's) was, as far as the app
    // knows, sent in full before the answer.
    const total = this.#uploadTotal
    this.#uploadTotal = -1
    this.#emit(completion(total >= 0), body.length, true, total)
  }

  /**
   * Dispatch SDK-made events under the covers (see `ending`), `length` the response's size and `size` the
   * upload's; `final` keeps the covers (synthetic 401 or timeout).
   */
  #emit(steps: (string | number)[], length: number, final: boolean, size = 0): void {
    const xhr = this.#xhr
    const gen = this.#gen
    // Status 0 and no response while an abort's events run, whatever the engine's native object says.
    if (!final) this.#cover()
    this.#mode = RELEASE
    try {
      let last: string | number = ''
      for (const step of steps) {
        if (gen !== this.#gen) {
          // As in #release: the `loadend` after an end event the app re-opened from still comes.
          if (step === 'loadend' && typeof last === 'string' && ENDS.includes(last))
            progress(xhr, step, length)
          break
        }
        last = step
        if (typeof step === 'number') {
          this.#visible = step
          xhr.dispatchEvent(new Event('readystatechange'))
        } else if (step.startsWith('upload.')) progress(xhr.upload, step.slice(7), size)
        else progress(xhr, step, length)
      }
    } finally {
      if (gen === this.#gen) {
        if (!final) this.#uncover()
        this.#mode = final ? SYNTH : PASS
      }
    }
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
  const proto = Native.prototype
  // happy-dom and other stand-ins may have no `timeout` at all: then the SDK's own timer is all there is.
  let owner: object | null = proto
  while (owner && !Object.getOwnPropertyDescriptor(owner, 'timeout')?.set)
    owner = Object.getPrototypeOf(owner)
  const requests = new WeakMap<Xhr, XhrState>()
  const of = (xhr: Xhr): XhrState => requests.get(xhr)!
  const shared: Shared = {
    engine,
    proto,
    native: nativeMembers(proto),
    owner,
    covers: XhrState.covers(of),
    listener(event) {
      of(this).onEvent(event)
    },
  }

  class XMLHttpRequest extends Native {
    #r = new XhrState(this, shared)

    constructor() {
      super()
      requests.set(this, this.#r)
    }

    override get upload(): XMLHttpRequestUpload {
      return this.#r.tap(super.upload)
    }

    override get timeout(): number {
      return this.#r.timeout
    }

    override set timeout(ms: number) {
      this.#r.setTimeoutMs(ms)
    }

    override get responseType(): XMLHttpRequestResponseType {
      return this.#r.json ? 'json' : super.responseType
    }

    override set responseType(type: XMLHttpRequestResponseType) {
      super.responseType = type
    }

    override get response(): unknown {
      const json = this.#r.json
      if (!json) return super.response
      if (this.readyState !== 4) return null
      if (!('value' in json)) json.value = parseJson(super.response)
      return json.value
    }

    override open(...args: [string, string | URL, boolean?, (string | null)?, (string | null)?]): void {
      this.#r.open(args)
    }

    override setRequestHeader(name: string, value: string): void {
      this.#r.setRequestHeader(name, value)
    }

    override send(body?: Body): void {
      this.#r.send(body)
    }

    override abort(): void {
      this.#r.abort()
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
