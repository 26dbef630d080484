import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'

// Both through require: one copy of graphql (an ESM and a CJS copy refuse each other's schema).
const require = createRequire(import.meta.url)
const { buildSchema } = require('graphql') as typeof import('graphql')
const { createHandler } = require('graphql-http') as typeof import('graphql-http')

/** The matrix's GraphQL upstream (graphql-http 1.23 over a one-field schema): `{ items { id name } }`. */
const schema = buildSchema('type Item { id: Int!, name: String! }\ntype Query { items: [Item!]! }')
const handler = createHandler({
  schema,
  rootValue: {
    items: () => [
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ],
  },
})

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** An upstream route (`stack.upstream.routes`): the request through graphql-http, its answer as is. */
export async function graphqlRoute(
  req: IncomingMessage,
): Promise<{ type: string; body: string; status: number }> {
  const [body, init] = await handler({
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers as Record<string, string>,
    body: () => readBody(req),
    raw: req,
    context: undefined,
  })
  return { type: init.headers?.['content-type'] ?? 'text/plain', body: body ?? '', status: init.status }
}
