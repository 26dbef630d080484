/** Page bodies as the proxies serve them (oauth2-proxy's pkg/app/pagewriter templates, abridged). */
export const OAUTH2_SIGN_IN_PAGE = `<!DOCTYPE html>
<html lang="en" charset="utf-8">
<head><meta charset="utf-8"><title>Sign In</title></head>
<body><section class="hero"><div class="box block">
<form method="GET" action="/oauth2/start"><input type="hidden" name="rd" value="/api/items">
<button type="submit" class="button block is-primary">Sign in with OpenID Connect</button></form>
</div></section>
<footer>Secured with <a href="https://github.com/oauth2-proxy/oauth2-proxy#oauth2_proxy">OAuth2 Proxy</a> version 7.6.0</footer>
</body></html>`

/** The sign-in page rendered from `--custom-templates-dir` with every marker removed. */
export const CUSTOM_SIGN_IN_PAGE =
  '<!DOCTYPE html><html><head><title>Acme</title></head><body>Welcome</body></html>'

export const OAUTH2_FORBIDDEN_PAGE = `<!DOCTYPE html>
<html lang="en" charset="utf-8"><head><title>403 Forbidden</title></head>
<body><h1>403 Forbidden</h1><p>You do not have permission to access this resource.</p>
<footer>Secured with OAuth2 Proxy version 7.6.0</footer></body></html>`

export const NGINX_400_COOKIE = `<html>
<head><title>400 Request Header Or Cookie Too Large</title></head>
<body><center><h1>400 Bad Request</h1></center>
<center>Request Header Or Cookie Too Large</center><hr><center>nginx</center></body></html>`

export const APP_FRAGMENT = '<div class="card"><h2>Items</h2><ul><li>one</li></ul></div>'
