import fastifyCookie from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import { SigilError } from '@sigil/errors';
import { recordAdminRefusal } from '../admin-api';
import type { AdminApiDependencies } from '../admin-api';
import {
  API_TOKEN_PREFIX,
  CSRF_HEADER,
  SESSION_COOKIE,
  csrfTokenMatches,
} from '../admin-auth/sessions';
import type { AdminSessions } from '../admin-auth/sessions';
import { problem } from './admin-server';
import type { AdminAuthenticator } from './principal';

/** Options of {@link createAdminAuthenticator}. */
export interface AdminAuthenticatorOptions extends Pick<AdminApiDependencies, 'ctx' | 'guard'> {
  /** The `SIGIL_ADMIN_TOKEN` check (`createBearerAuthenticator`), for every other bearer. */
  bearer: AdminAuthenticator;
  sessions: AdminSessions;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const API_TOKEN = new RegExp(`^Bearer\\s+(${API_TOKEN_PREFIX}\\S+)\\s*$`, 'i');

/** The options of the `Set-Cookie` that ends the session cookie in the browser. */
export const CLEARED_SESSION_COOKIE = {
  path: '/',
  httpOnly: true,
  sameSite: 'strict',
  maxAge: 0,
} as const;

/**
 * The `sigil_session` cookie of a request, parsed here: a request fastify could not route (a bad
 * URL) reaches the authenticator before the cookie plugin's hook.
 *
 * @example
 * ```ts
 * const cookie = sessionCookieOf(request);
 * ```
 */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header === undefined ? undefined : fastifyCookie.parse(header)[SESSION_COOKIE];
}

/**
 * The admin server's authenticator: `Authorization: Bearer sigil_at_...` (a user's API token, the
 * user's role), any other `Authorization` header (the `SIGIL_ADMIN_TOKEN` check of `bearer`), or
 * the `sigil_session` cookie (a console session, moved on by each use; a state-changing method
 * needs the session's `X-CSRF-Token`, else 403 `ERR_ADMIN_CSRF`). An unknown, expired or revoked
 * credential is a 401 counted against the address like a wrong admin token.
 *
 * @example
 * ```ts
 * const authenticate = createAdminAuthenticator({ ctx, guard, sessions, bearer: createBearerAuthenticator(deps) });
 * ```
 */
export function createAdminAuthenticator(options: AdminAuthenticatorOptions): AdminAuthenticator {
  const { guard, sessions } = options;
  return async (request, reply) => {
    const authorization = request.headers.authorization;
    const apiToken = API_TOKEN.exec(authorization ?? '')?.[1];
    const cookie = sessionCookieOf(request);
    if (apiToken === undefined && (authorization !== undefined || cookie === undefined))
      return options.bearer(request, reply);
    let path = request.url;
    try {
      path = guard.admit(request.raw).pathname;
      if (apiToken !== undefined) {
        const used = await sessions.useApiToken(apiToken);
        if (used === undefined) {
          await recordAdminRefusal(
            options,
            request.raw,
            path,
            'unknown, expired or revoked API token',
          );
          throw new SigilError('ERR_ADMIN_UNAUTHORIZED', 'unknown, expired or revoked API token');
        }
        request.principal = { user: used.user.name, role: used.user.role, via: 'api-token' };
        return;
      }
      const active = await sessions.resume(cookie!);
      if (active === undefined) {
        reply.clearCookie(SESSION_COOKIE, CLEARED_SESSION_COOKIE);
        await recordAdminRefusal(options, request.raw, path, 'unknown or expired session');
        throw new SigilError(
          'ERR_ADMIN_UNAUTHORIZED',
          'the session has ended (signed out or expired): sign in again',
        );
      }
      if (
        !SAFE_METHODS.has(request.method) &&
        !csrfTokenMatches(request.headers[CSRF_HEADER], active.session.csrfToken)
      )
        throw new SigilError(
          'ERR_ADMIN_CSRF',
          `${request.method} ${path} with the session cookie needs the session's X-CSRF-Token header`,
          { details: { field: 'X-CSRF-Token' } },
        );
      request.principal = { user: active.user.name, role: active.user.role, via: 'session' };
      request.adminSession = active.session;
    } catch (err) {
      if (!(err instanceof SigilError)) throw err;
      problem(reply, err, path);
    }
  };
}
