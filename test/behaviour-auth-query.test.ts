import { getResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { oauth2ProxyHandlers } from '../src/testing/index.js'

// oauth2-proxy's authOnlyAuthorize (oauthproxy.go): `/oauth2/auth` and the proxy path check the
// request's allowed_groups / allowed_email_domains / allowed_emails query constraints and answer
// `403 Forbidden\n` text/plain when the signed-in user fails them (e2e/real-conformance.e2e.ts).
const APP = 'http://app.test'

async function get(path: string) {
  const p = oauth2ProxyHandlers({ baseUrl: APP })
  await p.session.reset()
  const res = await getResponse(p.handlers, new Request(APP + path))
  return res
    ? { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
    : 'passed'
}

describe('oauth2-proxy behaviour: allowed_* query constraints', () => {
  it.each([
    '/oauth2/auth?allowed_emails=bob@example.com',
    '/oauth2/auth?allowed_email_domains=example.org',
    '/oauth2/auth?allowed_groups=admins',
    '/api/items?allowed_emails=bob@example.com,carol@example.com',
  ])('%s → 403 Forbidden text/plain', async (path) => {
    expect(await get(path)).toEqual({ status: 403, type: 'text/plain; charset=utf-8', body: 'Forbidden\n' })
  })

  it.each([
    '/oauth2/auth?allowed_emails=bob@example.com,alice@example.com',
    '/oauth2/auth?allowed_email_domains=example.com',
  ])('%s → 202 for alice@example.com', async (path) => {
    expect(await get(path)).toMatchObject({ status: 202 })
  })

  it('the proxy path lets alice through when the constraint names her', async () => {
    expect(await get('/api/items?allowed_emails=alice@example.com')).toBe('passed')
  })
})
