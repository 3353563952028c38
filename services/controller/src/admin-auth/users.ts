import { SigilError } from '@sigil/errors';
import type { AdminAuthStore, AdminUserRole } from '../store/admin-auth-store';
import { generatePassword, hashPassword } from './password';

/** The longest user name. */
export const MAX_USER_NAME_CHARS = 64;
/** A user name: 1 to 64 letters, digits, `.`, `_`, `@` or `-`, starting with a letter or digit. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** The shortest password accepted (a generated one has 24 characters). */
export const MIN_PASSWORD_CHARS = 12;
/** The longest password accepted (scrypt hashes any length; this bounds the work). */
export const MAX_PASSWORD_CHARS = 1024;
/** The roles, weakest first. */
export const ADMIN_ROLES: readonly AdminUserRole[] = ['viewer', 'admin'];

/**
 * `name` when it is a valid user name, else `ERR_REQUEST_INVALID` naming `field`.
 *
 * @example
 * ```ts
 * checkUserName(body.name, 'name');
 * ```
 */
export function checkUserName(name: string, field: string): string {
  if (!USER_NAME_PATTERN.test(name))
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      `${field} "${name.slice(0, 80)}" is not a user name: 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`,
      { details: { field } },
    );
  return name;
}

/**
 * `password` when its length is acceptable, else `ERR_REQUEST_INVALID` naming `field`.
 *
 * @example
 * ```ts
 * checkPassword(body.password, 'password');
 * ```
 */
export function checkPassword(password: string, field: string): string {
  if (password.length < MIN_PASSWORD_CHARS || password.length > MAX_PASSWORD_CHARS)
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      `${field} must have ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters (got ${password.length})`,
      { details: { field } },
    );
  return password;
}

const notFound = (name: string): SigilError =>
  new SigilError('ERR_NOT_FOUND', `no console user "${name}"`, { details: { field: 'name' } });

/** A password set now: `generated` when none was given (the caller shows it once). */
export interface PasswordOutcome {
  password: string;
  generated: boolean;
}

const choose = (password: string | undefined): PasswordOutcome =>
  password === undefined
    ? { password: generatePassword(), generated: true }
    : { password: checkPassword(password, 'password'), generated: false };

/**
 * Creates a console user with `password` or a generated one; `ERR_ADMIN_USER_EXISTS` when the
 * name is taken, `ERR_REQUEST_INVALID` for a bad name or password.
 *
 * @example
 * ```ts
 * const { password, generated } = await addAdminUser(store.adminAuth, { name: 'alice', role: 'viewer', now: new Date() });
 * ```
 */
export async function addAdminUser(
  store: AdminAuthStore,
  request: { name: string; role: AdminUserRole; password?: string | undefined; now: Date },
): Promise<PasswordOutcome> {
  const name = checkUserName(request.name, 'name');
  const outcome = choose(request.password);
  const at = request.now.getTime();
  const created = await store.createUser({
    name,
    role: request.role,
    passwordHash: await hashPassword(outcome.password),
    createdAt: at,
    updatedAt: at,
  });
  if (!created)
    throw new SigilError('ERR_ADMIN_USER_EXISTS', `console user "${name}" already exists`, {
      details: { field: 'name' },
    });
  return outcome;
}

/**
 * Deletes a console user with its sessions and API tokens (at once, on every replica);
 * `ERR_NOT_FOUND` when there is none.
 *
 * @example
 * ```ts
 * await removeAdminUser(store.adminAuth, 'alice');
 * ```
 */
export async function removeAdminUser(store: AdminAuthStore, name: string): Promise<void> {
  if (!(await store.deleteUser(name))) throw notFound(name);
}

/**
 * Sets a console user's password (`password`, or a generated one) and ends all their sessions;
 * `ERR_NOT_FOUND` when there is no such user.
 *
 * @example
 * ```ts
 * const { password } = await setAdminPassword(store.adminAuth, 'alice', undefined, new Date());
 * ```
 */
export async function setAdminPassword(
  store: AdminAuthStore,
  name: string,
  password: string | undefined,
  now: Date,
): Promise<PasswordOutcome> {
  const outcome = choose(password);
  if (!(await store.setPassword(name, await hashPassword(outcome.password), now.getTime())))
    throw notFound(name);
  return outcome;
}
