import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  parseCertificatesPem,
} from '@sigil/pki';
import {
  certificateText,
  fileMode,
  opensslVerify,
  publicKeysOf,
  sigil,
  temporaryDirectory,
} from '../../test/support';
import { issueCertificateFiles } from './certs-issue';

describe('sigil certs issue', () => {
  const tmp = temporaryDirectory('certs-issue');
  const caDir = join(tmp.dir, 'ca');
  const now = new Date('2025-05-01T10:00:00Z');

  beforeAll(async () => {
    const run = await sigil(['ca', 'init', '--out', caDir, '--trust-domain', 'example.org'], {
      now: new Date('2025-01-01T00:00:00Z'),
    });
    expect(run.code).toBe(0);
  });
  afterAll(() => tmp.remove());

  it('writes a cert-manager Secret layout that openssl verifies, with SPIFFE, DNS and IP SANs', async () => {
    const out = join(tmp.dir, 'api');
    const run = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        caDir,
        '--out',
        out,
        '--spiffe-id',
        'spiffe://example.org/svc/api',
        '--dns',
        'api',
        '--dns',
        'api.default.svc,API.example.org',
        '--ip',
        '10.0.0.7',
        '--ip',
        '::1',
      ],
      { now },
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('Issued an X509-SVID for spiffe://example.org/svc/api');
    expect(run.stdout).toContain(
      'SANs         URI:spiffe://example.org/svc/api, DNS:api, DNS:api.default.svc, DNS:api.example.org, IP:10.0.0.7, IP:::1',
    );
    expect(run.stdout).toContain('expires      2025-05-02T10:00:00.000Z\n');
    const files = { crt: join(out, 'tls.crt'), key: join(out, 'tls.key'), ca: join(out, 'ca.crt') };
    expect(opensslVerify(files.ca, files.crt, { at: now })).toBe(`${files.crt}: OK\n`);
    const text = certificateText(files.crt);
    expect(text).toContain(
      'URI:spiffe://example.org/svc/api, DNS:api, DNS:api.default.svc, DNS:api.example.org, IP Address:10.0.0.7, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(
      /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(text).toContain('Not After : May  2 10:00:00 2025 GMT');
    expect(fileMode(files.key)).toBe(0o600);
    expect(fileMode(files.crt)).toBe(0o644);
    expect(readFileSync(files.ca, 'utf8')).toBe(readFileSync(join(caDir, 'ca.crt'), 'utf8'));
    const keys = publicKeysOf(files.key, files.crt);
    expect(keys.fromKey).toBe(keys.fromCertificate);
  });

  it('issues server-only and client-only certificates', async () => {
    const server = join(tmp.dir, 'server');
    expect(
      (
        await sigil(
          ['certs', 'issue', '--ca', caDir, '--out', server, '--dns', 'db.internal', '--server'],
          { now },
        )
      ).code,
    ).toBe(0);
    const serverText = certificateText(join(server, 'tls.crt'));
    expect(serverText).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(serverText).toContain('Subject: CN = db.internal');
    expect(
      opensslVerify(join(server, 'ca.crt'), join(server, 'tls.crt'), {
        at: now,
        purpose: 'sslserver',
      }),
    ).toContain(': OK');
    expect(() =>
      opensslVerify(join(server, 'ca.crt'), join(server, 'tls.crt'), {
        at: now,
        purpose: 'sslclient',
      }),
    ).toThrow(/unsuitable certificate purpose/);

    const client = join(tmp.dir, 'client');
    const run = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        caDir,
        '--out',
        client,
        '--spiffe-id',
        'spiffe://example.org/user/cli',
        '--client',
        '--json',
      ],
      { now },
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      profile: 'client',
      spiffeId: 'spiffe://example.org/user/cli',
      dnsNames: [],
      ipAddresses: [],
    });
    const human = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        caDir,
        '--out',
        client,
        '--spiffe-id',
        'spiffe://example.org/user/cli',
        '--client',
      ],
      { now },
    );
    expect(human.stderr).toBe(
      'note: a client-only certificate is not a conforming X509-SVID (X509-SVID 4.4 requires serverAuth and clientAuth); svid verify will reject it\n',
    );
    const clientText = certificateText(join(client, 'tls.crt'));
    expect(clientText).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(
      opensslVerify(join(client, 'ca.crt'), join(client, 'tls.crt'), {
        at: now,
        purpose: 'sslclient',
      }),
    ).toContain(': OK');
    expect(() =>
      opensslVerify(join(client, 'ca.crt'), join(client, 'tls.crt'), {
        at: now,
        purpose: 'sslserver',
      }),
    ).toThrow(/unsuitable certificate purpose/);
  });

  it('defaults to a server certificate without a SPIFFE ID, and honours --ttl and --key-type', async () => {
    const out = join(tmp.dir, 'ip-only');
    const run = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        caDir,
        '--out',
        out,
        '--ip',
        '127.0.0.1',
        '--ttl',
        '90m',
        '--key-type',
        'rsa-2048',
        '--json',
      ],
      { now },
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      profile: 'server',
      ipAddresses: ['127.0.0.1'],
      notAfter: '2025-05-01T11:30:00.000Z',
      clampedToCaExpiry: false,
    });
    expect(result).not.toHaveProperty('spiffeId');
    const text = certificateText(join(out, 'tls.crt'));
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(opensslVerify(join(out, 'ca.crt'), join(out, 'tls.crt'), { at: now })).toContain(': OK');
  });

  it('writes leaf then intermediate to tls.crt and the root to ca.crt when the CA is an intermediate', async () => {
    const root = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const intermediate = await createIntermediateCertificateAuthority(root, {
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const intermediateDir = join(tmp.dir, 'intermediate');
    mkdirSync(intermediateDir);
    writeFileSync(
      join(intermediateDir, 'ca.crt'),
      intermediate.certificatePem + root.certificatePem,
    );
    writeFileSync(join(intermediateDir, 'ca.key'), intermediate.privateKeyPem, { mode: 0o600 });
    const out = join(tmp.dir, 'chained');
    const run = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        intermediateDir,
        '--out',
        out,
        '--spiffe-id',
        'spiffe://example.org/svc/chained',
      ],
      { now },
    );
    expect(run.code).toBe(0);
    const chain = parseCertificatesPem(readFileSync(join(out, 'tls.crt'), 'utf8'));
    expect(chain).toHaveLength(2);
    expect(chain[1]!.raw.equals(intermediate.certificate.raw)).toBe(true);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toBe(root.certificatePem);
    const leafOnly = join(tmp.dir, 'leaf-only.crt');
    writeFileSync(leafOnly, chain[0]!.toString());
    expect(
      opensslVerify(join(out, 'ca.crt'), join(out, 'tls.crt'), {
        at: now,
        untrusted: join(out, 'tls.crt'),
      }),
    ).toContain(': OK');
    expect(() => opensslVerify(join(out, 'ca.crt'), leafOnly, { at: now })).toThrow(
      /unable to get local issuer certificate/,
    );
  });

  it('never outlives the CA, and says so', async () => {
    const shortCa = join(tmp.dir, 'short-ca');
    const root = await createCertificateAuthority({
      trustDomain: 'example.org',
      now,
      ttlSeconds: 3 * 86_400,
    });
    mkdirSync(shortCa);
    writeFileSync(join(shortCa, 'ca.crt'), root.certificatePem);
    writeFileSync(join(shortCa, 'ca.key'), root.privateKeyPem);
    const run = await sigil(
      [
        'certs',
        'issue',
        '--ca',
        shortCa,
        '--out',
        join(tmp.dir, 'short'),
        '--dns',
        'x.internal',
        '--ttl',
        '30d',
      ],
      { now },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `expires      ${new Date(root.certificate.validTo).toISOString()} (cut short: the CA expires then)`,
    );
  });

  it('overwrites an earlier certificate in --out (re-issuing is rotation)', async () => {
    const out = join(tmp.dir, 'rotate');
    const first = await issueCertificateFiles({ ca: caDir, out, dnsNames: ['r.internal'], now });
    const second = await issueCertificateFiles({ ca: caDir, out, dnsNames: ['r.internal'], now });
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(new X509Certificate(readFileSync(join(out, 'tls.crt'))).serialNumber.toLowerCase()).toBe(
      second.serialNumber,
    );
    expect(fileMode(join(out, 'tls.key'))).toBe(0o600);
  });

  it('needs at least one identity', async () => {
    const run = await sigil(['certs', 'issue', '--ca', caDir, '--out', join(tmp.dir, 'none')]);
    expect(run).toEqual({
      code: 64,
      stdout: '',
      stderr:
        'error: certs issue needs at least one identity: --spiffe-id, --dns or --ip (ERR_USAGE)\n',
    });
  });

  it.each([
    [
      ['--dns', 'a', '--ttl', '5x'],
      "error: --ttl: '5x' is not a duration (use a number with a unit: 90s, 15m, 1h) (ERR_USAGE)\n",
    ],
    [
      ['--dns', 'a', '--server', '--client'],
      "error: option '--server' cannot be used with option '--client' (ERR_USAGE)\n",
    ],
    [['--spiffe-id', 'spiffe://example.org/a/'], 'the path must not end with a slash'],
    [['--dns', 'a', '--bogus'], "error: unknown option '--bogus' (ERR_USAGE)\n"],
  ])('refuses bad flags %j with exit 64', async (flags, message) => {
    const run = await sigil([
      'certs',
      'issue',
      '--ca',
      caDir,
      '--out',
      join(tmp.dir, 'bad'),
      ...flags,
    ]);
    expect(run.code).toBe(64);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [
      ['--spiffe-id', 'spiffe://other.org/svc/api'],
      "SPIFFE ID spiffe://other.org/svc/api is outside this CA's trust domain example.org",
      'ERR_SPIFFE_ID_INVALID',
    ],
  ])(
    'refuses identities the CA will not certify (%j) with exit 2',
    async (flags, message, code) => {
      const run = await sigil([
        'certs',
        'issue',
        '--ca',
        caDir,
        '--out',
        join(tmp.dir, 'refused'),
        ...flags,
        '--json',
      ]);
      expect(run.code).toBe(2);
      const { error } = JSON.parse(run.stdout);
      expect(error.code).toBe(code);
      expect(error.message).toContain(message);
    },
  );

  it('names the CA directory when it holds no CA, and the file when it is broken', async () => {
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    const run = await sigil([
      'certs',
      'issue',
      '--ca',
      empty,
      '--out',
      join(tmp.dir, 'x'),
      '--dns',
      'a',
    ]);
    expect(run).toMatchObject({
      code: 2,
      stderr: `error: --ca ${empty}: no CA found (expected ca.crt and ca.key, or cert.pem and key.pem) (ERR_CA_NOT_FOUND)\n`,
    });
    const broken = join(tmp.dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'ca.key'), readFileSync(join(caDir, 'ca.key')));
    writeFileSync(join(broken, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n');
    const brokenRun = await sigil([
      'certs',
      'issue',
      '--ca',
      broken,
      '--out',
      join(tmp.dir, 'x'),
      '--dns',
      'a',
    ]);
    expect(brokenRun.code).toBe(2);
    expect(brokenRun.stderr).toMatch(
      new RegExp(`^error: ${join(broken, 'ca.crt')}: .*\\(ERR_PEM_MALFORMED\\)\\n$`),
    );
    const other = await createCertificateAuthority({ trustDomain: 'example.org' });
    writeFileSync(join(broken, 'ca.crt'), other.certificatePem);
    const mismatch = await sigil([
      'certs',
      'issue',
      '--ca',
      broken,
      '--out',
      join(tmp.dir, 'x'),
      '--dns',
      'a',
    ]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('(ERR_KEY_MISMATCH)');
    expect(mismatch.stderr).toContain(join(broken, 'ca.key'));
  });
});
