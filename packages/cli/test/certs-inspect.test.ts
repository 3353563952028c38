// `sigil certs inspect FILE|HOST:PORT` against files written by sigil and real TLS servers on
// loopback (one that requires a client certificate).
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { openssl, sigil, temporaryDirectory } from './support';
import { startTlsServer } from './certs-tls-server';
import type { LoopbackTlsServer } from './certs-tls-server';

const tmp = temporaryDirectory('certs-inspect');
const root = join(tmp.dir, 'root');
const mid = join(tmp.dir, 'mid');
const leaf = join(tmp.dir, 'leaf');
const client = join(tmp.dir, 'client');
const otherRoot = join(tmp.dir, 'other-root');

function sha256Of(file: string): string {
  return openssl('x509', '-in', file, '-noout', '-fingerprint', '-sha256')
    .trim()
    .replace(/^sha256 Fingerprint=/i, '')
    .toLowerCase();
}

beforeAll(async () => {
  const runs = [
    ['ca', 'init', '--out', root, '--trust-domain', 'example.org'],
    ['ca', 'init', '--out', otherRoot, '--trust-domain', 'example.org'],
    ['ca', 'init', '--intermediate', '--parent', root, '--out', mid],
    [
      'certs',
      'issue',
      '--ca',
      mid,
      '--out',
      leaf,
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--dns',
      'localhost',
      '--ip',
      '127.0.0.1',
    ],
    [
      'certs',
      'issue',
      '--ca',
      mid,
      '--out',
      client,
      '--spiffe-id',
      'spiffe://example.org/svc/cli',
      '--client',
    ],
  ];
  for (const args of runs) expect((await sigil(args)).code).toBe(0);
});
afterAll(() => tmp.remove());

