// Who is behind the admin request being served: the admin server runs each authenticated request
// inside runAsAdminActor, so what it does is audited with the principal's user name, source
// address and user agent, without passing them through every operation.
import { AsyncLocalStorage } from 'node:async_hooks';

/** The principal of an admin request and where it came from. */
export interface AdminActor {
  /** The user name (`admin` for the SIGIL_ADMIN_TOKEN bearer). */
  user: string;
  /** How it authenticated: `session`, `api-token` or `admin-token`. */
  via: string;
  address: string;
  userAgent: string;
}

/** The actor of operations started outside an admin request (in-process calls, tests). */
export const DEFAULT_ADMIN_ACTOR = 'admin';

const storage = new AsyncLocalStorage<AdminActor>();

/**
 * Runs `work` (and everything it starts) as `actor`.
 *
 * @example
 * ```ts
 * runAsAdminActor({ user: 'alice', via: 'session', address: '10.0.0.9', userAgent: 'curl/8' }, done);
 * ```
 */
export function runAsAdminActor<T>(actor: AdminActor, work: () => T): T {
  return storage.run(actor, work);
}

/**
 * The actor of the admin request being served, if any.
 *
 * @example
 * ```ts
 * const actor = currentAdminActor();
 * ```
 */
export function currentAdminActor(): AdminActor | undefined {
  return storage.getStore();
}

/**
 * The user name to record as the actor of an operator action: the admin request's user, or
 * `admin` outside a request.
 *
 * @example
 * ```ts
 * await ctx.audit.record({ action: 'admin.token_created', outcome: 'success', actor: adminActorName(), subject, details });
 * ```
 */
export function adminActorName(): string {
  return storage.getStore()?.user ?? DEFAULT_ADMIN_ACTOR;
}
