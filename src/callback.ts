/**
 * `ajax-reauth/callback`: all a static callback page (`callbackPath`) needs, without the SDK (well
 * under 1 KB). The `<script>` file `dist/ajax-reauth-callback.global.min.js` runs it when it loads.
 */
export { handleReauthCallback } from './relogin/callback'
export type { CallbackMessage } from './relogin/landing'
