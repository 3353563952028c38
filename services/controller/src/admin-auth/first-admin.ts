import type { AdminAuthStore } from '../store/admin-auth-store';
import { generatePassword, hashPassword } from './password';

/** The user created at first start. */
export const FIRST_ADMIN_USER = 'admin';

/** What {@link ensureFirstAdminUser} did. */
export type FirstAdminOutcome =
  { created: false } | { created: true; user: string; password: string; generated: boolean };

/**
 * First start: when no user has the `admin` role, creates user `admin` (role admin) with
 * `password` (`SIGIL_ADMIN_PASSWORD`) or a generated one, returned for the caller to print once.
 * Two replicas starting together create it once (the store refuses a taken name).
 *
 * @example
 * ```ts
 * const first = await ensureFirstAdminUser(store.adminAuth, { password: process.env.SIGIL_ADMIN_PASSWORD, now: new Date() });
 * if (first.created && first.generated) process.stderr.write(first.password);
 * ```
 */
export async function ensureFirstAdminUser(
  store: AdminAuthStore,
  options: { password?: string | undefined; now: Date },
): Promise<FirstAdminOutcome> {
  if ((await store.listUsers()).some((user) => user.role === 'admin')) return { created: false };
  const password = options.password ?? generatePassword();
  const at = options.now.getTime();
  const created = await store.createUser({
    name: FIRST_ADMIN_USER,
    role: 'admin',
    passwordHash: await hashPassword(password),
    createdAt: at,
    updatedAt: at,
  });
  if (!created) return { created: false };
  return {
    created: true,
    user: FIRST_ADMIN_USER,
    password,
    generated: options.password === undefined,
  };
}
