import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost parameters: N=2^15, r=8, p=1 (OWASP's minimum for scrypt), 32 MiB per hash. */
const PARAMS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MAX_MEMORY = 128 * 1024 * 1024;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/**
 * Hashes a password with scrypt (memory-hard) and a fresh 128-bit salt; the parameters are part
 * of the result (`scrypt$N$r$p$salt$hash`), so they can be raised later without breaking old hashes.
 *
 * @example
 * ```ts
 * const stored = await hashPassword('correct horse battery staple');
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, PARAMS.N, PARAMS.r, PARAMS.p);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

let dummy: Promise<string> | undefined;

/**
 * True when `password` matches `stored` (constant-time comparison). With `stored` undefined (an
 * unknown user) a dummy hash is checked, so the answer takes as long as for a real user.
 *
 * @example
 * ```ts
 * if (!(await verifyPassword(body.password, user?.passwordHash))) refuse();
 * ```
 */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  const hash = stored ?? (await (dummy ??= hashPassword(randomBytes(16).toString('hex'))));
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await derive(password, Buffer.from(parts[4]!, 'base64url'), N, r, p);
  return stored !== undefined && key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A fresh random password to show once: 24 base64url characters (144 bits).
 *
 * @example
 * ```ts
 * const password = generatePassword();
 * ```
 */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
