import { X509Certificate } from 'node:crypto';
import { isSigilError, SigilError } from '@sigil/errors';
import {
  createCertificateAuthority,
  createIntermediateCertificateAuthority,
  parseCertificatesPem,
} from '@sigil/pki';
import type { CertificateAuthority } from '@sigil/pki';
import { assertCertValid, formatCertExpiry, validateCertExpiration } from './index';

const DAY = 86_400;
const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (offsetSeconds: number, from: Date = T0): Date =>
  new Date(from.getTime() + offsetSeconds * 1000);

function thrown(fn: () => unknown): SigilError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SigilError) return err;
    throw err;
  }
  throw new Error('expected a SigilError, nothing was thrown');
}

describe('validateCertExpiration', () => {
  let ca: CertificateAuthority;

  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-365 * DAY) });
  });

  const svid = (ttlSeconds: number, now: Date = T0) =>
    ca.issue({ spiffeId: 'spiffe://example.org/svc/api', ttlSeconds, now });

  it('reports a fresh certificate as ok with whole days and seconds left', async () => {
    const leaf = await svid(90 * DAY);
    const report = validateCertExpiration(leaf.chainPem, { now: T0 });
    expect(report.status).toBe('ok');
    expect(report.secondsLeft).toBe(90 * DAY);
    expect(report.daysLeft).toBe(90);
    expect(report.gaugeValue).toBe(90);
    expect(report.notAfter).toEqual(leaf.notAfter);
    expect(report.notBefore).toEqual(leaf.notBefore);
    expect(report.spiffeId).toBe('spiffe://example.org/svc/api');
    expect(report.subject).toBe('');
    expect(report.serialNumber).toBe(leaf.serialNumber);
    expect(report.isCa).toBe(false);
    expect(report.index).toBe(0);
    expect(report.warnDays).toBe(30);
    expect(report.checkedAt).toBe(T0);
    expect(report).not.toHaveProperty('source');
    expect(report.certificates).toHaveLength(1);
  });

  it('warns inside the window and not at its edge', async () => {
    const leaf = await svid(90 * DAY);
    const edge = at(-30 * DAY, leaf.notAfter);
    expect(validateCertExpiration(leaf.chainPem, { now: edge, warnDays: 30 }).status).toBe('ok');
    const inside = validateCertExpiration(leaf.chainPem, { now: at(1, edge), warnDays: 30 });
    expect(inside.status).toBe('warning');
    expect(inside.daysLeft).toBe(29);
    // A window longer than a third of the lifetime: the third decides (30 days left of 90).
    expect(validateCertExpiration(leaf.chainPem, { now: T0, warnDays: 91 }).status).toBe('ok');
    expect(validateCertExpiration(leaf.chainPem, { now: at(1, T0), warnDays: 91 }).status).toBe(
      'ok',
    );
    expect(validateCertExpiration(leaf.chainPem, { now: at(89 * DAY), warnDays: 0 }).status).toBe(
      'ok',
    );
  });

  it('defaults the warning window to 30 days', async () => {
    const leaf = await svid(365 * DAY);
    expect(validateCertExpiration(leaf.chainPem, { now: at(335 * DAY) }).status).toBe('ok');
    const report = validateCertExpiration(leaf.chainPem, { now: at(335 * DAY + 1) });
    expect(report).toMatchObject({ status: 'warning', warnByLifetime: false, warnDays: 30 });
    expect(report.warnFrom).toEqual(at(-30 * DAY, leaf.notAfter));
  });

  it('warns a short-lived certificate only once a third of its lifetime is left (the later moment)', async () => {
    // The default 24 h SVID, issued a second ago: 30 days would warn from birth.
    const leaf = await svid(DAY, at(-1));
    const fresh = validateCertExpiration(leaf.chainPem, { now: T0 });
    expect(fresh.status).toBe('ok');
    const third = (leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 3;
    expect(fresh.warnFrom).toEqual(new Date(leaf.notAfter.getTime() - third));
    expect(validateCertExpiration(leaf.chainPem, { now: fresh.warnFrom }).status).toBe('ok');
    const late = validateCertExpiration(leaf.chainPem, { now: at(1, fresh.warnFrom) });
    expect(late).toMatchObject({ status: 'warning', warnByLifetime: true });
    // A fixed window shorter than the third is the later moment then.
    const hour = validateCertExpiration(leaf.chainPem, {
      now: at(1, fresh.warnFrom),
      warnWithinMs: 3_600_000,
    });
    expect(hour).toMatchObject({ status: 'ok', warnWithinMs: 3_600_000, warnByLifetime: false });
    expect(hour.warnDays).toBeCloseTo(1 / 24, 10);
    expect(
      validateCertExpiration(leaf.chainPem, {
        now: at(-3599, leaf.notAfter),
        warnWithinMs: 3_600_000,
      }).status,
    ).toBe('warning');
  });

  it('treats notAfter itself as still valid and one second later as expired', async () => {
    const leaf = await svid(DAY);
    const last = validateCertExpiration(leaf.chainPem, { now: leaf.notAfter });
    expect(last.status).toBe('warning');
    expect(last.secondsLeft).toBe(0);
    expect(last.daysLeft).toBe(0);
    const expired = validateCertExpiration(leaf.chainPem, { now: at(1, leaf.notAfter) });
    expect(expired.status).toBe('expired');
    expect(expired.secondsLeft).toBe(-1);
    expect(expired.daysLeft).toBe(-1);
    expect(expired.gaugeValue).toBeCloseTo(-1 / DAY, 10);
  });

  it('reports days since expiry as negative numbers', async () => {
    const leaf = await svid(3600);
    const report = validateCertExpiration(leaf.chainPem, { now: at(3 * DAY + 3600) });
    expect(report.status).toBe('expired');
    expect(report.secondsLeft).toBe(-3 * DAY);
    expect(report.daysLeft).toBe(-3);
    expect(report.gaugeValue).toBe(-3);
  });

  it('reports a certificate checked before its notBefore as not-yet-valid', async () => {
    const leaf = await svid(DAY, at(2 * DAY));
    const report = validateCertExpiration(leaf.chainPem, { now: T0 });
    expect(report.status).toBe('not-yet-valid');
    expect(report.secondsLeft).toBe(3 * DAY);
    // the default 60-second back-dating is still in the future here
    expect(validateCertExpiration(leaf.chainPem, { now: at(-1, leaf.notBefore) }).status).toBe(
      'not-yet-valid',
    );
    expect(validateCertExpiration(leaf.chainPem, { now: leaf.notBefore }).status).toBe('ok');
  });

  it('gives a fractional day count for a gauge', async () => {
    const leaf = await svid(36 * 3600);
    const report = validateCertExpiration(leaf.chainPem, { now: T0 });
    expect(report.daysLeft).toBe(1);
    expect(report.gaugeValue).toBe(1.5);
  });

  it('lets the soonest expiry of a chain decide', async () => {
    // A stale intermediate, about to expire, left in front of a fresh leaf.
    const staleIntermediate = await createIntermediateCertificateAuthority(ca, {
      now: at(-360 * DAY),
      ttlSeconds: 365 * DAY,
    });
    const leaf = await svid(90 * DAY);
    const chain = leaf.certificatePem + staleIntermediate.certificatePem;
    const report = validateCertExpiration(chain, { now: T0, source: 'tls.crt' });
    expect(report.status).toBe('warning');
    expect(report.index).toBe(1);
    expect(report.daysLeft).toBe(5);
    expect(report.isCa).toBe(true);
    expect(report.subject).toBe('CN=example.org intermediate CA');
    expect(report.spiffeId).toBe('spiffe://example.org');
    expect(report.certificates.map((c) => [c.index, c.status, c.daysLeft])).toEqual([
      [0, 'ok', 90],
      [1, 'warning', 5],
    ]);
    expect(formatCertExpiry(report)).toContain(
      '#2 in the chain ("CN=example.org intermediate CA")',
    );
  });

  it('picks the earliest expiry among certificates of the same status', async () => {
    const intermediate = await createIntermediateCertificateAuthority(ca, {
      now: T0,
      ttlSeconds: 200 * DAY,
    });
    const leaf = await intermediate.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 100 * DAY,
      now: T0,
    });
    const report = validateCertExpiration(leaf.chainPem, { now: T0 });
    expect(leaf.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(report.status).toBe('ok');
    expect(report.index).toBe(0);
    expect(report.daysLeft).toBe(100);
  });

  it('ranks expired over not-yet-valid over warning in a chain', async () => {
    const expired = await svid(DAY, at(-10 * DAY));
    const future = await svid(DAY, at(10 * DAY));
    const soon = await svid(2 * DAY);
    const all = validateCertExpiration(
      soon.certificatePem + future.certificatePem + expired.certificatePem,
      { now: T0 },
    );
    expect(all.status).toBe('expired');
    expect(all.index).toBe(2);
    const noExpired = validateCertExpiration(soon.certificatePem + future.certificatePem, {
      now: T0,
    });
    expect(noExpired.status).toBe('not-yet-valid');
    expect(noExpired.index).toBe(1);
    // The gauge still tracks the soonest expiry, not the deciding certificate.
    expect(noExpired.gaugeValue).toBe(2);
    expect(noExpired.daysLeft).toBe(11);
  });

  it('accepts parsed certificates as well as PEM', async () => {
    const leaf = await ca.issue({ dnsNames: ['api.internal'], ttlSeconds: 45 * DAY, now: T0 });
    const report = validateCertExpiration([new X509Certificate(leaf.certificatePem)], { now: T0 });
    expect(report.status).toBe('ok');
    expect(report.subject).toBe('CN=api.internal');
    expect(report.spiffeId).toBeUndefined();
    expect(report.daysLeft).toBe(45);
  });

  it('checks a CA certificate too', () => {
    const report = validateCertExpiration(ca.certificatePem, { now: T0 });
    expect(report.isCa).toBe(true);
    expect(report.subject).toBe('CN=example.org root CA');
    expect(report.daysLeft).toBe(10 * 365 - 365);
  });

  it('uses the current time by default', async () => {
    const leaf = await ca.issue({ spiffeId: 'spiffe://example.org/svc/now', ttlSeconds: 90 * DAY });
    const report = validateCertExpiration(leaf.chainPem);
    expect(report.status).toBe('ok');
    expect(report.daysLeft).toBeGreaterThanOrEqual(89);
  });

  it('names the source when the PEM is malformed', () => {
    const err = thrown(() =>
      validateCertExpiration('not a certificate', { source: '/etc/grpc-tls/tls.crt' }),
    );
    expect(err.code).toBe('ERR_PEM_MALFORMED');
    expect(err.message).toContain('/etc/grpc-tls/tls.crt');
    const truncated = ca.certificatePem.slice(0, ca.certificatePem.length - 30);
    expect(thrown(() => validateCertExpiration(truncated, { source: 'ca.crt' })).message).toMatch(
      /^ca\.crt: truncated PEM/,
    );
    expect(thrown(() => validateCertExpiration([], { source: 'empty.crt' })).message).toBe(
      'empty.crt: no certificate to check',
    );
  });

  it('refuses a bad warning window or time', () => {
    const pem = ca.certificatePem;
    for (const warnDays of [-1, Number.NaN, Number.POSITIVE_INFINITY, '30' as unknown as number]) {
      const err = thrown(() => validateCertExpiration(pem, { warnDays }));
      expect(err.code).toBe('ERR_CONFIG_INVALID');
      expect(err.message).toMatch(/^warnDays must be a non-negative number of days/);
    }
    expect(thrown(() => validateCertExpiration(pem, { warnWithinMs: -1 })).message).toMatch(
      /^warnWithinMs must be a non-negative number of milliseconds/,
    );
    expect(thrown(() => validateCertExpiration(pem, { now: new Date('nope') })).message).toMatch(
      /^now must be a valid Date/,
    );
  });

  it('serialises to JSON with ISO dates', async () => {
    const leaf = await svid(DAY);
    const json = JSON.parse(
      JSON.stringify(validateCertExpiration(leaf.chainPem, { now: T0, source: 'tls.crt' })),
    );
    expect(json).toMatchObject({
      status: 'ok',
      source: 'tls.crt',
      notAfter: leaf.notAfter.toISOString(),
      checkedAt: T0.toISOString(),
    });
  });
});

