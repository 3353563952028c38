// Every key type of `--key-type`, end to end: a CA and a leaf of that type, checked by openssl and
// by a real TLS 1.3 and TLS 1.2 handshake on loopback (Node's TLS stack, the one grpc-js uses).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { SecureVersion } from 'node:tls';
import { KEY_TYPES } from '@sigil/pki';
import { certificateText, openssl, opensslVerify, sigil, temporaryDirectory } from './support';
import { startTlsServer } from './certs-tls-server';

const tmp = temporaryDirectory('certs-key-types');
afterAll(() => tmp.remove());

const OPENSSL_KEY_TEXT: Record<string, RegExp> = {
  'ec-p256': /ASN1 OID: prime256v1/,
  'ec-p384': /ASN1 OID: secp384r1/,
  'rsa-2048': /Public-Key: \(2048 bit\)/,
  'rsa-3072': /Public-Key: \(3072 bit\)/,
  ed25519: /Public Key Algorithm: ED25519/,
};

function tlsHandshake(
  port: number,
  ca: string,
  version: SecureVersion,
): Promise<{ authorized: boolean; protocol: string | null }> {
  return new Promise((done, fail) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(ca),
      servername: 'localhost',
      minVersion: version,
      maxVersion: version,
    });
    socket.once('secureConnect', () => {
      done({ authorized: socket.authorized, protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.once('error', fail);
  });
}

describe.each(KEY_TYPES)('--key-type %s', (keyType) => {
  const ca = join(tmp.dir, `${keyType}-ca`);
  const leaf = join(tmp.dir, `${keyType}-leaf`);

  beforeAll(async () => {
    const init = await sigil([
      'ca',
      'init',
      '--out',
      ca,
      '--trust-domain',
      'example.org',
      '--key-type',
      keyType,
    ]);
    expect(init.stdout).toContain(`(${keyType}, `);
    const issue = await sigil([
      'certs',
      'issue',
      '--ca',
      ca,
      '--out',
      leaf,
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--dns',
      'localhost',
      '--key-type',
      keyType,
    ]);
    expect(issue.code).toBe(0);
  });

  it('writes a CA and a leaf of that type that openssl verifies', () => {
    expect(certificateText(join(ca, 'ca.crt'))).toMatch(OPENSSL_KEY_TEXT[keyType]!);
    expect(certificateText(join(leaf, 'tls.crt'))).toMatch(OPENSSL_KEY_TEXT[keyType]!);
    expect(
      opensslVerify(join(leaf, 'ca.crt'), join(leaf, 'tls.crt'), { purpose: 'sslserver' }),
    ).toContain(': OK');
    const certificate = new X509Certificate(readFileSync(join(leaf, 'tls.crt')));
    expect(openssl('pkey', '-in', join(leaf, 'tls.key'), '-pubout')).toBe(
      certificate.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
  });

  it.each<SecureVersion>(['TLSv1.3', 'TLSv1.2'])(
    'serves a verified %s handshake with Node (grpc-js TLS)',
    async (version) => {
      const server = await startTlsServer({
        cert: join(leaf, 'tls.crt'),
        key: join(leaf, 'tls.key'),
      });
      try {
        expect(await tlsHandshake(server.port, join(leaf, 'ca.crt'), version)).toEqual({
          authorized: true,
          protocol: version,
        });
      } finally {
        await server.close();
      }
    },
  );
});

describe('csr sign and the key types', () => {
  it.each([
    ['P-384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']],
    ['RSA-3072', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072']],
    ['Ed25519', ['-algorithm', 'ED25519']],
  ])('certifies an openssl %s CSR (a P-384 CSR was refused as weak)', async (name, keyArgs) => {
    const ca = join(tmp.dir, 'ec-p256-ca');
    const key = join(tmp.dir, `${name}.key`);
    const csr = join(tmp.dir, `${name}.csr`);
    openssl('genpkey', ...keyArgs, '-out', key);
    openssl('req', '-new', '-key', key, '-subj', '/CN=w', '-out', csr);
    const out = join(tmp.dir, `${name}.crt`);
    const run = await sigil([
      'csr',
      'sign',
      '--ca',
      ca,
      '--csr',
      csr,
      '--spiffe-id',
      'spiffe://example.org/w',
      '--out',
      out,
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(opensslVerify(join(ca, 'ca.crt'), out)).toContain(': OK');
  });

  it('still refuses a weak CSR key, saying which', async () => {
    const key = join(tmp.dir, 'weak.key');
    const csr = join(tmp.dir, 'weak.csr');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', key);
    openssl('req', '-new', '-key', key, '-subj', '/CN=w', '-out', csr);
    const run = await sigil([
      'csr',
      'sign',
      '--ca',
      join(tmp.dir, 'ec-p256-ca'),
      '--csr',
      csr,
      '--spiffe-id',
      'spiffe://example.org/w',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unsupported or weak key type RSA-1024');
  });
});
