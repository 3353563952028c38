// Request and response schemas of the admin endpoints, for the OpenAPI description
// (`GET /api/admin/openapi.json`). The endpoints themselves (admin-api.ts, ca-admin-routes.ts)
// check their input and shape their answers; these schemas describe exactly that.
import type { FastifySchema } from 'fastify';

/** A time as the admin API writes it (ISO 8601, UTC). */
export const isoTime = { type: 'string', format: 'date-time' } as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] });
const agentKind = { type: 'string', enum: ['connector', 'tunneler'] } as const;
const status = { type: 'string', enum: ['ONLINE', 'OFFLINE', 'REVOKED'] } as const;

/** An RFC 9457 problem body (`application/problem+json`), as `toProblemDetails` writes it. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'the stable error code, e.g. ERR_REQUEST_INVALID' },
    error: { type: 'string', description: 'the same in snake case without ERR_ (bad_request)' },
    reason: { type: 'string' },
    field: { type: 'string', description: 'the request field at fault' },
  },
} as const;

/** The problem bodies every endpoint may answer with. */
export const problems = { '4XX': { $ref: 'Problem#' }, '5XX': { $ref: 'Problem#' } } as const;

const pendingToken = {
  type: 'object',
  required: ['token_id', 'kind', 'id', 'created_at', 'expires_at'],
  properties: {
    token_id: { type: 'string' },
    kind: agentKind,
    id: { type: 'string' },
    connector_id: { type: 'string', description: 'tunneler tokens only' },
    created_at: isoTime,
    expires_at: isoTime,
  },
} as const;

const revocation = {
  type: 'object',
  required: ['id', 'kind', 'agent_id', 'spiffe_id', 'revoked_at', 'active'],
  properties: {
    id: { type: 'integer' },
    kind: agentKind,
    agent_id: { type: 'string' },
    spiffe_id: { type: 'string' },
    reason: { type: 'string' },
    revoked_at: isoTime,
    actor: { type: 'string' },
    active: { type: 'boolean' },
    lifted_at: nullable(isoTime),
  },
} as const;

const agentParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'the agent id' } },
} as const;

const connector = {
  type: 'object',
  required: ['id', 'status', 'connected'],
  properties: {
    id: { type: 'string' },
    private_ip: nullable({ type: 'string' }),
    last_seen: nullable(isoTime),
    version: nullable({ type: 'string' }),
    status,
    connected: { type: 'boolean' },
    clock_skew_ms: nullable({ type: 'number' }),
    upgrade_required: { type: 'boolean' },
    certificate_expires_at: {
      ...nullable(isoTime),
      description: 'when the latest unexpired certificate issued to the agent expires',
    },
  },
} as const;

const tunneler = {
  type: 'object',
  required: ['id', 'connector_id', 'status'],
  properties: {
    id: { type: 'string' },
    connector_id: { type: 'string' },
    last_seen: nullable(isoTime),
    version: nullable({ type: 'string' }),
    status,
    clock_skew_ms: nullable({ type: 'number' }),
    upgrade_required: { type: 'boolean' },
    certificate_expires_at: {
      ...nullable(isoTime),
      description: 'when the latest unexpired certificate issued to the agent expires',
    },
  },
} as const;

const agentReport = {
  type: 'object',
  properties: {
    kind: agentKind,
    id: { type: 'string' },
    online: { type: 'boolean' },
    bundle_version: { type: 'integer' },
  },
} as const;

const activation = {
  type: 'object',
  properties: {
    allowed: { type: 'boolean' },
    basis: { type: 'string' },
    grace_period_ends_at: isoTime,
    acknowledged: { type: 'array', items: agentReport },
    pending: { type: 'array', items: agentReport },
    offline: { type: 'array', items: agentReport },
  },
} as const;

const trustStateProperties = {
  bundle_version: { type: 'integer' },
  revision: { type: 'integer' },
  next: nullable({ type: 'string' }),
  current: { type: 'string' },
  previous: nullable({ type: 'string' }),
} as const;

const caStatus = {
  type: 'object',
  properties: {
    bundle_version: { type: 'integer' },
    revision: { type: 'integer' },
    activation_grace_seconds: { type: 'integer' },
    generations: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          role: { type: 'string', enum: ['next', 'current', 'previous'] },
          generation: { type: 'string' },
          fingerprint: { type: 'string' },
          not_after: isoTime,
          created_at: isoTime,
          activated_at: nullable(isoTime),
          bundle_version: { type: 'integer' },
          upstream: { type: 'boolean' },
          live_certificates: { type: 'integer' },
        },
      },
    },
    activation: nullable(activation),
    auto_rotation: { type: 'boolean', description: 'CA_AUTO_ROTATE is on' },
    next_rotation_at: {
      ...nullable(isoTime),
      description:
        "when automatic rotation prepares the current CA's successor; null without CA_AUTO_ROTATE or once one is prepared",
    },
  },
} as const;

