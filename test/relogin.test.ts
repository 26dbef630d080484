// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isReauthError } from '../src/errors'
import { oauth2Proxy } from '../src/profiles'
import {
  buildReturnTo,
  createLandingCheck,
  createStrategy,
  handleReauthCallback,
  InteractionRequiredError,
  iframeStrategy,
  isInteractionRequiredError,
  isSafeReturnPath,
  popupStrategy,
  prepareRelogin,
  redirectStrategy,
  type StrategyContext,
} from '../src/relogin'

const profile = oauth2Proxy()
const origin = () => location.origin

const context = (over: Partial<StrategyContext> = {}): StrategyContext => ({
  signal: new AbortController().signal,
  error: new Error('lost session'),
  url: `${origin()}/oauth2/start?rd=%2Fcb.html`,
  returnTo: '/cb.html',
  isLanding: createLandingCheck({ origin: origin(), profile, callbackPath: '/cb.html' }),
  ...over,
})

const callbackMessage = { source: 'ajax-reauth', v: 1, kind: 'callback', href: 'x' }

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
  document.body.innerHTML = ''
})

describe('return path (rd)', () => {
  it.each([
    '//evil.example',
    '//evil.example/x',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    'evil.example',
    '',
  ])('rejects %j', (path) => {
    expect(isSafeReturnPath(path)).toBe(false)
    expect(buildReturnTo(path)).toBe(`${location.pathname}${location.search}`)
  })

  it.each(['/', '/cb.html', '/a/b?c=d&e=%2F%2Fx', '/a//b'])('accepts %j', (path) => {
    expect(isSafeReturnPath(path)).toBe(true)
    expect(buildReturnTo(path)).toBe(path)
  })

  it('without a callbackPath returns the current path and query, never a protocol-relative one', () => {
    history.replaceState(null, '', '/orders/7?tab=2#x')
    expect(buildReturnTo(undefined)).toBe('/orders/7?tab=2')
    // `/.//x` is how a same-origin URL gets the pathname `//x`.
    history.replaceState(null, '', '/.//evil.example/x?y=1')
    expect(location.pathname.startsWith('//')).toBe(true)
    expect(buildReturnTo(undefined)).toBe('/evil.example/x?y=1')
    history.replaceState(null, '', '/')
  })

  it('prepareRelogin builds the profile URL; redirect always returns to the current page', () => {
    history.replaceState(null, '', '/orders?page=2')
    const iframe = prepareRelogin({ relogin: 'iframe', profile, callbackPath: '/cb.html' })
    expect(iframe.url).toBe(`${origin()}/oauth2/start?rd=%2Fcb.html`)
    expect(iframe.isLanding(new URL('/cb.html', origin()))).toBe(true)
    expect(iframe.isLanding(new URL('/orders', origin()))).toBe(false)
    const redirect = prepareRelogin({ relogin: 'redirect', profile, callbackPath: '/cb.html' })
    expect(redirect.returnTo).toBe('/orders?page=2')
    expect(redirect.url).toBe(`${origin()}/oauth2/start?rd=%2Forders%3Fpage%3D2`)
    history.replaceState(null, '', '/')
  })
})

describe('landing check', () => {
  it('without a callbackPath: any same-origin page outside the proxy and its sign-in flow', () => {
    const isLanding = createLandingCheck({ origin: 'https://app.test', profile })
    expect(isLanding(new URL('https://app.test/orders'))).toBe(true)
    expect(isLanding(new URL('https://app.test/oauth2/sign_in'))).toBe(false)
    expect(isLanding(new URL('https://app.test/oauth2/callback?code=1'))).toBe(false)
    expect(isLanding(new URL('https://evil.test/orders'))).toBe(false)
  })
})

