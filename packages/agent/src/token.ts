import { createHash } from 'node:crypto';

/**
 * How logs and error messages name an enrollment token: the first 12 hex digits of its SHA-256,
 * never the token itself. The controller stores tokens as SHA-256 hashes and shows the same
 * prefix in its audit records, so the two can be matched.
 *
 * @example
 * ```ts
 * logger.info({ event: 'enroll.started', token: tokenFingerprint(config.enrollmentToken) }, 'enroll.started');
 * // token: '3f7a09c1b2de'
 * ```
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12);
}
