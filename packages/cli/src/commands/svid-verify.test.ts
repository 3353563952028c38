import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from '@sigil/pki';
import { sigil, temporaryDirectory } from '../../test/support';
import { verifySvidFiles } from './svid-verify';

const NOW = new Date('2025-06-01T12:00:00Z');

describe('sigil svid verify', () => {
  const tmp = temporaryDirectory('svid-verify');
  const file = (name: string) => join(tmp.dir, name);
  const verify = (args: string[]) => sigil(['svid', 'verify', ...args], { now: NOW });

  beforeAll(async () => {
    expect(
      (
        await sigil(['ca', 'init', '--out', tmp.dir, '--trust-domain', 'example.org'], {
          now: new Date('2025-01-01T00:00:00Z'),
        })
      ).code,
    ).toBe(0);
    const issue = (out: string, ...flags: string[]) =>
      sigil(['certs', 'issue', '--ca', tmp.dir, '--out', file(out), ...flags], { now: NOW });
    expect(
      (
        await issue(
          'api',
          '--spiffe-id',
          'spiffe://example.org/svc/api',
          '--dns',
          'api',
          '--ttl',
          '1h',
        )
      ).code,
    ).toBe(0);
    expect((await issue('web', '--dns', 'web.internal')).code).toBe(0);
    expect(
      (await issue('client', '--spiffe-id', 'spiffe://example.org/svc/client', '--client')).code,
    ).toBe(0);
    const other = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date('2025-01-01T00:00:00Z'),
    });
    writeFileSync(file('other-bundle.crt'), other.certificatePem);
    const root = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const intermediate = await createIntermediateCertificateAuthority(root, {
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const leaf = await intermediate.issue({ spiffeId: 'spiffe://example.org/svc/deep', now: NOW });
    writeFileSync(file('deep-root.crt'), root.certificatePem);
    writeFileSync(file('deep-leaf.crt'), leaf.certificatePem);
    writeFileSync(file('deep-chain.crt'), leaf.chainPem);
    writeFileSync(file('deep-intermediates.crt'), intermediate.certificatePem);
  });
  afterAll(() => tmp.remove());

  it('exits 0 and prints only the SPIFFE ID of a valid SVID', async () => {
    const run = await verify([
      '--bundle',
      file('ca.crt'),
      '--cert',
      file('api/tls.crt'),
      '--trust-domain',
      'example.org',
    ]);
    expect(run).toEqual({ code: 0, stdout: 'spiffe://example.org/svc/api\n', stderr: '' });
  });

  it('gives the validity window with --json', async () => {
    const run = await verify([
      '--bundle',
      file('api/ca.crt'),
      '--cert',
      file('api/tls.crt'),
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      valid: true,
      spiffeId: 'spiffe://example.org/svc/api',
      trustDomain: 'example.org',
      notBefore: '2025-06-01T11:55:00.000Z',
      notAfter: '2025-06-01T13:00:00.000Z',
      at: NOW.toISOString(),
    });
  });

  it.each([
    [
      'another trust domain',
      ['--trust-domain', 'other.org'],
      "X509-SVID 5: bundle chosen by the leaf's trust domain",
    ],
    [
      'a bundle that did not sign it',
      ['--bundle', 'other-bundle.crt'],
      'X509-SVID 5.1: every signature in the path must verify',
    ],
    ['a time after expiry', ['--at', '2025-06-01T13:00:01Z'], 'X509-SVID 5: validity period'],
    ['a time before notBefore', ['--at', '2025-06-01T11:54:59Z'], 'X509-SVID 5: validity period'],
  ])('exits 1 and prints the failed rule for %s', async (_case, flags, rule) => {
    const bundle = flags.includes('--bundle') ? [] : ['--bundle', file('ca.crt')];
    const resolved = flags.map((f) => (f.endsWith('.crt') ? file(f) : f));
    const run = await verify([...bundle, '--cert', file('api/tls.crt'), ...resolved]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^${file('api/tls.crt')}: X509-SVID rejected: .*\\[${rule.replace(/[.()]/g, '\\$&')}\\]\\n$`,
      ),
    );
    const json = await verify([...bundle, '--cert', file('api/tls.crt'), ...resolved, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: false,
      error: { code: 'ERR_SVID_INVALID', rule },
    });
  });

  it('rejects a certificate without a SPIFFE ID, and a client-only one (X509-SVID 4.4)', async () => {
    const web = await verify(['--bundle', file('ca.crt'), '--cert', file('web/tls.crt')]);
    expect(web.code).toBe(1);
    expect(web.stderr).toContain('[X509-SVID 2: exactly one URI SAN]');
    const client = await verify(['--bundle', file('ca.crt'), '--cert', file('client/tls.crt')]);
    expect(client.code).toBe(1);
    expect(client.stderr).toContain('X509-SVID 4.4');
  });

  it('builds the path through intermediates in --cert or --intermediates', async () => {
    expect(
      (await verify(['--bundle', file('deep-root.crt'), '--cert', file('deep-chain.crt')])).stdout,
    ).toBe('spiffe://example.org/svc/deep\n');
    const separate = await verify([
      '--bundle',
      file('deep-root.crt'),
      '--cert',
      file('deep-leaf.crt'),
      '--intermediates',
      file('deep-intermediates.crt'),
    ]);
    expect(separate).toMatchObject({ code: 0, stdout: 'spiffe://example.org/svc/deep\n' });
    const missing = await verify([
      '--bundle',
      file('deep-root.crt'),
      '--cert',
      file('deep-leaf.crt'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('X509-SVID 5: chain must end at the trust domain bundle');
  });

  it('exits 2 for unreadable or unsuitable input files, naming them', async () => {
    const missing = await verify(['--bundle', file('nope.crt'), '--cert', file('api/tls.crt')]);
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: ${file('nope.crt')}: cannot read (no such file) (ERR_FILE_UNREADABLE)\n`,
    });
    const notCa = await verify([
      '--bundle',
      file('web/tls.crt'),
      '--cert',
      file('api/tls.crt'),
      '--json',
    ]);
    expect(notCa.code).toBe(2);
    expect(JSON.parse(notCa.stdout).error).toMatchObject({
      code: 'ERR_BUNDLE_INVALID',
      message: expect.stringContaining(file('web/tls.crt')),
    });
    const key = await verify(['--bundle', file('ca.crt'), '--cert', file('api/tls.key')]);
    expect(key.code).toBe(2);
    expect(key.stderr).toContain('(ERR_PEM_MALFORMED)');
  });

  it('refuses a bad --at with exit 64', async () => {
    const run = await verify([
      '--bundle',
      file('ca.crt'),
      '--cert',
      file('api/tls.crt'),
      '--at',
      'tomorrow',
    ]);
    expect(run).toEqual({
      code: 64,
      stdout: '',
      stderr:
        "error: --at: 'tomorrow' is not an ISO-8601 time such as 2025-06-01T12:00:00Z (ERR_USAGE)\n",
    });
  });

  it('validates at the current time by default', async () => {
    const result = await verifySvidFiles({ bundle: file('ca.crt'), cert: file('api/tls.crt') });
    expect(result).toMatchObject({ valid: false, error: { rule: 'X509-SVID 5: validity period' } });
  });
});
