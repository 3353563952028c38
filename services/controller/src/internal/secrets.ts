import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of enrollment tokens, so a leaked one is recognisable (and greppable) as such. */
const ENROLLMENT_TOKEN_PREFIX = 'sigil_et_';
const ADMIN_TOKEN_PREFIX = 'sigil_admin_';

/** A fresh enrollment token: 256 random bits, base64url. */
export function generateEnrollmentToken(): string {
  return ENROLLMENT_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A fresh admin bearer token: 256 random bits, base64url. */
export function generateAdminToken(): string {
  return ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Lower-case hex SHA-256: how tokens are stored and looked up (a 256-bit random secret needs no slow hash). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The first 12 hex characters of a token's hash: what logs and audit records show. */
export function secretHint(hash: string): string {
  return hash.slice(0, 12);
}

/** Compares `presented` with a stored hash in constant time (hashing first makes the lengths equal). */
export function secretMatchesHash(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
