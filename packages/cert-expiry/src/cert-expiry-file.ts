import { readCertificateChainFile } from '@sigil/pki';
import { assertCertValid, validateCertExpiration } from './cert-expiry';
import type { CertExpiryOptions, CertExpiryReport } from './cert-expiry';

/**
 * Options for the file variants: as {@link CertExpiryOptions}, the source being the path.
 *
 * @example
 * ```ts
 * const options: CertExpiryFileOptions = { warnDays: 15 };
 * const report = validateCertExpirationFile('/etc/grpc-tls/tls.crt', options);
 * ```
 */
export type CertExpiryFileOptions = Omit<CertExpiryOptions, 'source'>;

/**
 * Reads a PEM (or DER) certificate or chain file (for example `tls.crt`) and reports its expiry like
 * {@link validateCertExpiration}, with the path as the source. A missing or unreadable file
 * raises `ERR_FILE_UNREADABLE`, bad PEM `ERR_PEM_MALFORMED`, both naming the file.
 *
 * @example
 * ```ts
 * const report = validateCertExpirationFile('/etc/grpc-tls/tls.crt', { warnDays: 15 });
 * console.log(report.status, report.daysLeft);
 * ```
 */
export function validateCertExpirationFile(
  path: string,
  options: CertExpiryFileOptions = {},
): CertExpiryReport {
  const certificates = readCertificateChainFile(path);
  return validateCertExpiration(certificates, { ...options, source: path });
}

/**
 * Reads a certificate file and fails fast like {@link assertCertValid}: `ERR_CERT_EXPIRED` or
 * `ERR_CERT_NOT_YET_VALID` naming the file, or the report when the certificate is usable.
 *
 * @example
 * ```ts
 * // At service start-up, before listening:
 * const report = assertCertFileValid(config.certificateFile, { warnDays: 15 });
 * if (report.status === 'warning') logger.warn({ event: 'tls.cert.expiring', file: report.source, daysLeft: report.daysLeft });
 * ```
 */
export function assertCertFileValid(
  path: string,
  options: CertExpiryFileOptions = {},
): CertExpiryReport {
  const certificates = readCertificateChainFile(path);
  return assertCertValid(certificates, { ...options, source: path });
}
