import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, SigilError, errorInfo, toProblemDetails } from '@sigil/errors';
import { policyRoutes } from './admin-policy-routes';
import type { AdminOperations } from './domain/admin-operations';
import type { AgentVersionsReport } from './domain/agent-version-pins';
import type { PolicyOperations } from './domain/resource-operations';
import type { PendingToken } from './domain/tokens';
import type { AdminGuard } from './internal/admin-guard';
import { agentSpiffeId } from './internal/agent-identity';
import { entryRoutes } from './internal/admin-entries-routes';
import type { WorkloadRegistry } from './internal/workload-registry';
import type { ControllerContext } from './internal/context';
import { secretMatchesHash } from './internal/secrets';
import type { AgentKind, AuditRecord, RevocationRecord } from './store/store';

/** The largest request body the admin API reads. */
export const ADMIN_MAX_BODY_BYTES = 16 * 1024;

const PREFIX = '/api/admin/';
const MAX_AUDIT_LIMIT = 1000;

/** What the admin API needs from the controller: the shared context and the operator actions. */
export interface AdminApiDependencies {
  ctx: ControllerContext;
  /** The operator actions (the same the `Controller` methods call). */
  admin: AdminOperations;
  /** SHA-256 (hex) of the admin bearer token. */
  adminTokenHash: () => string;
  /** Asked first: refuses a malformed target (400) and a throttled address (429). */
  guard: AdminGuard;
  bootstrapCaPem: () => string;
  /** Data-plane resources and grants (`/api/admin/resources`, `/api/admin/grants`). */
  policy?: PolicyOperations;
  /** Registration entries (`/api/admin/entries`). */
  workloads?: WorkloadRegistry;
  /** More endpoints under `/api/admin/` (e.g. the CA steps of ca-admin-routes.ts). */
  routes?: AdminRoute[];
  /** The `host:port` the gRPC port listens on (`GET /api/admin/summary`'s `grpc_listen_addr`). */
  grpcListenAddress?: () => string;
  /** Set when the admin server (admin-server/) has already authenticated the request. */
  skipAuthentication?: boolean;
}

/** One admin endpoint's method: its captured path parameters in, status and body out. */
export type AdminHandler = (req: IncomingMessage, url: URL, params: string[]) => Promise<Reply>;
type Handler = AdminHandler;
interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}
/** An admin endpoint: a path pattern below `/api/admin/` and its methods. */
export interface AdminRoute {
  pattern: RegExp;
  methods: Record<string, Handler>;
}
type Route = AdminRoute;

const badRequest = (reason: string, field?: string): SigilError =>
  new SigilError('ERR_REQUEST_INVALID', reason, field === undefined ? {} : { details: { field } });

/**
 * The admin HTTP API (`/api/admin/...`, JSON with snake_case fields, `Authorization: Bearer`),
 * as a handler for @sigil/runtime's `startHttpEndpoint`, which serves /healthz, /readyz and
 * /metrics without authentication on the same server. Client mistakes get 400/401/404/405/409/413
 * with an RFC 9457 problem body (`application/problem+json`) from `toProblemDetails` of
 * @sigil/errors, which keeps the fields `error`, `reason` and `field`; only a controller fault is
 * a 500.
 *
 * @example
 * ```ts
 * const http = await startHttpEndpoint({ host, port, registry, logger, isReady, handler: createAdminHandler(deps) });
 * ```
 */
