import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  certificateText,
  fileMode,
  openssl,
  publicKeysOf,
  sigil,
  temporaryDirectory,
} from '../../test/support';
import { initCertificateAuthority } from './ca-init';

describe('sigil ca init', () => {
  const tmp = temporaryDirectory('ca-init');
  afterAll(() => tmp.remove());

  it('writes ca.crt and a 0600 ca.key that openssl reads as a SPIFFE root CA', async () => {
    const out = join(tmp.dir, 'ec');
    const run = await sigil(['ca', 'init', '--out', out, '--trust-domain', 'example.org']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(
      `Created a root CA for trust domain example.org (ec-p256, CN=example.org root CA, pathlen 1)`,
    );
    expect(run.stdout).toContain(`private key  ${join(out, 'ca.key')} (mode 0600`);
    expect(fileMode(join(out, 'ca.key'))).toBe(0o600);
    expect(fileMode(join(out, 'ca.crt'))).toBe(0o644);
    const text = certificateText(join(out, 'ca.crt'));
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(text).toContain('URI:spiffe://example.org');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(openssl('verify', '-CAfile', join(out, 'ca.crt'), join(out, 'ca.crt'))).toContain(
      ': OK',
    );
    const keys = publicKeysOf(join(out, 'ca.key'), join(out, 'ca.crt'));
    expect(keys.fromKey).toBe(keys.fromCertificate);
  });

  it('creates an RSA-2048 CA on request', async () => {
    const out = join(tmp.dir, 'rsa');
    const run = await sigil([
      'ca',
      'init',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--key-type',
      'rsa-2048',
    ]);
    expect(run.code).toBe(0);
    expect(certificateText(join(out, 'ca.crt'))).toContain('Public-Key: (2048 bit)');
    expect(fileMode(join(out, 'ca.key'))).toBe(0o600);
  });

  it('prints a JSON document with --json', async () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const out = join(tmp.dir, 'json');
    const run = await sigil(
      ['ca', 'init', '--out', out, '--trust-domain', 'example.org', '--json'],
      { now },
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    const certificate = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    expect(result).toEqual({
      kind: 'root',
      pathLength: 1,
      trustDomain: 'example.org',
      keyType: 'ec-p256',
      subject: 'CN=example.org root CA',
      serialNumber: certificate.serialNumber.toLowerCase(),
      fingerprint: certificate.fingerprint256.toLowerCase(),
      notBefore: '2024-12-31T23:55:00.000Z',
      notAfter: new Date(certificate.validTo).toISOString(),
      files: { certificate: join(out, 'ca.crt'), privateKey: join(out, 'ca.key') },
    });
  });

  it('refuses to overwrite an existing CA key unless --force', async () => {
    const out = join(tmp.dir, 'again');
    expect((await sigil(['ca', 'init', '--out', out, '--trust-domain', 'example.org'])).code).toBe(
      0,
    );
    const key = readFileSync(join(out, 'ca.key'), 'utf8');
    const refused = await sigil(['ca', 'init', '--out', out, '--trust-domain', 'example.org']);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: ${join(out, 'ca.key')} already exists; pass --force to replace the CA (everything it issued stops verifying) (ERR_FILE_EXISTS)\n`,
    });
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).toBe(key);
    const json = await sigil([
      'ca',
      'init',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'ERR_FILE_EXISTS', message: expect.stringContaining('ca.key already exists') },
    });
    const forced = await sigil([
      'ca',
      'init',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).not.toBe(key);
    expect(fileMode(join(out, 'ca.key'))).toBe(0o600);
  });

  it('refuses to write next to a stray ca.crt, and keeps the mode of a replaced key at 0600', async () => {
    const out = join(tmp.dir, 'stray');
    await initCertificateAuthority({ out, trustDomain: 'example.org' });
    rmSync(join(out, 'ca.key'));
    await expect(
      initCertificateAuthority({ out, trustDomain: 'example.org' }),
    ).rejects.toMatchObject({
      code: 'ERR_FILE_EXISTS',
      message: expect.stringMatching(/ca\.crt already exists/),
    });
    writeFileSync(join(out, 'ca.key'), 'old', { mode: 0o644 });
    await initCertificateAuthority({ out, trustDomain: 'example.org', force: true });
    expect(fileMode(join(out, 'ca.key'))).toBe(0o600);
  });

  it('names the flag at fault', async () => {
    const bad = await sigil(['ca', 'init', '--out', tmp.dir, '--trust-domain', 'Example.org']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(
      /^error: --trust-domain: invalid trust domain "Example\.org": the trust domain must be lowercase/,
    );
    const keyType = await sigil([
      'ca',
      'init',
      '--out',
      tmp.dir,
      '--trust-domain',
      'example.org',
      '--key-type',
      'dsa',
    ]);
    expect(keyType.code).toBe(64);
    expect(keyType.stderr).toBe(
      "error: --key-type: 'dsa' is not a key type (use ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519) (ERR_USAGE)\n",
    );
    const missing = await sigil(['ca', 'init', '--trust-domain', 'example.org', '--json']);
    expect(missing.code).toBe(64);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: { code: 'ERR_USAGE', message: "required option '--out <dir>' not specified" },
    });
  });
});
