import { SigilError } from '@sigil/errors';
import { checkAdminBearer } from '../admin-api';
import type { AdminApiDependencies } from '../admin-api';
import { problem } from './admin-server';
import type { AdminAuthenticator } from './principal';

/**
 * The admin server's default authenticator: the `SIGIL_ADMIN_TOKEN` bearer check of admin-api.ts
 * (throttled per address by `guard`: 429 with `Retry-After`; a malformed target 400; a wrong or
 * missing token 401 with `WWW-Authenticate`, audited as `admin.unauthorized`). A good token is
 * the principal `admin` with the admin role.
 *
 * @example
 * ```ts
 * const app = await createAdminServer({ legacy, authenticate: createBearerAuthenticator(deps) });
 * ```
 */
export function createBearerAuthenticator(
  deps: Pick<AdminApiDependencies, 'ctx' | 'guard' | 'adminTokenHash'>,
): AdminAuthenticator {
  return async (request, reply) => {
    let path = request.url;
    try {
      path = deps.guard.admit(request.raw).pathname;
      await checkAdminBearer(deps, request.raw, path);
      request.principal = { user: 'admin', role: 'admin', via: 'admin-token' };
    } catch (err) {
      if (!(err instanceof SigilError)) throw err;
      problem(reply, err, path);
    }
  };
}