export function createAdminHandler(
  deps: AdminApiDependencies,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const { ctx, admin } = deps;
  const revokeRoute =
    (kind: AgentKind): Handler =>
    async (req, _url, [id]) =>
      revoke(req, kind, decodePathSegment(id!));
  const routes: Route[] = [
    {
      pattern: /^tokens$/,
      methods: {
        POST: (req) => createToken(req),
        GET: async () => ({ status: 200, body: (await admin.listTokens()).map(tokenJson) }),
      },
    },
    {
      pattern: /^tokens\/([^/]+)$/,
      methods: {
        DELETE: async (_req, _url, [id]) => ({
          status: 200,
          body: tokenJson(await admin.cancelToken(decodePathSegment(id!))),
        }),
      },
    },
    {
      pattern: /^connectors$/,
      methods: {
        GET: async () => {
          const expiry = await certificateExpiries(ctx, 'connector');
          const body = admin.listConnectors().map((c) => connectorJson(c, expiry.get(c.id)));
          return { status: 200, body };
        },
      },
    },
    {
      pattern: /^connectors\/([^/]+)\/renew$/,
      methods: { POST: async (_req, _url, [id]) => requestRenewal(decodePathSegment(id!)) },
    },
    { pattern: /^connectors\/([^/]+)\/revoke$/, methods: { POST: revokeRoute('connector') } },
    {
      pattern: /^tunnelers$/,
      methods: {
        GET: async () => {
          const expiry = await certificateExpiries(ctx, 'tunneler');
          const body = admin.listTunnelers().map((t) => tunnelerJson(t, expiry.get(t.id)));
          return { status: 200, body };
        },
      },
    },
    { pattern: /^tunnelers\/([^/]+)\/revoke$/, methods: { POST: revokeRoute('tunneler') } },
    {
      pattern: /^revocations$/,
      methods: {
        GET: async (_req, url) => ({
          status: 200,
          body: (await admin.listRevocations(integerParam(url, 'limit', 1, 1000) ?? 100)).map((r) =>
            revocationJson(r, ctx.trustDomain),
          ),
        }),
      },
    },
    {
      pattern: /^agent-versions$/,
      methods: {
        GET: async () => ({ status: 200, body: agentVersionsJson(admin.agentVersions()) }),
        PUT: async (req) => ({
          status: 200,
          body: agentVersionsJson(await admin.setAgentVersions(await readJsonObject(req))),
        }),
      },
    },
    { pattern: /^audit$/, methods: { GET: async (_req, url) => listAudit(url) } },
    { pattern: /^summary$/, methods: { GET: async () => summary() } },
    {
      pattern: /^bootstrap-ca$/,
      methods: {
        GET: async () => ({
          status: 200,
          body: deps.bootstrapCaPem(),
          contentType: 'application/x-pem-file',
        }),
      },
    },
    ...(deps.policy === undefined
      ? []
      : policyRoutes(deps.policy, { readJsonObject, decodePathSegment })),
    ...(deps.routes ?? []),
  ];
  if (deps.workloads !== undefined)
    routes.push(...entryRoutes(deps.workloads, readJsonObject, decodePathSegment));

  async function createToken(req: IncomingMessage): Promise<Reply> {
    const body = await readJsonObject(req);
    for (const key of Object.keys(body)) {
      if (!['kind', 'id', 'connector_id', 'ttl_seconds', 'labels'].includes(key))
        throw badRequest(
          `unknown field "${key}" (expected kind, id, connector_id, ttl_seconds, labels)`,
          key,
        );
    }
    // A bad field rejects with ERR_TOKEN_REQUEST_INVALID naming it in details.field: a 400.
    const created = await admin.createToken({
      kind: body.kind,
      id: body.id,
      connectorId: body.connector_id,
      ttlSeconds: body.ttl_seconds,
      labels: body.labels,
    });
    return {
      status: 201,
      body: {
        token: created.token,
        expires_at: created.expiresAt.toISOString(),
        kind: body.kind,
        id: body.id,
        ...(body.kind === 'tunneler' ? { connector_id: body.connector_id } : {}),
        spiffe_id: created.spiffeId,
      },
    };
  }

  async function requestRenewal(connectorId: string): Promise<Reply> {
    const commandId = await admin.requestRenewal(connectorId);
    return { status: 202, body: { command_id: commandId, connector_id: connectorId } };
  }

  async function revoke(req: IncomingMessage, kind: AgentKind, id: string): Promise<Reply> {
    const body = await readJsonObject(req);
    for (const key of Object.keys(body)) {
      if (key !== 'reason') throw badRequest(`unknown field "${key}" (expected reason)`, key);
    }
    const { revocation, created } = await admin.revoke(kind, id, body.reason);
    return { status: created ? 201 : 200, body: revocationJson(revocation, ctx.trustDomain) };
  }

  async function listAudit(url: URL): Promise<Reply> {
    const limit = integerParam(url, 'limit', 1, MAX_AUDIT_LIMIT) ?? 100;
    const beforeId = integerParam(url, 'before', 1, Number.MAX_SAFE_INTEGER);
    const action = url.searchParams.get('action') ?? undefined;
    if (action !== undefined && !/^[a-z_.]{1,64}$/.test(action))
      throw badRequest('action must look like enrollment.refused', 'action');
    const records = await ctx.store.listAudit({
      limit,
      ...(beforeId === undefined ? {} : { beforeId }),
      ...(action === undefined ? {} : { action }),
    });
    return { status: 200, body: records.map(auditJson) };
  }

  async function summary(): Promise<Reply> {
    const counts = ctx.registry.counts();
    const tally = (c: { online: number; offline: number }) => ({
      total: c.online + c.offline,
      online: c.online,
      offline: c.offline,
    });
    const latest = await ctx.store.listAudit({ limit: 10 });
    return {
      status: 200,
      body: {
        connectors: tally(counts.connector),
        tunnelers: tally(counts.tunneler),
        latest_activity: latest.map(auditJson),
        grpc_listen_addr: deps.grpcListenAddress?.() ?? null,
      },
    };
  }

  return async (req, res) => {
    let url = new URL('http://admin/');
    try {
      url = deps.guard.admit(req);
      if (!url.pathname.startsWith(PREFIX)) return false;
      if (deps.skipAuthentication !== true) await checkAdminBearer(deps, req, url.pathname);
      const rest = url.pathname.slice(PREFIX.length);
      const route = routes.find((r) => r.pattern.test(rest));
      if (route === undefined)
        throw new SigilError('ERR_NOT_FOUND', `no admin endpoint ${url.pathname}`);
      const handler = route.methods[req.method ?? ''];
      if (handler === undefined) {
        const allow = Object.keys(route.methods).join(', ');
        throw new SigilError(
          'ERR_METHOD_NOT_ALLOWED',
          `${req.method ?? ''} is not allowed on ${url.pathname} (allowed: ${allow})`,
          { details: { allow } },
        );
      }
      const reply = await handler(req, url, route.pattern.exec(rest)!.slice(1));
      send(res, reply.status, reply.body, reply.contentType);
    } catch (err) {
      // A controller fault goes on to startHttpEndpoint: logged, and a bare 500.
      // (A store outage is no fault of the controller: 503 with its reason and Retry-After.)
      if (
        !(err instanceof SigilError) ||
        (errorInfo(err.code).httpStatus >= 500 && err.code !== 'ERR_STORE_UNAVAILABLE')
      )
        throw err;
      drain(req);
      const problem = toProblemDetails(err, { instance: url.pathname });
      send(res, problem.status, problem, PROBLEM_CONTENT_TYPE, problemHeaders(err));
    }
    return true;
  };
}

