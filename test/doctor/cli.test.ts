import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/doctor/main.js'

async function run(...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

describe('ajax-reauth CLI', () => {
  it('--help exits 0 and names every option', async () => {
    const r = await run('--help')
    expect(r.code).toBe(0)
    for (const o of ['--cookie', '--proxy', '--origin', '--json', '--timeout']) expect(r.out).toContain(o)
  })

  it.each([
    [['doctor'], 'missing <url>'],
    [['doctor', 'ftp://x'], 'not an http(s) URL'],
    [['doctor', 'http://x', '--proxy', 'nope'], 'unknown --proxy nope'],
    [['doctor', 'http://x', '--timeout', '0'], '--timeout must be'],
    [['doctor', 'http://x', '--bogus'], "Unknown option '--bogus'"],
  ])('%j exits 2 with one line', async (argv, message) => {
    const r = await run(...argv)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
    expect(r.err.split('\n')).toHaveLength(1)
  })

  it('an unreachable host: exit 2, one line, no stack trace', async () => {
    const port = await closedPort()
    const r = await run('doctor', `http://127.0.0.1:${port}/api/items`, '--timeout', '2000')
    expect(r.code).toBe(2)
    expect(r.err).toBe(
      `ajax-reauth doctor http://127.0.0.1:${port}/api/items: could not check: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}`,
    )
    expect(r.out).toBe('')
  })

  it('--json on failure still prints the report', async () => {
    const port = await closedPort()
    const r = await run('doctor', `http://127.0.0.1:${port}/`, '--json')
    expect(r.code).toBe(2)
    expect(JSON.parse(r.out)).toMatchObject({
      schema: 1,
      verdict: 'unknown',
      failure: { kind: 'unreachable' },
    })
  })

  it('a TLS error (https to a plain http server) and a timeout: exit 2, one line each', async () => {
    const hanging: import('node:http').ServerResponse[] = []
    const server = createHttpServer((req, res) => {
      if (req.url === '/slow') hanging.push(res)
      else res.end('plain http')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    try {
      const tls = await run('doctor', `https://127.0.0.1:${port}/`, '--timeout', '2000')
      expect(tls.code).toBe(2)
      expect(tls.err).toBe(
        `ajax-reauth doctor https://127.0.0.1:${port}/: could not check: TLS error: ERR_SSL_WRONG_VERSION_NUMBER`,
      )
      expect(tls.err.split('\n')).toHaveLength(1)
      const slow = await run('doctor', `http://127.0.0.1:${port}/slow`, '--timeout', '200')
      expect(slow.code).toBe(2)
      expect(slow.err).toBe(
        `ajax-reauth doctor http://127.0.0.1:${port}/slow: could not check: timed out after 200 ms`,
      )
    } finally {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  })
})
