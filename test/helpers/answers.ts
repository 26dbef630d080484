import { HttpResponse } from 'msw'
import { OAUTH2_FORBIDDEN_PAGE, OAUTH2_SIGN_IN_PAGE } from './fixtures'

export const html = (body: string, status: number): Response =>
  new HttpResponse(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } })

/**
 * What a signed-out oauth2-proxy (or what sits around it) answers, by the test case named in the URL
 * (`/api/<case>`); undefined for any other name, which the upstream answers.
 */
export const lostSessionAnswer = (name: string): Response | undefined => {
  switch (name) {
    case 'unauthorized':
      return HttpResponse.json({}, { status: 401 })
    case 'login-page':
      return html(OAUTH2_SIGN_IN_PAGE, 403)
    case 'login-page-200':
      return html(OAUTH2_SIGN_IN_PAGE, 200)
    case 'sign-in-redirect':
      return new HttpResponse(null, { status: 302, headers: { location: '/oauth2/sign_in' } })
    case 'header-overflow':
      return new HttpResponse(null, { status: 431 })
    case 'network-error':
      return HttpResponse.error()
    case 'forbidden':
      return html(OAUTH2_FORBIDDEN_PAGE, 403)
    case 'server-error':
      return HttpResponse.json({ boom: true }, { status: 500 })
    default:
      return undefined
  }
}

/** The rejection of `p`; fails the test if it resolves. */
export const rejectionOf = (p: Promise<unknown>): Promise<Record<string, any>> =>
  p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e as Record<string, any>,
  )

/**
 * The `AuthRequiredError` behind the SDK's synthetic 401 `Response` (its brand), or the value itself:
 * `p.then(lostOrValue, (e) => e)` gives a test what `p.catch((e) => e)` gave while fetch rejected.
 */
export const lostOrValue = (value: unknown): unknown =>
  (typeof value === 'object' && value !== null
    ? (value as Record<symbol, unknown>)[Symbol.for('ajax-reauth.auth-required')]
    : undefined) ?? value