const auditRecord = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: isoTime,
    action: { type: 'string' },
    outcome: { type: 'string' },
    actor: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

const tally = {
  type: 'object',
  properties: {
    total: { type: 'integer' },
    online: { type: 'integer' },
    offline: { type: 'integer' },
  },
} as const;

const agentVersions = {
  type: 'object',
  properties: {
    connector_min: nullable({ type: 'string' }),
    tunneler_min: nullable({ type: 'string' }),
    connector_min_set_at: nullable(isoTime),
    tunneler_min_set_at: nullable(isoTime),
    upgrade_grace_seconds: nullable({ type: 'integer' }),
    connector_deadline: nullable(isoTime),
    tunneler_deadline: nullable(isoTime),
    upgrade_required: {
      type: 'object',
      properties: { connectors: { type: 'integer' }, tunnelers: { type: 'integer' } },
    },
  },
} as const;

const json = (description: string, schema: object) => ({ description, ...schema });

/** One documented admin endpoint: its method, path (below `/api/admin`) and schema. */
export interface AdminRouteSchema {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  schema: FastifySchema;
}

/**
 * The admin endpoints the OpenAPI description lists with their request and response schemas.
 *
 * @example
 * ```ts
 * for (const route of ADMIN_ROUTE_SCHEMAS) scope.route({ ...route, handler });
 * ```
 */
