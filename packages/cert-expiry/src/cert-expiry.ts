import type { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { parseCertificatesPem, spiffeIdOfCertificate } from '@sigil/pki';
import { formatDuration } from './internal/duration';

const SECONDS_PER_DAY = 86_400;

/**
 * Where a certificate stands at a given time.
 *
 * @example
 * ```ts
 * const status: CertExpiryStatus = validateCertExpiration(pem).status;
 * if (status === 'expired' || status === 'not-yet-valid') process.exitCode = 2;
 * ```
 */
export type CertExpiryStatus = 'ok' | 'warning' | 'expired' | 'not-yet-valid';

/**
 * Options for {@link validateCertExpiration} and {@link assertCertValid}.
 *
 * @example
 * ```ts
 * const options: CertExpiryOptions = { warnDays: 15, now: new Date('2025-06-01T00:00:00Z'), source: 'tls.crt' };
 * const report = validateCertExpiration(pem, options);
 * ```
 */
export interface CertExpiryOptions {
  /**
   * The fixed warning window in days. A certificate is a `warning` once less than a third of its
   * lifetime remains or it is inside this window, whichever comes later: a 24 h certificate warns
   * 8 h before expiry, a one-year certificate 30 days before. Default 30.
   */
  warnDays?: number;
  /** The fixed warning window in milliseconds, for sub-day windows; takes precedence over `warnDays`. */
  warnWithinMs?: number;
  /** The time to check at. Default now. */
  now?: Date;
  /** What the certificate is, for messages: usually its file path. Default `certificate`. */
  source?: string;
}

/**
 * The expiry of one certificate of a chain.
 *
 * @example
 * ```ts
 * for (const entry of validateCertExpiration(chainPem).certificates) {
 *   console.log(entry.index, entry.isCa ? entry.subject : entry.spiffeId, entry.status, entry.daysLeft);
 * }
 * ```
 */
export interface CertExpiryEntry {
  /** Position in the chain: 0 is the leaf, then its intermediates in file order. */
  index: number;
  status: CertExpiryStatus;
  /** Whole seconds until notAfter (floored); negative once expired. */
  secondsLeft: number;
  /** Whole days until notAfter (floored); negative once expired, 0 on the last day. */
  daysLeft: number;
  notBefore: Date;
  notAfter: Date;
  /** Subject DN as `CN=a, O=b`; empty for an X509-SVID without a subject. */
  subject: string;
  /** The SPIFFE ID in the URI SAN, if the certificate has exactly one (`spiffe://<td>` for a CA). */
  spiffeId?: string;
  /** Hex serial number, lowercase. */
  serialNumber: string;
  /** True for a CA (intermediate) certificate. */
  isCa: boolean;
  /**
   * When this certificate enters its warning period: the later of "a third of the lifetime left"
   * and "inside the fixed window".
   */
  warnFrom: Date;
  /** True when `warnFrom` comes from the lifetime (the certificate is short-lived for the window). */
  warnByLifetime: boolean;
}

/**
 * The verdict for a leaf or a whole chain. Its top-level fields describe the deciding
 * certificate: the worst status wins (expired, then not-yet-valid, then warning, then ok) and
 * among equals the soonest expiry, so a chain is only as good as its weakest link.
 *
 * @example
 * ```ts
 * const report: CertExpiryReport = validateCertExpiration(chainPem, { source: 'tls.crt' });
 * if (report.status !== 'ok') console.warn(formatCertExpiry(report));
 * ```
 */
export interface CertExpiryReport extends CertExpiryEntry {
  /**
   * Days until the first certificate of the chain expires, as a fraction (negative once
   * expired): the value for a Prometheus gauge such as `grpc_tls_cert_expiry_days`.
   */
  gaugeValue: number;
  /** The `source` option, when given. */
  source?: string;
  /** The fixed warning window used, in days (fractional when given as `warnWithinMs`). */
  warnDays: number;
  /** The fixed warning window used, in milliseconds. */
  warnWithinMs: number;
  /** The time the report was computed for. */
  checkedAt: Date;
  /** Every certificate of the chain, leaf first. */
  certificates: CertExpiryEntry[];
}

const SEVERITY: Record<CertExpiryStatus, number> = {
  ok: 0,
  warning: 1,
  'not-yet-valid': 2,
  expired: 3,
};

/**
 * Checks how long a certificate (or every certificate of a chain) has left at `now`: seconds and
 * days left, a status, and a gauge value. For a chain the worst certificate decides, and among
 * equals the one that expires first. Does not throw for an expired certificate (see
 * {@link assertCertValid} for that); throws `ERR_PEM_MALFORMED` naming `source` for bad PEM and
 * `ERR_CONFIG_INVALID` for a bad option.
 *
 * @example
 * ```ts
 * import { Gauge } from 'prom-client';
 *
 * const report = validateCertExpiration(fs.readFileSync('/etc/grpc-tls/tls.crt', 'utf8'), {
 *   warnDays: 30,
 *   source: '/etc/grpc-tls/tls.crt',
 * });
 * new Gauge({ name: 'grpc_tls_cert_expiry_days', help: 'Days until the TLS certificate expires' }).set(report.gaugeValue);
 * if (report.status === 'warning') logger.warn({ event: 'tls.cert.expiring', daysLeft: report.daysLeft });
 * ```
 */
export function validateCertExpiration(
  pem: string | readonly X509Certificate[],
  options: CertExpiryOptions = {},
): CertExpiryReport {
  const warnWithinMs = warningWindowMs(options);
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new SigilError('ERR_CONFIG_INVALID', `now must be a valid Date, got ${String(now)}`, {
      details: { option: 'now' },
    });
  }
  const source = options.source ?? 'certificate';
  const certificates = typeof pem === 'string' ? parseCertificatesPem(pem, source) : [...pem];
  if (certificates.length === 0) {
    throw new SigilError('ERR_PEM_MALFORMED', `${source}: no certificate to check`, {
      details: { file: source },
    });
  }
  const entries = certificates.map((certificate, index) =>
    entryOf(certificate, index, now, warnWithinMs),
  );
  const deciding = entries.reduce((worst, entry) => {
    const bySeverity = SEVERITY[entry.status] - SEVERITY[worst.status];
    if (bySeverity !== 0) return bySeverity > 0 ? entry : worst;
    return entry.notAfter.getTime() < worst.notAfter.getTime() ? entry : worst;
  });
  return {
    ...deciding,
    gaugeValue:
      (Math.min(...entries.map((e) => e.notAfter.getTime())) - now.getTime()) /
      1000 /
      SECONDS_PER_DAY,
    ...(options.source === undefined ? {} : { source: options.source }),
    warnDays: warnWithinMs / 1000 / SECONDS_PER_DAY,
    warnWithinMs,
    checkedAt: now,
    certificates: entries,
  };
}

