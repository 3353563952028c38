import type { FastifyPluginAsync } from 'fastify';
import { SigilError } from '@sigil/errors';
import { recordAdminRefusal } from '../admin-api';
import type { AdminApiDependencies } from '../admin-api';
import { verifyPassword } from '../admin-auth/password';
import { SESSION_COOKIE } from '../admin-auth/sessions';
import { MAX_PASSWORD_CHARS, MAX_USER_NAME_CHARS } from '../admin-auth/users';
import type { AdminSessions } from '../admin-auth/sessions';
import type { RateLimiter } from '../internal/rate-limiter';
import type { AdminUserRecord } from '../store/admin-auth-store';
import { CLEARED_SESSION_COOKIE, sessionCookieOf } from './authenticator';
import { requestOrigin } from './principal';
import { isoTime, problems } from './schemas';

/**
 * At most this many sign-ins check a password at once (each scrypt check takes 32 MiB and tens of
 * milliseconds); more get 429 with `Retry-After`, so a flood cannot exhaust memory.
 */
export const MAX_CONCURRENT_SIGN_INS = 4;

/** Options of {@link sessionRoutes}. */
export interface SessionRoutesOptions extends Pick<AdminApiDependencies, 'ctx' | 'guard'> {
  sessions: AdminSessions;
  /** Failed sign-ins per user name (`ADMIN_SIGN_IN_FAILURES_PER_MINUTE`; bounded key count). */
  userFailures: RateLimiter;
}

const role = { type: 'string', enum: ['viewer', 'admin'] } as const;

const signInSchema = {
  summary: 'Sign in: starts a console session (cookie sigil_session)',
  tags: ['session'],
  body: {
    type: 'object',
    required: ['username', 'password'],
    additionalProperties: false,
    properties: {
      username: { type: 'string', minLength: 1, maxLength: MAX_USER_NAME_CHARS },
      password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_CHARS },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['user', 'role', 'csrf_token', 'idle_expires_at', 'expires_at'],
      properties: {
        user: { type: 'string' },
        role,
        csrf_token: {
          type: 'string',
          description: 'send it as X-CSRF-Token on every state-changing request',
        },
        idle_expires_at: isoTime,
        expires_at: isoTime,
      },
    },
    ...problems,
  },
} as const;

const whoamiSchema = {
  summary: 'Who is signed in (any authentication)',
  tags: ['session'],
  response: {
    200: {
      type: 'object',
      required: ['user', 'role', 'via'],
      properties: {
        user: { type: 'string' },
        role,
        via: { type: 'string', enum: ['session', 'api-token', 'admin-token'] },
        csrf_token: { type: 'string', description: 'only with via=session' },
        idle_expires_at: { ...isoTime, description: 'only with via=session' },
        expires_at: { ...isoTime, description: 'only with via=session' },
      },
    },
    ...problems,
  },
} as const;

const signOutSchema = {
  summary: 'Sign out: ends the session on every replica and clears the cookie',
  tags: ['session'],
  response: { 204: { type: 'null' }, ...problems },
} as const;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `POST`, `GET` and `DELETE /api/admin/session`: sign-in (public; throttled per source address by
 * the admin guard and per user name by `userFailures`, 429 with `Retry-After`; a wrong name or
 * password is one 401 message), who am I, and sign-out. The cookie is HttpOnly, SameSite=Strict,
 * Path=/, and Secure when the request came over TLS.
 *
 * @example
 * ```ts
 * await startAdminListener({ ...options, plugins: [sessionRoutes({ ctx, guard, sessions, userFailures })] });
 * ```
 */
export function sessionRoutes(options: SessionRoutesOptions): FastifyPluginAsync {
  const { ctx, guard, sessions, userFailures } = options;
  let checking = 0;
  return async (scope) => {
    scope.post<{ Body: { username: string; password: string } }>(
      '/session',
      { config: { public: true }, schema: signInSchema },
      async (request, reply) => {
        const path = guard.admit(request.raw).pathname;
        const { username, password } = request.body;
        const throttled = userFailures.peek(username);
        if (!throttled.allowed)
          throw new SigilError(
            'ERR_RATE_LIMITED',
            `too many failed sign-ins for this user: retry in ${throttled.retryAfterSeconds} s`,
            { details: { retryAfterSeconds: throttled.retryAfterSeconds } },
          );
        if (checking >= MAX_CONCURRENT_SIGN_INS)
          throw new SigilError(
            'ERR_RATE_LIMITED',
            `${MAX_CONCURRENT_SIGN_INS} sign-ins are being checked: retry in a second`,
            { details: { retryAfterSeconds: 1 } },
          );
        checking += 1;
        let user: AdminUserRecord | undefined;
        let matches: boolean;
        try {
          user = await ctx.store.adminAuth.getUser(username);
          // Checked against a dummy hash for an unknown user: the same time and the same answer.
          matches = await verifyPassword(password, user?.passwordHash);
        } finally {
          checking -= 1;
        }
        if (!matches || user === undefined) {
          userFailures.take(username);
          await recordAdminRefusal(options, request.raw, path, 'wrong user name or password');
          throw new SigilError('ERR_ADMIN_UNAUTHORIZED', 'wrong user name or password');
        }
        const origin = requestOrigin(request);
        const { cookie, session } = await sessions.signIn(user, origin);
        await ctx.audit.record({
          action: 'admin.signed_in',
          outcome: 'success',
          actor: user.name,
          subject: user.name,
          details: { address: origin.address, user_agent: origin.userAgent, via: 'session' },
        });
        reply.setCookie(SESSION_COOKIE, cookie, {
          path: '/',
          httpOnly: true,
          sameSite: 'strict',
          secure: request.protocol === 'https',
          maxAge: Math.floor((session.expiresAt - session.createdAt) / 1000),
        });
        reply.header('cache-control', 'no-store');
        return {
          user: user.name,
          role: user.role,
          csrf_token: session.csrfToken,
          idle_expires_at: iso(session.idleExpiresAt),
          expires_at: iso(session.expiresAt),
        };
      },
    );
    scope.get('/session', { schema: whoamiSchema }, async (request, reply) => {
      const principal = request.principal!;
      const session = request.adminSession;
      reply.header('cache-control', 'no-store');
      return {
        ...principal,
        ...(session === undefined
          ? {}
          : {
              csrf_token: session.csrfToken,
              idle_expires_at: iso(session.idleExpiresAt),
              expires_at: iso(session.expiresAt),
            }),
      };
    });
    scope.delete(
      '/session',
      { config: { minimumRole: 'viewer' }, schema: signOutSchema },
      async (request, reply) => {
        const principal = request.principal!;
        const cookie = sessionCookieOf(request);
        if (principal.via === 'session' && cookie !== undefined) {
          await sessions.signOut(cookie);
          await ctx.audit.record({
            action: 'admin.signed_out',
            outcome: 'success',
            actor: principal.user,
            subject: principal.user,
            details: {},
          });
        }
        reply.clearCookie(SESSION_COOKIE, CLEARED_SESSION_COOKIE);
        return reply.code(204).send();
      },
    );
  };
}
