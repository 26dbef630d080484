/**
 * `npm run e2e:serve`: start the test bed by hand (for the demo or for poking at it with a
 * browser) and keep it running until Ctrl-C. Switches: POST /__admin/<action> on the app origin.
 * `E2E_TRANSPORT=h2` (or `h1-tls`): behind nginx with TLS; the test CA is printed (import it, or accept
 * the certificate in the browser).
 */
import { startStack } from './stack.js'
import { envTransport } from './tls.js'

const stack = await startStack({ transport: envTransport() })
console.log(
  `app (test proxy)   ${stack.appUrl}/app.html   (sign in: ${stack.appUrl}/oauth2/start?rd=/app.html)`,
)
console.log(`app (nginx front)  ${stack.nginxUrl ?? 'nginx missing'}`)
console.log(`OpenID provider    ${stack.idpUrl}/.well-known/openid-configuration`)
console.log(`third-party API    ${stack.thirdPartyUrl}`)
if (stack.tls) console.log(`test CA            ${stack.tls.caCert}   (curl --cacert …)`)
console.log(`admin              curl -XPOST ${stack.appUrl}/__admin/expire-session   (see e2e/README.md)`)
const stop = async () => {
  await stack.stop()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