describe('assertCertValid', () => {
  let ca: CertificateAuthority;

  beforeAll(async () => {
    ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-DAY) });
  });

  it('returns the report for a usable certificate, including one in the warning window', async () => {
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 5 * DAY,
      now: T0,
    });
    expect(assertCertValid(leaf.chainPem, { now: T0 }).status).toBe('ok');
    expect(assertCertValid(leaf.chainPem, { now: at(4 * DAY) }).status).toBe('warning');
  });

  it('fails fast with ERR_CERT_EXPIRED naming the source and the identity', async () => {
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: 3600,
      now: T0,
    });
    const err = thrown(() =>
      assertCertValid(leaf.chainPem, {
        now: at(2 * DAY + 2 * 3600),
        source: '/etc/grpc-tls/tls.crt',
      }),
    );
    expect(isSigilError(err, 'ERR_CERT_EXPIRED')).toBe(true);
    expect(err.message).toBe(
      `/etc/grpc-tls/tls.crt: certificate spiffe://example.org/svc/api expired at ${leaf.notAfter.toISOString()} (2d 1h ago)`,
    );
    expect(err.details).toMatchObject({
      file: '/etc/grpc-tls/tls.crt',
      status: 'expired',
      spiffeId: 'spiffe://example.org/svc/api',
      notAfter: leaf.notAfter.toISOString(),
    });
  });

  it('fails fast with ERR_CERT_NOT_YET_VALID when the clock is behind', async () => {
    const leaf = await ca.issue({
      dnsNames: ['api.internal'],
      ttlSeconds: DAY,
      now: at(3600),
      backdateSeconds: 0,
    });
    const err = thrown(() => assertCertValid(leaf.chainPem, { now: T0, source: 'tls.crt' }));
    expect(err.code).toBe('ERR_CERT_NOT_YET_VALID');
    expect(err.message).toBe(
      `tls.crt: certificate "CN=api.internal" is not valid until ${leaf.notBefore.toISOString()} (in 1h; check the clock)`,
    );
  });

  it('fails when any certificate of the chain has expired', async () => {
    const old = await createIntermediateCertificateAuthority(ca, {
      now: at(-DAY),
      ttlSeconds: 3600,
    });
    const leaf = await ca.issue({
      spiffeId: 'spiffe://example.org/svc/api',
      ttlSeconds: DAY,
      now: T0,
    });
    const err = thrown(() =>
      assertCertValid(leaf.certificatePem + old.certificatePem, { now: T0 }),
    );
    expect(err.code).toBe('ERR_CERT_EXPIRED');
    expect(err.message).toMatch(
      /^certificate: certificate #2 in the chain \("CN=example\.org intermediate CA"\) expired at /,
    );
    expect(err.details).toMatchObject({ index: 1 });
  });
});

