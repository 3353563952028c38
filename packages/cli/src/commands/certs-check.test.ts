import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from '@sigil/pki';
import { sigil, temporaryDirectory } from '../../test/support';
import { checkCertificateFiles } from './certs-check';

const DAY = 86_400;
const NOW = new Date('2025-06-01T12:00:00Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY * 1000);

describe('sigil certs check', () => {
  const tmp = temporaryDirectory('certs-check');
  const file = (name: string) => join(tmp.dir, name);

  beforeAll(async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-400) });
    const write = async (name: string, issuedAt: Date, ttlDays: number) => {
      const leaf = await ca.issue({
        spiffeId: `spiffe://example.org/svc/${name}`,
        ttlSeconds: ttlDays * DAY,
        now: issuedAt,
      });
      writeFileSync(file(`${name}.crt`), leaf.chainPem);
    };
    await write('fresh', NOW, 90);
    await write('soon', at(-80), 90); // 10 days left
    await write('expired', at(-100), 90);
    await write('future', at(2), 90);
    writeFileSync(file('ca.crt'), ca.certificatePem);
    writeFileSync(file('junk.crt'), 'not a certificate\n');
    writeFileSync(file('tls.key'), ca.privateKeyPem);
    // A fresh leaf followed by an intermediate about to expire: the chain is as good as its weakest link.
    const intermediate = await createIntermediateCertificateAuthority(ca, {
      now: at(-360),
      ttlSeconds: 365 * DAY,
    });
    const leaf = await ca.issue({ dnsNames: ['chained.internal'], ttlSeconds: 90 * DAY, now: NOW });
    writeFileSync(file('chain.crt'), leaf.certificatePem + intermediate.certificatePem);
  });
  afterAll(() => tmp.remove());

  const check = (args: string[]) => sigil(['certs', 'check', ...args], { now: NOW });

  it('exits 0 when every certificate is fine', async () => {
    const run = await check([file('fresh.crt'), file('ca.crt')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      `ok  ${file('fresh.crt')}  certificate spiffe://example.org/svc/fresh expires at 2025-08-30T12:00:00.000Z (in 90d)`,
    );
    expect(lines[1]).toMatch(
      /^ok {2}.*ca\.crt {5}certificate "CN=example\.org root CA" expires at /,
    );
    expect(lines[2]).toBe('2 files: 2 ok, 0 expiring soon, 0 expired');
  });

  it('exits 1 when some certificate expires within --warn-days', async () => {
    const run = await check([file('fresh.crt'), file('soon.crt')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `warning  ${file('soon.crt')}   certificate spiffe://example.org/svc/soon expires at 2025-06-11T12:00:00.000Z (in 10d, within the 30-day warning window)`,
    );
    expect((await check([file('soon.crt'), '--warn-days', '10'])).code).toBe(0);
    expect((await check([file('soon.crt'), '--warn-days', '11'])).code).toBe(1);
    // A window longer than a third of the lifetime: the later moment (30 of 90 days left) decides.
    expect((await check([file('fresh.crt'), '--warn-days', '91'])).code).toBe(0);
  });

  it('exits 2 when some certificate is expired, even next to a warning', async () => {
    const run = await check([file('soon.crt'), file('expired.crt')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(
      `expired  ${file('expired.crt')}  certificate spiffe://example.org/svc/expired expired at 2025-05-22T12:00:00.000Z (10d ago)`,
    );
    expect(run.stdout).toContain('2 files: 0 ok, 1 expiring soon, 1 expired');
  });

  it('exits 2 for a certificate that is not valid yet', async () => {
    const run = await check([file('future.crt')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(
      /^not-yet-valid {2}.*future\.crt {2}certificate spiffe:\/\/example\.org\/svc\/future is not valid until 2025-06-03T11:55:00\.000Z \(in 1d 23h; check the clock\)$/m,
    );
    expect(run.stdout).toContain('1 not yet valid');
  });

  it('exits 2 for missing and unparsable files, naming each', async () => {
    const run = await check([
      file('fresh.crt'),
      file('missing.crt'),
      file('junk.crt'),
      file('tls.key'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`unreadable  ${file('missing.crt')}  cannot read (no such file)`);
    expect(run.stdout).toContain(`unreadable  ${file('junk.crt')}     no PEM certificate found`);
    expect(run.stdout).toContain(`unreadable  ${file('tls.key')}      no PEM certificate found`);
    expect(run.stdout).toContain('4 files: 1 ok, 0 expiring soon, 0 expired, 3 unreadable');
  });

  it('judges a chain by its first-expiring certificate', async () => {
    const run = await check([file('chain.crt')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'certificate #2 in the chain ("CN=example.org intermediate CA") expires at',
    );
  });

  it('prints every field for scripts with --json', async () => {
    const run = await check([file('soon.crt'), file('missing.crt'), '--json', '--warn-days', '15']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      warnDays: 15,
      warnWithinSeconds: 15 * DAY,
      checkedAt: NOW.toISOString(),
      exitCode: 2,
      summary: { ok: 0, warning: 1, expired: 0, notYetValid: 0, unreadable: 1 },
      certificates: [
        {
          file: file('soon.crt'),
          status: 'warning',
          message:
            'certificate spiffe://example.org/svc/soon expires at 2025-06-11T12:00:00.000Z (in 10d, within the 15-day warning window)',
          daysLeft: 10,
          secondsLeft: 10 * DAY,
          notBefore: '2025-03-13T11:55:00.000Z',
          notAfter: '2025-06-11T12:00:00.000Z',
          warnFrom: '2025-05-27T12:00:00.000Z',
          warnByLifetime: false,
          subject: '',
          spiffeId: 'spiffe://example.org/svc/soon',
          index: 0,
        },
        {
          file: file('missing.crt'),
          status: 'unreadable',
          message: 'cannot read (no such file)',
          error: {
            code: 'ERR_FILE_UNREADABLE',
            message: `${file('missing.crt')}: cannot read (no such file)`,
          },
        },
      ],
    });
  });

  it('refuses a bad --warn-days and a missing file list with exit 64', async () => {
    const bad = await check([file('fresh.crt'), '--warn-days', '-3']);
    expect(bad).toMatchObject({ code: 64, stdout: '' });
    expect(bad.stderr).toBe(
      "error: --warn-days: '-3' is not a whole number of days, such as 30 (ERR_USAGE)\n",
    );
    const none = await check([]);
    expect(none.code).toBe(64);
    expect(none.stderr).toBe("error: missing required argument 'files' (ERR_USAGE)\n");
  });

  it('works as a function with the default window', async () => {
    const result = await checkCertificateFiles({ files: [file('soon.crt')], now: NOW });
    expect(result).toMatchObject({ warnDays: 30, exitCode: 1, summary: { warning: 1 } });
  });
});
