// The JWT authority endpoints of the admin API: /api/admin/jwt-authority and its three rotation
// steps. The steps are in jwt-authority.ts; here: the request, the audit record, the answer.
import type { IncomingMessage } from 'node:http';
import { SigilError } from '@sigil/errors';
import type { AdminRoute } from '../admin-api';
import type { ControllerContext } from './context';
import type { JwtAuthority, JwtAuthorityStatus } from './jwt-authority';
import { adminActorName } from './admin-actor';

/**
 * The JWT authority as the admin API shows it: the bundle version, the published keys, and when
 * the previous key may retire.
 *
 * @example
 * ```ts
 * res.end(JSON.stringify(jwtAuthorityJson(jwt.status(), 300)));
 * ```
 */
export function jwtAuthorityJson(status: JwtAuthorityStatus, maxJwtTtlSeconds: number) {
  const previous = status.keys.find((k) => k.role === 'previous');
  return {
    bundle_version: status.version,
    keys: status.keys.map((k) => ({ role: k.role, kid: k.kid, since: k.since.toISOString() })),
    retire_allowed_at:
      previous === undefined
        ? null
        : new Date(previous.since.getTime() + maxJwtTtlSeconds * 1000).toISOString(),
  };
}

async function retireBody(
  req: IncomingMessage,
  readJsonObject: (req: IncomingMessage) => Promise<Record<string, unknown>>,
): Promise<{ force: boolean }> {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0'))
    return { force: false };
  const body = await readJsonObject(req);
  for (const key of Object.keys(body))
    if (key !== 'force')
      throw new SigilError('ERR_REQUEST_INVALID', `unknown field "${key}" (expected force)`, {
        details: { field: key },
      });
  if (body.force !== undefined && typeof body.force !== 'boolean')
    throw new SigilError('ERR_REQUEST_INVALID', 'force must be true or false', {
      details: { field: 'force' },
    });
  return { force: body.force === true };
}

/**
 * `GET /api/admin/jwt-authority` and `POST /api/admin/jwt-authority/{prepare,activate,retire}`
 * (retire takes `{"force": true}` to go ahead before the previous key's JWT-SVIDs have expired),
 * as admin API routes. Each step is audited (`admin.jwt_authority_prepared`, `_activated`,
 * `_retired`; a refusal with outcome `refused`) and its new JWT bundle reaches the connectors
 * through `jwt.onChanged`.
 *
 * @example
 * ```ts
 * routes: [...createCaRoutes(ca), ...jwtAuthorityRoutes(ctx, jwt, readJsonObject)],
 * ```
 */
export function jwtAuthorityRoutes(
  ctx: ControllerContext,
  jwt: JwtAuthority,
  readJsonObject: (req: IncomingMessage) => Promise<Record<string, unknown>>,
): AdminRoute[] {
  // The longest JWT-SVID lifetime an entry asks for: how long a retired key's tokens may live.
  const maxJwtTtlSeconds = async (): Promise<number> =>
    Math.max(0, ...(await ctx.store.listEntries()).map((e) => e.jwtTtlSeconds));
  const step =
    (
      action: string,
      work: (req: IncomingMessage, maxTtl: number) => Promise<JwtAuthorityStatus>,
    ): AdminRoute['methods'][string] =>
    async (req) => {
      const maxTtl = await maxJwtTtlSeconds();
      let status: JwtAuthorityStatus;
      try {
        status = await work(req, maxTtl);
      } catch (err) {
        await ctx.audit.record({
          action,
          outcome: 'refused',
          actor: adminActorName(),
          subject: 'jwt-authority',
          details: { reason: (err as Error).message },
        });
        throw err;
      }
      await ctx.audit.record({
        action,
        outcome: 'success',
        actor: adminActorName(),
        subject: 'jwt-authority',
        details: {
          bundle_version: status.version,
          keys: status.keys.map((k) => `${k.role}:${k.kid}`),
        },
      });
      return { status: 200, body: jwtAuthorityJson(status, maxTtl) };
    };
  return [
    {
      pattern: /^jwt-authority$/,
      methods: {
        GET: async () => ({
          status: 200,
          body: jwtAuthorityJson(jwt.status(), await maxJwtTtlSeconds()),
        }),
      },
    },
    {
      pattern: /^jwt-authority\/prepare$/,
      methods: { POST: step('admin.jwt_authority_prepared', () => jwt.prepare(ctx.clock())) },
    },
    {
      pattern: /^jwt-authority\/activate$/,
      methods: { POST: step('admin.jwt_authority_activated', () => jwt.activate(ctx.clock())) },
    },
    {
      pattern: /^jwt-authority\/retire$/,
      methods: {
        POST: step('admin.jwt_authority_retired', async (req, maxTtl) =>
          jwt.retire({
            now: ctx.clock(),
            maxJwtTtlSeconds: maxTtl,
            force: (await retireBody(req, readJsonObject)).force,
          }),
        ),
      },
    },
  ];
}
