import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSigilError } from '@sigil/errors';
import { createCertificateAuthority } from '@sigil/pki';
import { assertCertFileValid, validateCertExpirationFile } from './index';

const DAY = 86_400;

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
const T0 = new Date('2025-03-01T12:00:00.000Z');

describe('certificate files', () => {
  let dir: string;
  let chainFile: string;
  let notAfter: Date;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-cert-expiry-'));
    const ca = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date(T0.getTime() - DAY * 1000),
    });
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 10 * DAY,
      now: T0,
    });
    notAfter = leaf.notAfter;
    chainFile = join(dir, 'tls.crt');
    writeFileSync(chainFile, leaf.chainPem);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports on a file with its path as the source', () => {
    const report = validateCertExpirationFile(chainFile, { now: T0 });
    expect(report.source).toBe(chainFile);
    expect(report.status).toBe('ok');
    expect(report.daysLeft).toBe(10);
    const late = new Date(T0.getTime() + 8 * DAY * 1000);
    expect(validateCertExpirationFile(chainFile, { now: late }).status).toBe('warning');
    expect(validateCertExpirationFile(chainFile, { now: late, warnDays: 1 }).status).toBe('ok');
  });

  it('fails fast on an expired file, naming it', () => {
    expect(assertCertFileValid(chainFile, { now: T0, warnDays: 0 })).toMatchObject({
      status: 'ok',
    });
    const late = new Date(notAfter.getTime() + 1000);
    const err = caught(() => assertCertFileValid(chainFile, { now: late }));
    expect(isSigilError(err, 'ERR_CERT_EXPIRED')).toBe(true);
    expect((err as Error).message).toBe(
      `${chainFile}: certificate spiffe://example.org/svc/api expired at ${notAfter.toISOString()} (1s ago)`,
    );
  });

  it('names a missing file', () => {
    const missing = join(dir, 'missing.crt');
    const err = caught(() => validateCertExpirationFile(missing));
    expect(isSigilError(err, 'ERR_FILE_UNREADABLE')).toBe(true);
    expect((err as Error).message).toContain(missing);
  });

  it('names a file that holds no certificate', () => {
    const junk = join(dir, 'junk.crt');
    writeFileSync(junk, 'hello\n');
    const err = caught(() => assertCertFileValid(junk));
    expect(isSigilError(err, 'ERR_PEM_MALFORMED')).toBe(true);
    expect((err as Error).message).toContain(junk);
  });
});