describe('sigil certs inspect FILE', () => {
  it('shows subject, SANs, SPIFFE ID, usages, validity, key type and fingerprints of the whole chain', async () => {
    const run = await sigil(['certs', 'inspect', join(leaf, 'tls.crt')]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const out = run.stdout;
    expect(out).toContain(`${join(leaf, 'tls.crt')}: 2 certificates`);
    expect(out).toContain('[0] leaf');
    expect(out).toContain('  subject      CN=localhost');
    expect(out).toContain('  issuer       CN=example.org intermediate CA');
    expect(out).toContain('  SPIFFE ID    spiffe://example.org/svc/api');
    expect(out).toContain(
      '  SANs         URI:spiffe://example.org/svc/api, DNS:localhost, IP:127.0.0.1',
    );
    expect(out).toContain('  key          EC P-256');
    expect(out).toMatch(/ {2}validity {5}\S+ to \S+ \(valid\)/);
    expect(out).toContain('  basic        CA:FALSE (critical)');
    expect(out).toContain('  key usage    digitalSignature (critical)');
    expect(out).toContain('  ext. usage   serverAuth, clientAuth');
    expect(out).toContain(`  SHA-256      ${sha256Of(join(leaf, 'tls.crt'))}`);
    expect(out).toContain('[1] intermediate CA');
    expect(out).toContain('  basic        CA:TRUE, pathlen:0 (critical)');
    expect(out).toContain('  key usage    keyCertSign, cRLSign (critical)');
    expect(out).toContain('chain: not verified (pass --ca FILE to verify it)');
  });

  it('verifies the chain against --ca, and says why not against another root (exit 2)', async () => {
    const good = await sigil([
      'certs',
      'inspect',
      join(leaf, 'tls.crt'),
      '--ca',
      join(leaf, 'ca.crt'),
    ]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`chain: verified against ${join(leaf, 'ca.crt')}`);
    const bad = await sigil([
      'certs',
      'inspect',
      join(leaf, 'tls.crt'),
      '--ca',
      join(otherRoot, 'ca.crt'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain(
      `chain: NOT verified against ${join(otherRoot, 'ca.crt')}: no CA in the file or in --ca signed "CN=example.org intermediate CA"`,
    );
  });

  it('prints one JSON document with --json, and judges validity at the given time', async () => {
    const now = new Date(Date.now() + 400 * 86_400_000);
    const run = await sigil(['certs', 'inspect', join(mid, 'ca.crt'), '--json'], { now });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.source).toEqual({ kind: 'file', file: join(mid, 'ca.crt') });
    expect(result.verification).toEqual({ status: 'not-verified' });
    expect(result.certificates).toHaveLength(2);
    expect(result.certificates[0]).toMatchObject({
      subject: 'CN=example.org intermediate CA',
      keyType: 'EC P-256',
      validity: 'expired',
      subjectAltNames: { uri: ['spiffe://example.org'], dns: [], ip: [], email: [] },
      basicConstraints: { ca: true, pathLength: 0, critical: true },
      keyUsage: { usages: ['keyCertSign', 'cRLSign'], critical: true },
      selfSigned: false,
      fingerprintSha256: sha256Of(join(mid, 'ca.crt')),
    });
    expect(result.certificates[0].spiffeId).toBe('spiffe://example.org');
    expect(result.certificates[1]).toMatchObject({
      subject: 'CN=example.org root CA',
      selfSigned: true,
      validity: 'valid',
    });
  });

  it('names the file at fault and refuses host-only flags', async () => {
    const missing = await sigil(['certs', 'inspect', join(tmp.dir, 'nope.crt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(tmp.dir, 'nope.crt'));
    const flag = await sigil(['certs', 'inspect', join(leaf, 'tls.crt'), '--servername', 'x']);
    expect(flag.code).toBe(64);
    expect(flag.stderr).toContain('--servername: only for a HOST:PORT target, not a file');
    const ca = await sigil([
      'certs',
      'inspect',
      join(leaf, 'tls.crt'),
      '--ca',
      join(leaf, 'tls.crt'),
    ]);
    expect(ca.code).toBe(2);
    expect(ca.stderr).toMatch(/^error: --ca .*is not a CA certificate/);
  });
});

describe('sigil certs inspect HOST:PORT', () => {
  let server: LoopbackTlsServer;
  let mtls: LoopbackTlsServer;
  beforeAll(async () => {
    server = await startTlsServer({ cert: join(leaf, 'tls.crt'), key: join(leaf, 'tls.key') });
    mtls = await startTlsServer({
      cert: join(leaf, 'tls.crt'),
      key: join(leaf, 'tls.key'),
      clientCa: join(leaf, 'ca.crt'),
    });
  });
  afterAll(async () => {
    await server.close();
    await mtls.close();
  });

  it('shows what the server presents, not verified without --ca', async () => {
    const run = await sigil(['certs', 'inspect', server.address]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      new RegExp(
        `^${server.address}: the server presented 2 certificates \\(TLSv1\\.3, \\S+\\)\\n`,
      ),
    );
    expect(run.stdout).toContain('  SPIFFE ID    spiffe://example.org/svc/api');
    expect(run.stdout).toContain('[1] intermediate CA');
    expect(run.stdout).toContain(`  SHA-256      ${sha256Of(join(leaf, 'tls.crt'))}`);
    expect(run.stdout).toContain('chain: not verified (pass --ca FILE to verify it)');
    expect(run.stdout).not.toContain('name:');
  });

  it('verifies against --ca and checks --servername', async () => {
    const run = await sigil([
      'certs',
      'inspect',
      server.address,
      '--ca',
      join(leaf, 'ca.crt'),
      '--servername',
      'localhost',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.source).toMatchObject({
      kind: 'server',
      address: server.address,
      servername: 'localhost',
      protocol: 'TLSv1.3',
    });
    expect(result.verification).toEqual({ status: 'verified', ca: join(leaf, 'ca.crt') });
    expect(result.nameCheck).toEqual({ servername: 'localhost', matches: true });
    expect(result.certificates.map((c: { subject: string }) => c.subject)).toEqual([
      'CN=localhost',
      'CN=example.org intermediate CA',
    ]);
    const wrongName = await sigil([
      'certs',
      'inspect',
      server.address,
      '--servername',
      'db.internal',
    ]);
    expect(wrongName.stdout).toContain(
      "name: db.internal does not match: Hostname/IP does not match certificate's altnames",
    );
  });

  it('reports a chain that does not verify against another root (exit 2)', async () => {
    const run = await sigil([
      'certs',
      'inspect',
      server.address,
      '--ca',
      join(otherRoot, 'ca.crt'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(
      `chain: NOT verified against ${join(otherRoot, 'ca.crt')}: UNABLE_TO_GET_ISSUER_CERT`,
    );
  });

  it('an mTLS server: says a client certificate is needed, and inspects with --cert/--key', async () => {
    const refused = await sigil(['certs', 'inspect', mtls.address]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^error: ${mtls.address}: .*(client certificate|--cert).*\\(ERR_HOST_UNREACHABLE\\)\\n$`,
      ),
    );
    const run = await sigil([
      'certs',
      'inspect',
      mtls.address,
      '--cert',
      join(client, 'tls.crt'),
      '--key',
      join(client, 'tls.key'),
      '--ca',
      join(leaf, 'ca.crt'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('chain: verified');
    expect(mtls.clientSubjects).toContain('URI:spiffe://example.org/svc/cli');
    const half = await sigil(['certs', 'inspect', mtls.address, '--cert', join(client, 'tls.crt')]);
    expect(half.code).toBe(64);
    expect(half.stderr).toContain('--key: required with --cert');
  });

  it('says connection refused, and that a port does not speak TLS', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((done) => closed.close(() => done()));
    const refused = await sigil(['certs', 'inspect', `127.0.0.1:${port}`]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(
      `error: 127.0.0.1:${port}: connection refused (is the server listening on that port?) (ERR_HOST_UNREACHABLE)\n`,
    );
    const sockets: Socket[] = [];
    const plain = createServer((socket) => {
      sockets.push(socket.on('error', () => undefined));
      socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((done) => plain.listen(0, '127.0.0.1', done));
    try {
      const address = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
      const run = await sigil(['certs', 'inspect', address]);
      expect(run.stderr).toBe(
        `error: ${address}: the server does not speak TLS on that port (ERR_HOST_UNREACHABLE)\n`,
      );
      expect(run.code).toBe(3);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => plain.close(() => done()));
    }
  });
});
