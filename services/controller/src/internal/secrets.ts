import { randomBytes, timingSafeEqual } from 'node:crypto';
import { tokenHash } from '@sigil/pki';

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

/** Compares `presented` with a stored hash in constant time (hashing first makes the lengths equal). */
export function secretMatchesHash(presented: string, storedHash: string): boolean {
  const a = Buffer.from(tokenHash(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
