import { escapeHtml } from './util.js'

/**
 * oauth2-proxy's default pages (`pkg/app/pagewriter/sign_in.html`, `error.html`), trimmed to
 * the markers that matter: the SDK recognises them, so they must match the real ones.
 */

export interface SignInPageOptions {
  proxyPrefix: string
  redirect: string
  providerName: string
  version: string
  signInMessage?: string
}

export function signInPage(o: SignInPageOptions): string {
  return `<!DOCTYPE html>
<html lang="en" charset="utf-8">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
    <title>Sign In</title>
  </head>
  <body class="has-background-light">
  <section class="section">
    <div class="box block">
      <form method="GET" action="${escapeHtml(o.proxyPrefix)}/start">
        <input type="hidden" name="rd" value="${escapeHtml(o.redirect)}">
        ${o.signInMessage ? `<p class="block">${escapeHtml(o.signInMessage)}</p>` : ''}
        <button type="submit" class="button is-primary">Sign in with ${escapeHtml(o.providerName)}</button><br/>
      </form>
    </div>
  </section>
  <footer>
    Secured with <a href="https://github.com/oauth2-proxy/oauth2-proxy#oauth2_proxy">OAuth2 Proxy</a> version ${escapeHtml(o.version)}
  </footer>
  </body>
</html>
`
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
}

export interface ErrorPageOptions {
  status: number
  message: string
  redirect: string
  proxyPrefix: string
}

export function errorPage(o: ErrorPageOptions): string {
  const title = `${o.status} ${STATUS_TEXT[o.status] ?? 'Error'}`
  return `<!DOCTYPE html>
<html lang="en" charset="utf-8">
  <head>
    <meta charset="utf-8">
    <title>${title}</title>
  </head>
  <body class="has-background-light">
    <section class="section">
      <div class="box block has-text-centered">
        <h1 class="title is-1">${o.status}</h1>
        <p class="subtitle is-3">${escapeHtml(STATUS_TEXT[o.status] ?? 'Error')}</p>
        <p class="block">${escapeHtml(o.message)}</p>
        <form method="GET" action="${escapeHtml(o.redirect)}"><button type="submit">Go back</button></form>
        <form method="GET" action="${escapeHtml(o.proxyPrefix)}/sign_in"><input type="hidden" name="rd" value="${escapeHtml(o.redirect)}"><button type="submit">Sign in</button></form>
      </div>
    </section>
  </body>
</html>
`
}

/** nginx's answer when a header line exceeds `large_client_header_buffers`. */
export function nginxHeaderTooLargePage(): string {
  return `<html>
<head><title>400 Request Header Or Cookie Too Large</title></head>
<body>
<center><h1>400 Bad Request</h1></center>
<center>Request Header Or Cookie Too Large</center>
<hr><center>nginx</center>
</body>
</html>
`
}
