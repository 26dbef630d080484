/**
 * `dist/ajax-reauth-callback.global.min.js`: the callback page's one script tag. It tells the window
 * that started the re-login that the flow landed, and closes the popup; it defines no global.
 */
import { handleReauthCallback } from './relogin/callback'

handleReauthCallback()