/**
 * Checks the `Authorization: Bearer` header against the admin token's hash. A wrong or missing
 * token counts against the address in `guard`, is counted in the refusals metric, audited as
 * `admin.unauthorized`, and rejects with `ERR_ADMIN_UNAUTHORIZED` (401).
 *
 * @example
 * ```ts
 * await checkAdminBearer(deps, req, '/api/admin/tokens'); // throws ERR_ADMIN_UNAUTHORIZED
 * ```
 */
export async function checkAdminBearer(
  deps: Pick<AdminApiDependencies, 'ctx' | 'guard' | 'adminTokenHash'>,
  req: IncomingMessage,
  path: string,
): Promise<void> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match !== null && secretMatchesHash(match[1]!, deps.adminTokenHash())) return;
  await recordAdminRefusal(
    deps,
    req,
    path,
    header === '' ? 'missing Authorization header' : 'wrong credentials',
  );
  throw new SigilError(
    'ERR_ADMIN_UNAUTHORIZED',
    header === '' ? 'missing Authorization: Bearer <admin token>' : 'invalid admin token',
  );
}

/**
 * Records a failed admin authentication from `req`: it counts against the address in `guard`
 * (429 beyond `ADMIN_AUTH_FAILURES_PER_MINUTE`), in the refusals metric, and as an
 * `admin.unauthorized` audit refusal with `reason`.
 *
 * @example
 * ```ts
 * await recordAdminRefusal(deps, req, '/api/admin/session', 'wrong user name or password');
 * ```
 */
export async function recordAdminRefusal(
  deps: Pick<AdminApiDependencies, 'ctx' | 'guard'>,
  req: IncomingMessage,
  path: string,
  reason: string,
): Promise<void> {
  deps.guard.failed(req);
  deps.ctx.metrics.refusals.inc({ reason: 'admin_unauthorized' });
  await deps.ctx.audit.record({
    action: 'admin.unauthorized',
    outcome: 'refused',
    actor: req.socket.remoteAddress ?? 'unknown',
    subject: `${req.method ?? ''} ${path}`,
    details: { reason },
  });
}

/**
 * The headers HTTP asks for with some refusals: `WWW-Authenticate` with a 401, `Allow` with a 405,
 * `Retry-After` with a 429 or a store outage's 503.
 *
 * @example
 * ```ts
 * res.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE, ...problemHeaders(err) });
 * ```
 */
