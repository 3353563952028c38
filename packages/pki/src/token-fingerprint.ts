import { createHash } from 'node:crypto';

const FINGERPRINT_LENGTH = 12;

/**
 * The SHA-256 of a bearer or enrollment token, lowercase hex: how a token is stored and looked up.
 * A token of 256 random bits needs no slow password hash.
 *
 * @example
 * ```ts
 * tokenHash('abc'); // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * How logs, error messages and audit records name a token: the first 12 hex digits of its
 * {@link tokenHash}, never the token itself. Takes the token, or (`{ hash }`) a hash already
 * stored, so a record made from either matches the other.
 *
 * @example
 * ```ts
 * logger.info({ event: 'enroll.started', token: tokenFingerprint(token) }, 'enroll.started');
 * tokenFingerprint({ hash: row.tokenHash }) === tokenFingerprint(token); // true
 * ```
 */
export function tokenFingerprint(token: string | { hash: string }): string {
  const hash = typeof token === 'string' ? tokenHash(token) : token.hash;
  return hash.slice(0, FINGERPRINT_LENGTH);
}