describe('iframe strategy', () => {
  it('removes its iframe and listeners when the signal aborts', async () => {
    const add = vi.spyOn(window, 'addEventListener')
    const remove = vi.spyOn(window, 'removeEventListener')
    const ctrl = new AbortController()
    const run = iframeStrategy(context({ signal: ctrl.signal, url: 'about:blank#never-loads' }))
    const frame = document.querySelector('iframe[data-ajax-reauth]')
    expect(frame).not.toBeNull()
    ctrl.abort(new Error('timeout'))
    await expect(run).rejects.toThrow('timeout')
    expect(document.querySelector('iframe')).toBeNull()
    const onMessage = add.mock.calls.find(([type]) => type === 'message')?.[1]
    expect(onMessage).toBeTypeOf('function')
    expect(remove).toHaveBeenCalledWith('message', onMessage)
  })

  it('rejects at once when already aborted, creating nothing', async () => {
    const ctrl = new AbortController()
    ctrl.abort(new Error('gone'))
    await expect(iframeStrategy(context({ signal: ctrl.signal }))).rejects.toThrow('gone')
    expect(document.querySelector('iframe')).toBeNull()
  })

  it('accepts the callback message only from its own frame and origin', async () => {
    const ctrl = new AbortController()
    const settled = vi.fn()
    const run = iframeStrategy(context({ signal: ctrl.signal, url: 'about:blank#cb' }))
    run.then(settled, settled)
    const frame = document.querySelector('iframe') as HTMLIFrameElement
    const post = (data: unknown, init: { origin: string; source: unknown }) =>
      window.dispatchEvent(new MessageEvent('message', { data, ...(init as MessageEventInit) }))
    post(callbackMessage, { origin: 'https://evil.test', source: frame.contentWindow })
    post(callbackMessage, { origin: origin(), source: window })
    post({ ...callbackMessage, source: 'other' }, { origin: origin(), source: frame.contentWindow })
    post('ajax-reauth', { origin: origin(), source: frame.contentWindow })
    await new Promise((r) => setTimeout(r, 10))
    expect(settled).not.toHaveBeenCalled()
    post(callbackMessage, { origin: origin(), source: frame.contentWindow })
    await expect(run).resolves.toBeUndefined()
    expect(document.querySelector('iframe')).toBeNull()
  })
})

describe('popup strategy', () => {
  const fakePopup = () => ({ closed: false, location: { href: 'about:blank' }, close: vi.fn() })

  it('fails at once without a user gesture and opens nothing', async () => {
    Object.defineProperty(navigator, 'userActivation', { configurable: true, value: { isActive: false } })
    const open = vi.spyOn(window, 'open')
    try {
      await expect(popupStrategy(context())).rejects.toMatchObject({ reason: 'no-user-gesture' })
      expect(open).not.toHaveBeenCalled()
    } finally {
      delete (navigator as { userActivation?: unknown }).userActivation
    }
  })

  it("reports 'popup-blocked' when window.open returns null", async () => {
    vi.spyOn(window, 'open').mockReturnValue(null)
    const error = await popupStrategy(context()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InteractionRequiredError)
    expect(error).toMatchObject({ name: 'InteractionRequiredError', reason: 'popup-blocked' })
    expect(isReauthError(error) && isInteractionRequiredError(error)).toBe(true)
  })

  it('succeeds on a landing URL, closes the popup and leaves no timer', async () => {
    vi.useFakeTimers()
    const popup = fakePopup()
    const open = vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window)
    const run = popupStrategy(context())
    expect(open).toHaveBeenCalledWith(
      expect.stringContaining('/oauth2/start'),
      'ajax-reauth',
      expect.any(String),
    )
    popup.location.href = `${origin()}/oauth2/callback?code=1`
    await vi.advanceTimersByTimeAsync(250)
    expect(popup.close).not.toHaveBeenCalled()
    // A provider page throws on access: keep polling.
    Object.defineProperty(popup, 'location', {
      configurable: true,
      get: () => {
        throw new DOMException('cross-origin', 'SecurityError')
      },
    })
    await vi.advanceTimersByTimeAsync(250)
    Object.defineProperty(popup, 'location', { configurable: true, value: { href: `${origin()}/cb.html` } })
    await vi.advanceTimersByTimeAsync(150)
    await expect(run).resolves.toBeUndefined()
    expect(popup.close).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it("reports 'popup-closed' when the user closes it", async () => {
    vi.useFakeTimers()
    const popup = fakePopup()
    vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window)
    const run = popupStrategy(context())
    const outcome = run.catch((e: unknown) => e)
    popup.closed = true
    await vi.advanceTimersByTimeAsync(300)
    expect(await outcome).toMatchObject({ reason: 'popup-closed' })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('closes the popup and clears its timer when the signal aborts', async () => {
    vi.useFakeTimers()
    const popup = fakePopup()
    vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window)
    const remove = vi.spyOn(window, 'removeEventListener')
    const ctrl = new AbortController()
    const run = popupStrategy(context({ signal: ctrl.signal }))
    ctrl.abort(new Error('timeout'))
    await expect(run).rejects.toThrow('timeout')
    expect(popup.close).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
    expect(remove).toHaveBeenCalledWith('message', expect.any(Function))
  })
})

describe('redirect strategy', () => {
  beforeEach(() => {
    vi.spyOn(location, 'assign').mockImplementation(() => {})
  })

  it('navigates and settles only when the signal aborts', async () => {
    const ctrl = new AbortController()
    const settled = vi.fn()
    const run = redirectStrategy(context({ signal: ctrl.signal, url: '/oauth2/start?rd=%2Forders' }))
    run.then(settled, settled)
    expect(location.assign).toHaveBeenCalledWith(`${origin()}/oauth2/start?rd=%2Forders`)
    await new Promise((r) => setTimeout(r, 20))
    expect(settled).not.toHaveBeenCalled()
    ctrl.abort(new Error('timeout'))
    await expect(run).rejects.toThrow('timeout')
  })

  describe('at most 3 per tab within a minute; never unbounded', () => {
    const attempt = () =>
      redirectStrategy(context({ signal: AbortSignal.timeout(10), url: '/oauth2/start?rd=%2Forders' })).catch(
        (e: unknown) => e,
      )
    beforeEach(() => sessionStorage.clear())
    afterEach(() => vi.unstubAllGlobals())

    it('with sessionStorage: 3 navigate, the 4th asks for a click', async () => {
      const outcomes = [await attempt(), await attempt(), await attempt(), await attempt()]
      expect(location.assign).toHaveBeenCalledTimes(3)
      expect(outcomes[3]).toMatchObject({ name: 'InteractionRequiredError', reason: 'too-many-redirects' })
    })

    const broken: [string, () => void][] = [
      [
        'full (setItem throws QuotaExceededError)',
        () => {
          vi.stubGlobal('sessionStorage', {
            getItem: () => null,
            setItem: () => {
              throw new DOMException('quota', 'QuotaExceededError')
            },
          })
        },
      ],
      [
        'disabled (reading sessionStorage throws SecurityError)',
        () => {
          vi.stubGlobal('sessionStorage', undefined)
          Object.defineProperty(globalThis, 'sessionStorage', {
            configurable: true,
            get: () => {
              throw new DOMException('denied', 'SecurityError')
            },
          })
        },
      ],
      ['missing', () => vi.stubGlobal('sessionStorage', undefined)],
    ]
    it.each(broken)(
      'with sessionStorage %s: no redirect can be counted across page loads, none is made',
      async (_, breakIt) => {
        breakIt()
        const outcomes = []
        for (let i = 0; i < 6; i++) outcomes.push(await attempt())
        expect(location.assign).not.toHaveBeenCalled()
        for (const o of outcomes)
          expect(o).toMatchObject({ name: 'InteractionRequiredError', reason: 'too-many-redirects' })
      },
    )
  })

  it('refuses a javascript: URL', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile URL, not a template
    await expect(redirectStrategy(context({ url: 'javascript:alert(`${1}`)' }))).rejects.toSatisfy(
      isReauthError,
    )
    expect(location.assign).not.toHaveBeenCalled()
  })
})

