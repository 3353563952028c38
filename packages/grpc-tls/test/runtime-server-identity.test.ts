// The client's check of the server by SPIFFE ID applies the X509-SVID leaf rules (sections 3.1,
// 4.1 and 4.3) in a real handshake: a certificate signed by the trusted CA and carrying an
// expected SPIFFE ID is still refused as the server when it is no workload leaf.
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@sigil/pki';
import { createMemoryLogger, startEchoServer } from '@sigil/testing';
import { createClientCredentials, loadClientTlsConfig } from '../src';
import { whoAmI, whoAmIFails } from './support/echo-calls';
import type { Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

let pki: Pki;
let client: IssuedCertificate;
const dir = tempDir();
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await createPki();
  client = await pki.issue({
    spiffeId: 'spiffe://example.org/svc/client',
    dnsNames: [],
    ipAddresses: [],
  });
  writePlainSecret(join(dir.path, 'client'), identityFiles(client));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dir.remove());

let counter = 0;
/** A server certificate with the given extensions, signed by the trusted CA (openssl: pki refuses to issue these). */
function forge(extensions: string[]): { chainPem: string; privateKeyPem: string; serial: string } {
  const work = join(dir.path, `forged-${(counter += 1)}`);
  execFileSync('mkdir', ['-p', work]);
  const path = (name: string) => join(work, name);
  writeFileSync(path('ca.crt'), pki.ca.certificatePem);
  writeFileSync(path('ca.key'), pki.ca.privateKeyPem);
  writeFileSync(path('ext.cnf'), extensions.join('\n'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    path('key.pem'),
  );
  openssl('req', '-new', '-key', path('key.pem'), '-subj', '/CN=forged', '-out', path('csr.pem'));
  openssl(
    'x509',
    '-req',
    '-in',
    path('csr.pem'),
    '-days',
    '1',
    '-CA',
    path('ca.crt'),
    '-CAkey',
    path('ca.key'),
    '-set_serial',
    `0x5${randomBytes(7).toString('hex')}f`,
    '-extfile',
    path('ext.cnf'),
    '-out',
    path('cert.pem'),
  );
  const chainPem = readFileSync(path('cert.pem'), 'utf8');
  return {
    chainPem,
    privateKeyPem: readFileSync(path('key.pem'), 'utf8'),
    serial: new X509Certificate(chainPem).serialNumber,
  };
}

const LEAF = 'basicConstraints = critical, CA:FALSE';
const USAGE = 'keyUsage = critical, digitalSignature';
const EKU = 'extendedKeyUsage = serverAuth, clientAuth';
const SAN = (uris: string) => `subjectAltName = ${uris}, DNS:localhost, IP:127.0.0.1`;
const WORKLOAD = 'URI:spiffe://example.org/svc/echo';

async function presentedBy(forged: { chainPem: string; privateKeyPem: string }) {
  const running = await startEchoServer({
    credentials: grpc.ServerCredentials.createSsl(
      Buffer.from(pki.ca.bundlePem),
      [
        {
          cert_chain: Buffer.from(forged.chainPem),
          private_key: Buffer.from(forged.privateKeyPem),
        },
      ],
      false,
    ),
  });
  cleanups.push(() => running.close());
  return running;
}

async function dial(expectedServerId: string) {
  const tls = await createClientCredentials(
    loadClientTlsConfig({
      dir: join(dir.path, 'client'),
      expectedServerId,
      watch: false,
      pollIntervalMs: 0,
      reloadOnSighup: false,
    }),
    { logger: createMemoryLogger().logger },
  );
  cleanups.push(() => tls.close());
  return tls;
}

it('accepts the forging baseline: a workload leaf by the same recipe', async () => {
  const running = await presentedBy(forge([LEAF, USAGE, EKU, SAN(WORKLOAD)]));
  const tls = await dial('spiffe://example.org/svc/echo');
  // The server asks for no client certificate: the call succeeds with an anonymous caller.
  expect(await whoAmI(running.address, tls.credentials)).toEqual({});
});

it.each([
  [
    'CA:TRUE (4.1)',
    [
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, digitalSignature, keyCertSign',
      EKU,
      SAN(WORKLOAD),
    ],
    'is a CA certificate',
  ],
  [
    'keyCertSign on a non-CA (4.3)',
    [LEAF, 'keyUsage = critical, digitalSignature, keyCertSign', EKU, SAN(WORKLOAD)],
    'keyCertSign',
  ],
  [
    'cRLSign (4.3)',
    [LEAF, 'keyUsage = critical, digitalSignature, cRLSign', EKU, SAN(WORKLOAD)],
    'cRLSign',
  ],
  [
    'no digitalSignature (4.3)',
    [LEAF, 'keyUsage = critical, keyAgreement', EKU, SAN(WORKLOAD)],
    'digitalSignature',
  ],
  [
    'two URI SANs (2)',
    [LEAF, USAGE, EKU, SAN(`${WORKLOAD}, URI:spiffe://example.org/svc/other`)],
    'URI SAN',
  ],
] as const)(
  'refuses a server certificate with %s carrying the expected SPIFFE ID, naming the rule',
  async (_what, extensions, rule) => {
    const forged = forge([...extensions]);
    const running = await presentedBy(forged);
    for (const expected of ['spiffe://example.org/svc/echo', 'spiffe://example.org']) {
      const tls = await dial(expected);
      const error = await whoAmIFails(running.address, tls.credentials);
      expect(error.code).toBe(grpc.status.UNAVAILABLE);
      expect(error.details).toContain(`is not an X509-SVID leaf (X509-SVID rejected`);
      expect(error.details).toContain(rule);
    }
  },
);

it('never takes the trust-domain ID spiffe://example.org (no path) as the server, not even for an expected trust domain (3.1)', async () => {
  const running = await presentedBy(forge([LEAF, USAGE, EKU, SAN('URI:spiffe://example.org')]));
  for (const expected of ['spiffe://example.org', 'spiffe://example.org/svc/echo']) {
    const tls = await dial(expected);
    const error = await whoAmIFails(running.address, tls.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/is not an X509-SVID leaf \(X509-SVID rejected: .*path/);
  }
});
