import { execFile } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * How the browser reaches the stack: `plain` (HTTP/1.1 without TLS, the default), `h1-tls` (nginx
 * terminates TLS, ALPN offers HTTP/1.1 only) or `h2` (nginx terminates TLS with HTTP/2).
 */
export type Transport = 'plain' | 'h1-tls' | 'h2'
export const TRANSPORTS: readonly Transport[] = ['plain', 'h1-tls', 'h2']

/** `E2E_TRANSPORT` (set per vitest project, `vitest.e2e.config.ts`), default `plain`. */
export function envTransport(env: string | undefined = process.env.E2E_TRANSPORT): Transport {
  const t = env?.trim() || 'plain'
  if (!(TRANSPORTS as readonly string[]).includes(t))
    throw new Error(`E2E_TRANSPORT: unknown "${t}" (use ${TRANSPORTS.join(', ')})`)
  return t as Transport
}

/** The test CA and one leaf for `localhost`, `127.0.0.1` and `::1`, in a temp dir. */
export interface TlsMaterial {
  dir: string
  caCert: string
  /** The leaf followed by the CA (what nginx sends). */
  chain: string
  key: string
  /** base64 SHA-256 of the leaf's SubjectPublicKeyInfo (Chromium's `--ignore-certificate-errors-spki-list`). */
  leafSpki: string
  /** The same for the CA. */
  caSpki: string
  /** Delete the files (a browser launched with them has read what it needs). */
  remove(): void
}

const spki = (pem: string): string =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64')

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

/**
 * Made per stack with the `openssl` CLI (nothing downloaded, ~0.1 s); `remove()` (the stack's `stop()`)
 * deletes the dir, and process exit if stop never ran. Two days of validity (Chromium refuses leaves
 * over 398 days).
 */
export async function tlsMaterial(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'ajax-reauth-tls-'))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  process.once('exit', remove)
  try {
    const f = (name: string) => join(dir, name)
    const openssl = (args: string[]) =>
      run('openssl', args, { cwd: dir }).catch((err: Error & { stderr?: string }) => {
        throw new Error(
          `openssl ${args[0]} failed (is openssl installed? bash scripts/setup.sh): ${err.stderr ?? err.message}`,
        )
      })
    await openssl([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=ajax-reauth e2e CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ])
    await openssl(['req', ...EC, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=localhost'])
    await writeFile(
      f('leaf.ext'),
      [
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    )
    await openssl([
      'x509',
      '-req',
      '-in',
      f('leaf.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('leaf.crt'),
      '-days',
      '2',
      '-extfile',
      f('leaf.ext'),
    ])
    const [leaf, ca] = [await readFile(f('leaf.crt'), 'utf8'), await readFile(f('ca.crt'), 'utf8')]
    await writeFile(f('chain.crt'), leaf + ca)
    return {
      dir,
      caCert: f('ca.crt'),
      chain: f('chain.crt'),
      key: f('leaf.key'),
      leafSpki: spki(leaf),
      caSpki: spki(ca),
      remove() {
        process.removeListener('exit', remove)
        remove()
      },
    }
  } catch (err) {
    remove()
    throw err
  }
}

/** How a browser is told to trust the stack's certificates (`launchBrowser(name, { tls })`). */
export interface BrowserTls {
  /** SPKI hashes Chromium accepts (`--ignore-certificate-errors-spki-list`). */
  spki: string[]
  /** Leaf chain and key files (WebKit's cookie-jar page is served over https with them). */
  cert: string
  key: string
}

export function browserTls(m: TlsMaterial): BrowserTls {
  return { spki: [m.leafSpki, m.caSpki], cert: m.chain, key: m.key }
}