/**
 * Fails fast at start-up: returns the report when every certificate of the chain is within its
 * validity period (status `ok` or `warning` — log the latter), and otherwise throws
 * `ERR_CERT_EXPIRED` or `ERR_CERT_NOT_YET_VALID` with a message naming the source, the
 * certificate and the date.
 *
 * @example
 * ```ts
 * const report = assertCertValid(certificatePem, { source: '/etc/grpc-tls/tls.crt', warnDays: 15 });
 * // throws: "/etc/grpc-tls/tls.crt: certificate spiffe://example.org/svc/api expired at 2025-01-01T00:00:00.000Z (3d 2h ago)"
 * ```
 */
export function assertCertValid(
  pem: string | readonly X509Certificate[],
  options: CertExpiryOptions = {},
): CertExpiryReport {
  const report = validateCertExpiration(pem, options);
  if (report.status === 'expired' || report.status === 'not-yet-valid') {
    const source = options.source ?? 'certificate';
    const code = report.status === 'expired' ? 'ERR_CERT_EXPIRED' : 'ERR_CERT_NOT_YET_VALID';
    throw new SigilError(code, `${source}: ${formatCertExpiry(report)}`, {
      details: {
        file: source,
        status: report.status,
        index: report.index,
        subject: report.subject,
        spiffeId: report.spiffeId,
        notBefore: report.notBefore.toISOString(),
        notAfter: report.notAfter.toISOString(),
      },
    });
  }
  return report;
}

