#!/usr/bin/env node
/** The `ajax-reauth` bin (Node only): `ajax-reauth doctor <url>`, see main.ts. */
import { main } from './main'

main(process.argv.slice(2), {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
}).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(
      `ajax-reauth doctor: internal error: ${err instanceof Error ? err.message : String(err)}\n`,
    )
    process.exitCode = 2
  },
)
