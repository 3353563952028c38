import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { userV1 } from '@sigil/proto';
import {
  assertArgument,
  paginate,
  rpcError,
  type Page,
  type PageRequest,
} from '@sigil/grpc-service';

/**
 * The in-memory user directory of user-service: users live in exactly one tenant.
 *
 * @example
 * ```ts
 * const users: UserStore = createUserStore();
 * ```
 */
export interface UserStore {
  /** Creates a user; a bad request throws INVALID_ARGUMENT, a taken email ALREADY_EXISTS. */
  create(request: userV1.CreateUserRequest): userV1.User;
  /** The user with this id, if any (any tenant: the caller checks tenancy). */
  get(id: string): userV1.User | undefined;
  /** One page of a tenant's users in creation order. */
  list(tenantId: string, page: PageRequest): Page<userV1.User>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_DISPLAY_NAME = 100;

/**
 * Creates the user directory. Emails are unique per tenant (case-insensitively); ids are random
 * (`usr_` + 16 hex digits) so they reveal nothing about other tenants.
 *
 * @example
 * ```ts
 * const users = createUserStore({ now: () => Date.now() });
 * const ada = users.create({ tenantId: 'acme', displayName: 'Ada', email: 'ada@acme.test' });
 * users.list('acme', { pageSize: 0, pageToken: '' }); // { items: [ada], nextPageToken: '' }
 * ```
 */
export function createUserStore(options: { now?: () => number } = {}): UserStore {
  const now = options.now ?? Date.now;
  const byId = new Map<string, userV1.User>();
  const byTenant = new Map<string, userV1.User[]>();
  const emails = new Set<string>();

  return {
    create({ tenantId, displayName, email }) {
      assertArgument(tenantId.trim() !== '', 'tenant_id is required');
      assertArgument(displayName.trim() !== '', 'display_name is required');
      assertArgument(
        displayName.length <= MAX_DISPLAY_NAME,
        `display_name must be at most ${MAX_DISPLAY_NAME} characters`,
      );
      assertArgument(EMAIL.test(email), `email ${JSON.stringify(email)} is not an email address`);
      const emailKey = `${tenantId}\n${email.toLowerCase()}`;
      if (emails.has(emailKey))
        throw rpcError(
          grpc.status.ALREADY_EXISTS,
          `a user with email ${email} already exists in tenant ${tenantId}`,
        );
      const user: userV1.User = {
        id: `usr_${randomBytes(8).toString('hex')}`,
        tenantId,
        displayName: displayName.trim(),
        email,
        createdAt: now(),
      };
      emails.add(emailKey);
      byId.set(user.id, user);
      const tenant = byTenant.get(tenantId);
      if (tenant === undefined) byTenant.set(tenantId, [user]);
      else tenant.push(user);
      return user;
    },
    get: (id) => byId.get(id),
    list(tenantId, page) {
      assertArgument(tenantId.trim() !== '', 'tenant_id is required');
      return paginate(byTenant.get(tenantId) ?? [], page, { scope: `users:${tenantId}` });
    },
  };
}
