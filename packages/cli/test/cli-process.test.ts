// The built `sigil` executable as users run it: a real process, real files, the real openssl.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createCertificateAuthority } from '@sigil/pki';
import {
  certificateText,
  fileMode,
  newP256Key,
  openssl,
  opensslVerify,
  sigilProcess,
  temporaryDirectory,
} from './support';

const DAY = 86_400;
// Each run starts a Node process (about a second on a busy machine); several runs per test.
jest.setTimeout(60_000);

describe('the sigil executable', () => {
  const tmp = temporaryDirectory('cli-process');
  const run = (...args: string[]) => sigilProcess(args, tmp.dir);
  afterAll(() => tmp.remove());

  it('is reachable as node_modules/.bin/sigil from the repository root (pnpm exec sigil)', async () => {
    const root = resolve(__dirname, '..', '..', '..');
    const result = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(
        join(root, 'node_modules', '.bin', 'sigil'),
        ['--help'],
        { cwd: root, encoding: 'utf8' },
        (error, stdout) => done({ code: error ? Number(error.code) : 0, stdout }),
      );
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: sigil [options] [command]');
  });

  it('creates a CA, issues certificates openssl verifies, and checks and verifies them', async () => {
    expect(await run('ca', 'init', '--out', 'ca', '--trust-domain', 'example.org')).toMatchObject({
      code: 0,
      stderr: '',
    });
    expect(fileMode(join(tmp.dir, 'ca', 'ca.key'))).toBe(0o600);

    const issued = await run(
      'certs',
      'issue',
      '--ca',
      'ca',
      '--out',
      'api',
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--dns',
      'api',
      '--ip',
      '127.0.0.1',
      '--ttl',
      '10d',
    );
    expect(issued).toMatchObject({ code: 0, stderr: '' });
    expect(fileMode(join(tmp.dir, 'api', 'tls.key'))).toBe(0o600);
    expect(
      opensslVerify(join(tmp.dir, 'api', 'ca.crt'), join(tmp.dir, 'api', 'tls.crt')),
    ).toContain(': OK');
    expect(certificateText(join(tmp.dir, 'api', 'tls.crt'))).toContain(
      'URI:spiffe://example.org/svc/api, DNS:api, IP Address:127.0.0.1',
    );

    expect(
      await run('certs', 'check', 'api/tls.crt', 'ca/ca.crt', '--warn-days', '5'),
    ).toMatchObject({ code: 0 });
    // A fresh 10-day certificate is not a warning under a 30-day window: the warning starts when
    // less than a third of its lifetime is left.
    const fresh = await run('certs', 'check', 'api/tls.crt', '--warn-days', '30');
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(
      /^ok {2}api\/tls\.crt {2}certificate spiffe:\/\/example\.org\/svc\/api expires at /,
    );

    expect(
      await run(
        'svid',
        'verify',
        '--bundle',
        'ca/ca.crt',
        '--cert',
        'api/tls.crt',
        '--trust-domain',
        'example.org',
      ),
    ).toEqual({
      code: 0,
      stdout: 'spiffe://example.org/svc/api\n',
      stderr: '',
    });
    const rejected = await run(
      'svid',
      'verify',
      '--bundle',
      'ca/ca.crt',
      '--cert',
      'api/tls.crt',
      '--at',
      '2000-01-01T00:00:00Z',
    );
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toBe('');
    expect(rejected.stderr).toContain('[X509-SVID 5: validity period]');
  });

  it('exits 2 from certs check for expired, not-yet-valid and unreadable files', async () => {
    const now = Date.now();
    const ca = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date(now - 30 * DAY * 1000),
    });
    const expired = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/old',
      ttlSeconds: DAY,
      now: new Date(now - 3 * DAY * 1000),
    });
    const future = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/new',
      ttlSeconds: DAY,
      now: new Date(now + 3 * DAY * 1000),
    });
    const fresh = await ca.issue({ spiffeId: 'spiffe://example.org/svc/ok', ttlSeconds: 90 * DAY });
    writeFileSync(join(tmp.dir, 'expired.crt'), expired.chainPem);
    writeFileSync(join(tmp.dir, 'future.crt'), future.chainPem);
    writeFileSync(join(tmp.dir, 'fresh.crt'), fresh.chainPem);
    expect((await run('certs', 'check', 'fresh.crt')).code).toBe(0);
    for (const file of ['expired.crt', 'future.crt', 'missing.crt']) {
      const result = await run('certs', 'check', 'fresh.crt', file);
      expect(result.code).toBe(2);
    }
    const json = await run('certs', 'check', 'expired.crt', 'future.crt', 'missing.crt', '--json');
    expect(JSON.parse(json.stdout).summary).toEqual({
      ok: 0,
      warning: 0,
      expired: 1,
      notYetValid: 1,
      unreadable: 1,
    });
  });

  it('generates a certs directory in the pem layout', async () => {
    const result = await run(
      'certs',
      'generate',
      '--out',
      'certs',
      '--trust-domain',
      'example.org',
      '--names',
      'control-plane,agent-1',
      '--layout',
      'pem',
    );
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((line) => /^\[\d\/3\] /.test(line))).toHaveLength(3);
    for (const name of ['control-plane', 'agent-1']) {
      expect(
        opensslVerify(
          join(tmp.dir, 'certs', 'ca', 'cert.pem'),
          join(tmp.dir, 'certs', name, 'cert.pem'),
        ),
      ).toContain(': OK');
      expect(fileMode(join(tmp.dir, 'certs', name, 'key.pem'))).toBe(0o600);
    }
  });

  it('signs an openssl CSR to standard output', async () => {
    openssl(
      'req',
      '-new',
      ...newP256Key(join(tmp.dir, 'csr.key')),
      '-subj',
      '/CN=x',
      '-out',
      join(tmp.dir, 'x.csr'),
    );
    const result = await run(
      'csr',
      'sign',
      '--ca',
      'ca',
      '--csr',
      'x.csr',
      '--spiffe-id',
      'spiffe://example.org/svc/x',
    );
    expect(result.code).toBe(0);
    writeFileSync(join(tmp.dir, 'x.crt'), result.stdout);
    expect(opensslVerify(join(tmp.dir, 'ca', 'ca.crt'), join(tmp.dir, 'x.crt'))).toContain(': OK');
  });

  it('fails in one line without a stack trace, with stable exit codes', async () => {
    const usage = await run(
      'certs',
      'issue',
      '--ca',
      'ca',
      '--out',
      'x',
      '--dns',
      'x',
      '--ttl',
      '24x',
    );
    expect(usage).toEqual({
      code: 64,
      stdout: '',
      stderr:
        "error: --ttl: '24x' is not a duration (use a number with a unit: 90s, 15m, 1h) (ERR_USAGE)\n",
    });
    const refused = await run('ca', 'init', '--out', 'ca', '--trust-domain', 'example.org');
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')).toEqual([
      `error: ${join('ca', 'ca.key')} already exists; pass --force to replace the CA (everything it issued stops verifying) (ERR_FILE_EXISTS)`,
      '',
    ]);
    const json = await run(
      'svid',
      'verify',
      '--bundle',
      'missing.crt',
      '--cert',
      'api/tls.crt',
      '--json',
    );
    expect(json.code).toBe(2);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'ERR_FILE_UNREADABLE', message: 'missing.crt: cannot read (no such file)' },
    });
    for (const result of [usage, refused, json])
      expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /);
  });
});