export function problemHeaders(err: SigilError): Record<string, string> {
  const allow = err.details.allow;
  switch (err.code) {
    case 'ERR_ADMIN_UNAUTHORIZED':
      return { 'www-authenticate': 'Bearer realm="sigil-admin"' };
    case 'ERR_METHOD_NOT_ALLOWED':
      return typeof allow === 'string' ? { allow } : {};
    case 'ERR_PAYLOAD_TOO_LARGE':
      return { connection: 'close' };
    case 'ERR_RATE_LIMITED':
      return { 'retry-after': String(err.details.retryAfterSeconds ?? 60) };
    case 'ERR_STORE_UNAVAILABLE':
      return { 'retry-after': String(err.details.retryAfterSeconds ?? 5) };
    default:
      return {};
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(
      `the path segment "${segment.slice(0, 140)}" is not valid percent-encoding`,
      'id',
    );
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType?: string,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType ?? 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Discards an unread request body so the connection stays usable (or closes cleanly). */
function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

/**
 * The request body as a JSON object, at most {@link ADMIN_MAX_BODY_BYTES}; `ERR_REQUEST_INVALID` otherwise.
 *
 * @example
 * ```ts
 * const body = await readJsonObject(req);
 * ```
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? '0');
  const tooLarge = new SigilError(
    'ERR_PAYLOAD_TOO_LARGE',
    `request body exceeds ${ADMIN_MAX_BODY_BYTES} bytes`,
    { details: { limitBytes: ADMIN_MAX_BODY_BYTES } },
  );
  if (declared > ADMIN_MAX_BODY_BYTES) throw tooLarge;
  const body = await new Promise<Buffer>((resolve, reject) => {
    // Listeners, not `for await`: leaving an async iterator early destroys the socket before the
    // 413 could be sent. Past the limit the rest of the body is read and discarded.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > ADMIN_MAX_BODY_BYTES) reject(tooLarge);
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body must be a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest('the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function integerParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max)
    throw badRequest(`${name} must be a whole number from ${min} to ${max}`, name);
  return value;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** When each agent's latest unexpired certificate expires (Unix ms), by agent id. */
async function certificateExpiries(
  ctx: ControllerContext,
  kind: AgentKind,
): Promise<Map<string, number>> {
  const live = await ctx.store.listLiveCertificates(ctx.clock().getTime());
  return new Map(live.filter((c) => c.kind === kind).map((c) => [c.agentId, c.notAfter]));
}

function connectorJson(
  c: ReturnType<ControllerContext['registry']['listConnectors']>[number],
  certificateNotAfter: number | undefined,
) {
  return {
    id: c.id,
    private_ip: c.privateIp,
    last_seen: iso(c.lastSeen),
    version: c.version,
    status: c.status,
    connected: c.connected,
    clock_skew_ms: c.clockSkewMs,
    upgrade_required: c.upgradeRequired,
    certificate_expires_at: iso(certificateNotAfter ?? null),
  };
}

function tunnelerJson(
  t: ReturnType<ControllerContext['registry']['listTunnelers']>[number],
  certificateNotAfter: number | undefined,
) {
  return {
    id: t.id,
    connector_id: t.connectorId,
    last_seen: iso(t.lastSeen),
    version: t.version,
    status: t.status,
    clock_skew_ms: t.clockSkewMs,
    upgrade_required: t.upgradeRequired,
    certificate_expires_at: iso(certificateNotAfter ?? null),
  };
}

function agentVersionsJson(report: AgentVersionsReport) {
  const { pins, graceMs } = report;
  const deadline = (setAt: number | undefined): string | null =>
    setAt === undefined || graceMs === undefined ? null : iso(setAt + graceMs);
  return {
    connector_min: pins.connector?.minimum ?? null,
    tunneler_min: pins.tunneler?.minimum ?? null,
    connector_min_set_at: iso(pins.connector?.setAt ?? null),
    tunneler_min_set_at: iso(pins.tunneler?.setAt ?? null),
    upgrade_grace_seconds: graceMs === undefined ? null : graceMs / 1000,
    connector_deadline: deadline(pins.connector?.setAt),
    tunneler_deadline: deadline(pins.tunneler?.setAt),
    upgrade_required: {
      connectors: report.upgradeRequired.connector,
      tunnelers: report.upgradeRequired.tunneler,
    },
  };
}

function auditJson(r: AuditRecord) {
  return {
    id: r.id,
    at: iso(r.at),
    action: r.action,
    outcome: r.outcome,
    actor: r.actor,
    subject: r.subject,
    details: r.details,
  };
}

function tokenJson(t: PendingToken) {
  return {
    token_id: t.tokenId,
    kind: t.kind,
    id: t.agentId,
    ...(t.connectorId === null ? {} : { connector_id: t.connectorId }),
    created_at: iso(t.createdAt),
    expires_at: iso(t.expiresAt),
  };
}

function revocationJson(r: RevocationRecord, trustDomain: string) {
  return {
    id: r.id,
    kind: r.kind,
    agent_id: r.agentId,
    spiffe_id: agentSpiffeId(trustDomain, r.kind, r.agentId),
    reason: r.reason,
    revoked_at: iso(r.revokedAt),
    actor: r.actor,
    active: r.liftedAt === null,
    lifted_at: iso(r.liftedAt),
  };
}
