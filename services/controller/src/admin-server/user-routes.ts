import type { FastifyPluginAsync } from 'fastify';
import { SigilError } from '@sigil/errors';
import type { AdminApiDependencies } from '../admin-api';
import type { AdminSessions } from '../admin-auth/sessions';
import {
  ADMIN_ROLES,
  MAX_PASSWORD_CHARS,
  MAX_USER_NAME_CHARS,
  addAdminUser,
  removeAdminUser,
  setAdminPassword,
} from '../admin-auth/users';
import type { AdminApiTokenRecord, AdminUserRecord } from '../store/admin-auth-store';
import type { AdminRole } from './principal';
import { isoTime, problems } from './schemas';

/** The longest lifetime of an API token: one year. */
export const MAX_API_TOKEN_TTL_SECONDS = 365 * 86_400;

/** Options of {@link userRoutes}. */
export interface UserRoutesOptions extends Pick<AdminApiDependencies, 'ctx'> {
  sessions: AdminSessions;
}

const role = { type: 'string', enum: ADMIN_ROLES } as const;
const nullableTime = { anyOf: [isoTime, { type: 'null' }] } as const;
const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'the user name' } },
} as const;
const generatedPassword = {
  type: 'string',
  description: 'only when generated (no password given): shown this once',
} as const;
const password = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_CHARS } as const;
const noContent = { 204: { type: 'null' }, ...problems } as const;

const user = {
  type: 'object',
  required: ['name', 'role', 'created_at', 'updated_at'],
  properties: { name: { type: 'string' }, role, created_at: isoTime, updated_at: isoTime },
} as const;

const apiToken = {
  type: 'object',
  required: ['id', 'name', 'user', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    user: { type: 'string' },
    created_at: isoTime,
    expires_at: isoTime,
    last_used_at: nullableTime,
    revoked_at: nullableTime,
  },
} as const;

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const userJson = (u: AdminUserRecord) => ({
  name: u.name,
  role: u.role,
  created_at: iso(u.createdAt),
  updated_at: iso(u.updatedAt),
});

const apiTokenJson = (t: AdminApiTokenRecord) => ({
  id: t.id,
  name: t.name,
  user: t.userName,
  created_at: iso(t.createdAt),
  expires_at: iso(t.expiresAt),
  last_used_at: isoOrNull(t.lastUsedAt),
  revoked_at: isoOrNull(t.revokedAt),
});

const forbidden = (reason: string): SigilError => new SigilError('ERR_ADMIN_FORBIDDEN', reason);

/**
 * The console users (`/api/admin/users`, admin role; a user may change their own password) and
 * per-user API tokens (`/api/admin/api-tokens`: every user lists, creates and revokes their own,
 * an admin everyone's). Passwords and tokens are stored hashed; a generated password and a new
 * token are in the answer once. Removing a user or changing a password ends their sessions.
 *
 * @example
 * ```ts
 * await startAdminListener({ ...options, plugins: [userRoutes({ ctx, sessions })] });
 * ```
 */
