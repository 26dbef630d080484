// Minimal typings for the part of `accepts` (express's negotiation, over negotiator) the test bed uses.
declare module 'accepts' {
  import type { IncomingMessage } from 'node:http'

  interface Accepts {
    /** The best of `types` (extensions or MIME types, in the server's order of preference) for the request's `Accept`, or false. */
    type(types: string[]): string | false
  }
  export default function accepts(req: IncomingMessage): Accepts
}
