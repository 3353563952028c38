import { SigilError } from '@sigil/errors';
import type { AdminAuthStore } from '../store/admin-auth-store';
import { addAdminUser } from './users';

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
  try {
    const outcome = await addAdminUser(store, {
      name: FIRST_ADMIN_USER,
      role: 'admin',
      password: options.password,
      now: options.now,
    });
    return { created: true, user: FIRST_ADMIN_USER, ...outcome };
  } catch (err) {
    if (err instanceof SigilError && err.code === 'ERR_ADMIN_USER_EXISTS')
      return { created: false };
    throw err;
  }
}