describe('custom strategy', () => {
  it('gets signal, error, url and the fetch under the SDK; its promise is the outcome', async () => {
    const fn = vi.fn(async () => {})
    const raw = vi.fn(async () => new Response(null))
    const ctx = { ...context(), fetch: raw }
    await expect(createStrategy(fn)(ctx)).resolves.toBeUndefined()
    expect(fn).toHaveBeenCalledWith({ signal: ctx.signal, error: ctx.error, url: ctx.url, fetch: raw })
    await expect(
      createStrategy(async () => {
        throw new Error('dialog cancelled')
      })(context()),
    ).rejects.toThrow('dialog cancelled')
  })

  it('settles on abort even if the function ignores the signal', async () => {
    const ctrl = new AbortController()
    const run = createStrategy(() => new Promise(() => {}))(context({ signal: ctrl.signal }))
    ctrl.abort(new Error('timeout'))
    await expect(run).rejects.toThrow('timeout')
  })

  it('maps the option names', () => {
    expect(createStrategy('iframe')).toBe(iframeStrategy)
    expect(createStrategy('popup')).toBe(popupStrategy)
    expect(createStrategy('redirect')).toBe(redirectStrategy)
  })
})

describe('handleReauthCallback', () => {
  it('posts to the opener with its own origin as targetOrigin, then closes the popup', () => {
    const opener = { postMessage: vi.fn() }
    vi.spyOn(window, 'opener', 'get').mockReturnValue(opener)
    const close = vi.spyOn(window, 'close').mockImplementation(() => {})
    handleReauthCallback()
    expect(opener.postMessage).toHaveBeenCalledWith(
      { source: 'ajax-reauth', v: 1, kind: 'callback', href: location.href },
      location.origin,
    )
    expect(close).toHaveBeenCalled()
  })

  it('does nothing in a top-level page nobody opened', () => {
    vi.spyOn(window, 'opener', 'get').mockReturnValue(null)
    const close = vi.spyOn(window, 'close').mockImplementation(() => {})
    const post = vi.spyOn(window, 'postMessage')
    handleReauthCallback()
    expect(post).not.toHaveBeenCalled()
    expect(close).not.toHaveBeenCalled()
  })
})
