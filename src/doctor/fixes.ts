/** The changes the doctor proposes, as ready-to-paste snippets. */
import type { BuiltinProfileName } from '../profiles/names'

/** `--api-route` for the URL's first path segment (`/api/items` → `^/api/`). */
export const apiPrefix = (url: URL): string => {
  const seg = url.pathname.split('/').filter(Boolean)[0]
  return seg ? `^/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/` : '^/api/'
}

export const NGINX_FIX = `# nginx (auth_request): keep the redirect for page loads only
# in http { }:
map $http_accept $oauth2_page_load { default 0; "~text/html" 1; }
# in server { }, instead of your @oauth2_signin:
location @oauth2_signin {
  if ($oauth2_page_load = 0) { return 401; }
  return 302 /oauth2/start?rd=$request_uri;
}`
/**
 * Caddy sorts the directives of a block by its own order, \`redir\` before \`respond\`: a \`respond @ajax 401\`
 * written before the \`redir\` never runs. Matching the page loads on the \`redir\` leaves \`respond\` the rest.
 */
export const CADDY_FIX = `# Caddy (forward_auth): redirect page loads only; background requests get the 401
forward_auth <oauth2-proxy host:port> {
	uri /oauth2/auth
	@error status 401
	handle_response @error {
		@page header Accept *text/html*
		redir @page /oauth2/sign_in?rd={scheme}://{hostport}{uri}
		respond 401
	}
}`
export const INGRESS_FIX = `# ingress-nginx: a second Ingress for the API paths with auth-url and WITHOUT auth-signin
nginx.ingress.kubernetes.io/auth-url: "https://$host/oauth2/auth"
# (no nginx.ingress.kubernetes.io/auth-signin: the 401 from /oauth2/auth then reaches the app)`
export const TRAEFIK_FIX = `# Traefik: forwardAuth (address: http://oauth2-proxy:4180/oauth2/auth) answers 401 by itself;
# attach the errors middleware (status 401 → /oauth2/sign_in) to the page routers only,
# not to the API router (e.g. PathPrefix(\`/api\`)), so the API's 401 reaches the app.`

/** The re-login strategy that works for each proxy without a click. */
export const RELOGIN: Record<BuiltinProfileName, 'iframe' | 'popup'> = {
  'oauth2-proxy': 'iframe',
  pomerium: 'iframe',
  authelia: 'iframe',
  'google-iap': 'popup',
  'cloudflare-access': 'iframe',
  'azure-easy-auth': 'iframe',
}