/**
 * One human line for a report, naming the deciding certificate and when it expired, expires or
 * becomes valid. The messages of {@link assertCertValid} and `sigil certs check` use it.
 *
 * @example
 * ```ts
 * formatCertExpiry(validateCertExpiration(pem));
 * // 'certificate spiffe://example.org/svc/api expires at 2026-01-01T00:00:00.000Z (in 12d 3h)'
 * ```
 */
export function formatCertExpiry(report: CertExpiryReport): string {
  const what = `certificate ${describeCertificate(report)}`;
  const now = report.checkedAt.getTime();
  const notAfter = report.notAfter.toISOString();
  switch (report.status) {
    case 'expired':
      return `${what} expired at ${notAfter} (${formatDuration((now - report.notAfter.getTime()) / 1000)} ago)`;
    case 'not-yet-valid':
      return `${what} is not valid until ${report.notBefore.toISOString()} (in ${formatDuration((report.notBefore.getTime() - now) / 1000)}; check the clock)`;
    case 'warning':
      return `${what} expires at ${notAfter} (in ${formatDuration(report.secondsLeft)}, ${warningReason(report)})`;
    case 'ok':
      return `${what} expires at ${notAfter} (in ${formatDuration(report.secondsLeft)})`;
  }
}

function warningReason(report: CertExpiryReport): string {
  if (report.warnByLifetime) {
    const lifetime = (report.notAfter.getTime() - report.notBefore.getTime()) / 1000;
    return `less than a third of its ${formatDuration(lifetime)} lifetime left`;
  }
  const window =
    report.warnWithinMs % (SECONDS_PER_DAY * 1000) === 0
      ? `${report.warnDays}-day`
      : formatDuration(report.warnWithinMs / 1000);
  return `within the ${window} warning window`;
}

/** The fixed window in milliseconds from `warnWithinMs` or `warnDays`, validated. */
function warningWindowMs(options: CertExpiryOptions): number {
  const [option, value, scale] =
    options.warnWithinMs === undefined
      ? (['warnDays', options.warnDays ?? 30, SECONDS_PER_DAY * 1000] as const)
      : (['warnWithinMs', options.warnWithinMs, 1] as const);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${option} must be a non-negative number of ${option === 'warnDays' ? 'days' : 'milliseconds'}, got ${String(value)}`,
      { details: { option } },
    );
  }
  return value * scale;
}

function describeCertificate(entry: CertExpiryEntry): string {
  // A CA's SPIFFE ID is just its trust domain; its subject tells intermediates apart.
  const subject = entry.subject === '' ? undefined : `"${entry.subject}"`;
  const name =
    (entry.isCa ? (subject ?? entry.spiffeId) : (entry.spiffeId ?? subject)) ??
    `serial ${entry.serialNumber}`;
  return entry.index === 0 ? name : `#${entry.index + 1} in the chain (${name})`;
}

function entryOf(
  certificate: X509Certificate,
  index: number,
  now: Date,
  warnWithinMs: number,
): CertExpiryEntry {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  const secondsLeft = Math.floor((notAfter.getTime() - now.getTime()) / 1000);
  // The later of the two moments is the one nearer notAfter: the smaller of the two lead times.
  const thirdOfLifetimeMs = (notAfter.getTime() - notBefore.getTime()) / 3;
  const warnByLifetime = thirdOfLifetimeMs < warnWithinMs;
  const warnFrom = new Date(notAfter.getTime() - Math.min(thirdOfLifetimeMs, warnWithinMs));
  let status: CertExpiryStatus;
  if (now.getTime() < notBefore.getTime()) status = 'not-yet-valid';
  else if (now.getTime() > notAfter.getTime()) status = 'expired';
  else if (now.getTime() > warnFrom.getTime()) status = 'warning';
  else status = 'ok';
  const spiffeId = spiffeIdOfCertificate(certificate);
  return {
    index,
    status,
    secondsLeft,
    daysLeft: Math.floor(secondsLeft / SECONDS_PER_DAY),
    notBefore,
    notAfter,
    // Node gives undefined, not '', for an empty subject (common on X509-SVIDs).
    subject: ((certificate.subject as string | undefined) ?? '')
      .split('\n')
      .filter(Boolean)
      .join(', '),
    ...(spiffeId === undefined ? {} : { spiffeId }),
    serialNumber: certificate.serialNumber.toLowerCase(),
    isCa: certificate.ca,
    warnFrom,
    warnByLifetime,
  };
}