export const ADMIN_ROUTE_SCHEMAS: readonly AdminRouteSchema[] = [
  {
    method: 'POST',
    url: '/tokens',
    schema: {
      tags: ['tokens'],
      summary: 'Create a one-time enrollment token (shown once)',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'id'],
        properties: {
          kind: agentKind,
          id: { type: 'string', description: 'the agent id (DNS label)' },
          connector_id: { type: 'string', description: 'tunnelers: the connector it belongs to' },
          ttl_seconds: { type: 'integer', minimum: 1 },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      response: {
        201: json('the token, shown once', {
          type: 'object',
          required: ['token', 'expires_at', 'kind', 'id', 'spiffe_id'],
          properties: {
            token: { type: 'string' },
            expires_at: isoTime,
            kind: agentKind,
            id: { type: 'string' },
            connector_id: { type: 'string' },
            spiffe_id: { type: 'string' },
          },
        }),
        ...problems,
      },
    },
  },
  {
    method: 'GET',
    url: '/tokens',
    schema: {
      tags: ['tokens'],
      summary: 'The pending enrollment tokens (never the secret)',
      response: {
        200: json('pending tokens', { type: 'array', items: pendingToken }),
        ...problems,
      },
    },
  },
  {
    method: 'DELETE',
    url: '/tokens/:token_id',
    schema: {
      tags: ['tokens'],
      summary: 'Cancel a pending token',
      params: {
        type: 'object',
        required: ['token_id'],
        properties: { token_id: { type: 'string' } },
      },
      response: { 200: json('the cancelled token', pendingToken), ...problems },
    },
  },
  {
    method: 'GET',
    url: '/connectors',
    schema: {
      tags: ['agents'],
      summary: 'Connectors with their live status',
      response: { 200: json('connectors', { type: 'array', items: connector }), ...problems },
    },
  },
  {
    method: 'GET',
    url: '/tunnelers',
    schema: {
      tags: ['agents'],
      summary: 'Tunnelers with their live status',
      response: { 200: json('tunnelers', { type: 'array', items: tunneler }), ...problems },
    },
  },
  ...(['connectors', 'tunnelers'] as const).map((kind): AdminRouteSchema => ({
    method: 'POST',
    url: `/${kind}/:id/revoke`,
    schema: {
      tags: ['agents'],
      summary: `Revoke a ${kind.slice(0, -1)}: its certificates stop working, its stream closes`,
      params: agentParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { reason: { type: 'string' } },
      },
      response: {
        200: json('already revoked: the existing revocation', revocation),
        201: json('revoked now', revocation),
        ...problems,
      },
    },
  })),
  {
    method: 'GET',
    url: '/revocations',
    schema: {
      tags: ['agents'],
      summary: 'Every revocation, newest first',
      querystring: {
        type: 'object',
        properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      },
      response: { 200: json('revocations', { type: 'array', items: revocation }), ...problems },
    },
  },
  {
    method: 'GET',
    url: '/ca',
    schema: {
      tags: ['ca'],
      summary: 'Runtime CA generations and the activation check',
      response: { 200: json('CA status', caStatus), ...problems },
    },
  },
  {
    method: 'POST',
    url: '/ca/prepare',
    schema: {
      tags: ['ca'],
      summary: 'Create the next runtime CA generation and publish it in the bundle',
      body: {
        type: 'object',
        additionalProperties: false,
        description: 'optional: no body means {}',
        properties: {
          ttl_seconds: { type: 'integer', minimum: 3600 },
          upstream: {
            type: 'object',
            additionalProperties: false,
            required: ['root_certificate_file'],
            description: 'file paths on the controller host',
            properties: {
              root_certificate_file: { type: 'string' },
              intermediate_certificate_file: { type: 'string' },
              intermediate_key_file: { type: 'string' },
              root_key_file: { type: 'string' },
            },
          },
        },
      },
      response: {
        200: json('the trust state', { type: 'object', properties: trustStateProperties }),
        ...problems,
      },
    },
  },
  {
    method: 'POST',
    url: '/ca/activate',
    schema: {
      tags: ['ca'],
      summary: 'Issue from the prepared generation (409 while the activation check refuses)',
      body: { type: 'object', additionalProperties: false, description: 'optional, empty' },
      response: {
        200: json('the trust state and the check that allowed it', {
          type: 'object',
          properties: { ...trustStateProperties, activation },
        }),
        ...problems,
      },
    },
  },
  {
    method: 'POST',
    url: '/ca/retire',
    schema: {
      tags: ['ca'],
      summary: 'Drop the previous generation from the bundle',
      body: {
        type: 'object',
        additionalProperties: false,
        description: 'optional: no body means {}',
        properties: {
          force: { type: 'boolean' },
          wait_seconds: { type: 'integer', minimum: 0, maximum: 600 },
        },
      },
      response: {
        200: json('the trust state after retiring', {
          type: 'object',
          properties: {
            ...trustStateProperties,
            forced: { type: 'boolean' },
            told_to_renew: { type: 'array', items: { type: 'string' } },
            still_stranded: { type: 'array', items: { type: 'string' } },
          },
        }),
        ...problems,
      },
    },
  },
  {
    method: 'POST',
    url: '/connectors/:id/renew',
    schema: {
      tags: ['agents'],
      summary: 'Send RenewNow to a connected connector (409 when it is not connected)',
      params: agentParams,
      response: {
        202: json('the command was sent', {
          type: 'object',
          required: ['command_id', 'connector_id'],
          properties: { command_id: { type: 'string' }, connector_id: { type: 'string' } },
        }),
        ...problems,
      },
    },
  },
  {
    method: 'GET',
    url: '/audit',
    schema: {
      tags: ['audit'],
      summary: 'The audit trail, newest first',
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          before: { type: 'integer', minimum: 1, description: 'records with a smaller id' },
          action: { type: 'string', pattern: '^[a-z_.]{1,64}$' },
        },
      },
      response: { 200: json('audit records', { type: 'array', items: auditRecord }), ...problems },
    },
  },
  {
    method: 'GET',
    url: '/summary',
    schema: {
      tags: ['audit'],
      summary: 'Agent totals and the latest activity',
      response: {
        200: json('the overview', {
          type: 'object',
          properties: {
            connectors: tally,
            tunnelers: tally,
            latest_activity: { type: 'array', items: auditRecord },
            grpc_listen_addr: {
              ...nullable({ type: 'string' }),
              description: 'host:port the gRPC port (CONTROLLER_LISTEN_ADDR) listens on',
            },
          },
        }),
        ...problems,
      },
    },
  },
  {
    method: 'GET',
    url: '/bootstrap-ca',
    schema: {
      tags: ['ca'],
      summary: 'The bootstrap CA certificate agents pin (CONTROLLER_CA_PATH)',
      produces: ['application/x-pem-file'],
      response: { 200: { description: 'the certificate, PEM', type: 'string' } },
    },
  },
  {
    method: 'GET',
    url: '/agent-versions',
    schema: {
      tags: ['agents'],
      summary: 'The minimum agent version pinned per kind',
      response: { 200: json('the pins', agentVersions), ...problems },
    },
  },
  {
    method: 'PUT',
    url: '/agent-versions',
    schema: {
      tags: ['agents'],
      summary: 'Replace both minimums (null or absent clears one)',
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          connector_min: nullable({ type: 'string', description: 'MAJOR.MINOR.PATCH' }),
          tunneler_min: nullable({ type: 'string', description: 'MAJOR.MINOR.PATCH' }),
        },
      },
      response: { 200: json('the pins', agentVersions), ...problems },
    },
  },
];