export function userRoutes(options: UserRoutesOptions): FastifyPluginAsync {
  const { ctx, sessions } = options;
  const store = ctx.store.adminAuth;
  const audit = (action: string, actor: string, subject: string, details = {}) =>
    ctx.audit.record({ action, outcome: 'success', actor, subject, details });
  return async (scope) => {
    scope.get(
      '/users',
      {
        config: { minimumRole: 'admin' },
        schema: {
          summary: 'The console users (admin)',
          tags: ['users'],
          response: { 200: { type: 'array', items: user }, ...problems },
        },
      },
      async () => (await store.listUsers()).map(userJson),
    );
    scope.post<{ Body: { name: string; role: AdminRole; password?: string } }>(
      '/users',
      {
        schema: {
          summary: 'Create a console user (admin); without a password one is generated',
          tags: ['users'],
          body: {
            type: 'object',
            required: ['name', 'role'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', maxLength: MAX_USER_NAME_CHARS },
              role,
              password,
            },
          },
          response: {
            201: {
              type: 'object',
              required: ['name', 'role'],
              properties: { name: { type: 'string' }, role, password: generatedPassword },
            },
            ...problems,
          },
        },
      },
      async (request, reply) => {
        const { name, role: userRole, password: given } = request.body;
        const outcome = await addAdminUser(store, {
          name,
          role: userRole,
          password: given,
          now: ctx.clock(),
        });
        await audit('admin.user_created', request.principal!.user, name, { role: userRole });
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({
            name,
            role: userRole,
            ...(outcome.generated ? { password: outcome.password } : {}),
          });
      },
    );
    scope.delete<{ Params: { name: string } }>(
      '/users/:name',
      {
        schema: {
          summary: 'Remove a console user with their sessions and API tokens (admin)',
          tags: ['users'],
          params: nameParams,
          response: noContent,
        },
      },
      async (request, reply) => {
        await removeAdminUser(store, request.params.name);
        await audit('admin.user_removed', request.principal!.user, request.params.name);
        return reply.code(204).send();
      },
    );
    scope.put<{ Params: { name: string }; Body: { password?: string } | undefined }>(
      '/users/:name/password',
      {
        config: { minimumRole: 'viewer' },
        schema: {
          summary:
            "Set a user's password (admin, or the user itself); ends the user's sessions; without a password one is generated",
          tags: ['users'],
          params: nameParams,
          body: { type: 'object', additionalProperties: false, properties: { password } },
          response: {
            200: { type: 'object', properties: { password: generatedPassword } },
            ...problems,
          },
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        const { name } = request.params;
        if (principal.role !== 'admin' && principal.user !== name)
          throw forbidden(`${principal.user} may change only their own password, not ${name}'s`);
        const outcome = await setAdminPassword(store, name, request.body?.password, ctx.clock());
        await audit('admin.password_changed', principal.user, name);
        return reply
          .header('cache-control', 'no-store')
          .send(outcome.generated ? { password: outcome.password } : {});
      },
    );

    scope.get(
      '/api-tokens',
      {
        schema: {
          summary: "API tokens: an admin sees everyone's, a viewer their own",
          tags: ['api-tokens'],
          response: { 200: { type: 'array', items: apiToken }, ...problems },
        },
      },
      async (request) => {
        const principal = request.principal!;
        const tokens = await store.listApiTokens(
          principal.role === 'admin' ? undefined : principal.user,
        );
        return tokens.map(apiTokenJson);
      },
    );
    scope.post<{ Body: { name: string; expires_in_seconds: number } }>(
      '/api-tokens',
      {
        config: { minimumRole: 'viewer' },
        schema: {
          summary: "Create an API token of the signed-in user (with that user's role)",
          tags: ['api-tokens'],
          body: {
            type: 'object',
            required: ['name', 'expires_in_seconds'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 128 },
              expires_in_seconds: {
                type: 'integer',
                minimum: 60,
                maximum: MAX_API_TOKEN_TTL_SECONDS,
              },
            },
          },
          response: {
            201: {
              type: 'object',
              required: ['id', 'name', 'user', 'token', 'expires_at'],
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                user: { type: 'string' },
                token: {
                  type: 'string',
                  description: 'sigil_at_...: shown this once, stored hashed',
                },
                expires_at: isoTime,
              },
            },
            ...problems,
          },
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        if ((await store.getUser(principal.user)) === undefined)
          throw forbidden(
            `API tokens belong to a console user; there is no user "${principal.user}" (create it: sigil-controller admin-user add ${principal.user})`,
          );
        const created = await sessions.createApiToken(
          principal.user,
          request.body.name,
          request.body.expires_in_seconds,
        );
        await audit('admin.api_token_created', principal.user, created.id, {
          name: created.name,
          user: created.userName,
          expires_at: iso(created.expiresAt),
        });
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({
            id: created.id,
            name: created.name,
            user: created.userName,
            token: created.token,
            expires_at: iso(created.expiresAt),
          });
      },
    );
    scope.delete<{ Params: { id: string } }>(
      '/api-tokens/:id',
      {
        config: { minimumRole: 'viewer' },
        schema: {
          summary: 'Revoke an API token (your own; an admin any)',
          tags: ['api-tokens'],
          params: {
            type: 'object',
            required: ['id'],
            properties: { id: { type: 'string' } },
          },
          response: noContent,
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        const { id } = request.params;
        const revoked = await store.revokeApiToken(
          id,
          ctx.clock().getTime(),
          principal.role === 'admin' ? undefined : principal.user,
        );
        if (revoked === undefined)
          throw new SigilError('ERR_NOT_FOUND', `no unrevoked API token ${id} of yours`, {
            details: { field: 'id' },
          });
        await audit('admin.api_token_revoked', principal.user, id, {
          name: revoked.name,
          user: revoked.userName,
        });
        return reply.code(204).send();
      },
    );
  };
}