describe('formatCertExpiry', () => {
  it('describes ok and warning certificates with the time left', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-DAY) });
    const leaf = await ca.issue({
      dnsNames: ['db.internal'],
      ttlSeconds: 40 * DAY + 5 * 3600,
      now: T0,
    });
    const [certificate] = parseCertificatesPem(leaf.certificatePem);
    expect(formatCertExpiry(validateCertExpiration([certificate!], { now: T0 }))).toBe(
      `certificate "CN=db.internal" expires at ${leaf.notAfter.toISOString()} (in 40d 5h)`,
    );
    expect(
      formatCertExpiry(validateCertExpiration([certificate!], { now: at(30 * DAY), warnDays: 11 })),
    ).toBe(
      `certificate "CN=db.internal" expires at ${leaf.notAfter.toISOString()} (in 10d 5h, within the 11-day warning window)`,
    );
    expect(
      formatCertExpiry(
        validateCertExpiration([certificate!], { now: at(39 * DAY), warnWithinMs: 2 * DAY * 1000 }),
      ),
    ).toBe(
      `certificate "CN=db.internal" expires at ${leaf.notAfter.toISOString()} (in 1d 5h, within the 2-day warning window)`,
    );
  });

  it('names a certificate without subject or SPIFFE ID by its serial', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', now: at(-DAY) });
    const leaf = await ca.issue({ ipAddresses: ['127.0.0.1'], ttlSeconds: 90, now: T0 });
    expect(formatCertExpiry(validateCertExpiration(leaf.certificatePem, { now: at(60) }))).toBe(
      `certificate serial ${leaf.serialNumber} expires at ${leaf.notAfter.toISOString()} (in 30s, less than a third of its 6m 30s lifetime left)`,
    );
  });
});
