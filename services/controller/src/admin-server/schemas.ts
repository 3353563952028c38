// Request and response schemas of the admin endpoints, for the OpenAPI description
// (`GET /api/admin/openapi.json`). The endpoints themselves (admin-api.ts, ca-admin-routes.ts,
// admin-policy-routes.ts, internal/admin-entries-routes.ts, internal/admin-jwt-authority-routes.ts)
// check their input and shape their answers; these schemas describe exactly that, and
// test/admin-openapi-conformance.test.ts holds every real answer to them.
import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';

/** A time as the admin API writes it (ISO 8601, UTC). */
export const isoTime = { type: 'string', format: 'date-time' } as const;
/**
 * `schema` or null.
 *
 * @example
 * ```ts
 * const revokedAt = nullable(isoTime);
 * ```
 */
export const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] });
const agentKind = { type: 'string', enum: ['connector', 'tunneler'] } as const;
const status = { type: 'string', enum: ['ONLINE', 'OFFLINE', 'REVOKED'] } as const;
const agentId = {
  type: 'string',
  pattern: '^[A-Za-z0-9._-]{1,128}$',
  description: 'CONNECTOR_ID / TUNNELER_ID: the last segment of the SPIFFE ID',
} as const;
const spiffeId = { type: 'string', pattern: '^spiffe://' } as const;
/**
 * An object schema with exactly `properties` (no others may appear), `required` of them always.
 *
 * @example
 * ```ts
 * const user = strict({ name: { type: 'string' }, role }, ['name', 'role']);
 * ```
 */
export const strict = <P extends Record<string, object>>(
  properties: P,
  required: (keyof P)[] = [],
) => ({ type: 'object', additionalProperties: false, required, properties }) as const;

/** An RFC 9457 problem body (`application/problem+json`), as `toProblemDetails` writes it. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code', 'error', 'reason'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', description: "the code's entry in docs/errors.md" },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'what is wrong (= reason)' },
    instance: { type: 'string', description: 'the request path' },
    code: { type: 'string', pattern: '^ERR_[A-Z_]+$', description: 'e.g. ERR_REQUEST_INVALID' },
    error: { type: 'string', description: 'the status in snake case, e.g. bad_request' },
    reason: { type: 'string' },
    field: { type: 'string', description: 'the request field at fault' },
  },
} as const;

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

/**
 * The refusals an endpoint may answer (status: when), besides those every endpoint has; a 401,
 * 403 or 429 given here replaces the common one, `null` says the endpoint never answers it.
 */
export type Refusals = Partial<Record<400 | 404 | 409 | 413, string>> &
  Partial<Record<401 | 403 | 429, string | null>>;

/**
 * The response map of one endpoint: its successes and its refusals, plus what any authenticated
 * endpoint may answer (401, 403 for a state change, 429, 500, 503).
 *
 * @example
 * ```ts
 * const response = responses('GET', { 200: json('users', { type: 'array', items: user }) }, { 403: 'not an admin' });
 * ```
 */
export function responses(
  method: AdminRouteSchema['method'],
  successes: Record<number, object>,
  refusals: Refusals = {},
): Record<string, unknown> {
  const own = Object.fromEntries(
    Object.entries(refusals).flatMap(([code, when]) =>
      when === null ? [] : [[code, problem(when as string)]],
    ),
  );
  const common = Object.entries({
    401: problem(
      'ERR_ADMIN_UNAUTHORIZED: no or a wrong credential (Authorization: Bearer with the admin token or an API token, or the sigil_session cookie; WWW-Authenticate names the realm)',
    ),
    ...(method === 'GET'
      ? {}
      : {
          403: problem(
            "ERR_ADMIN_FORBIDDEN: the signed-in user has the viewer role; ERR_ADMIN_CSRF: the session cookie without the session's X-CSRF-Token",
          ),
        }),
    429: problem('too many failed sign-ins from this address (Retry-After)'),
  }).filter(([code]) => !(code in refusals));
  return {
    ...successes,
    ...own,
    ...Object.fromEntries(common),
    500: {
      description: 'a controller fault (logged as http.request_failed)',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['error'],
            additionalProperties: true,
            properties: { error: { type: 'string' } },
          },
        },
        'application/problem+json': { schema: { $ref: 'Problem#' } },
      },
    },
    503: problem('the store is unavailable (Retry-After)'),
  };
}

/**
 * A JSON response: `schema` with its `description`.
 *
 * @example
 * ```ts
 * const ok = { 200: json('the pins', agentVersions) };
 * ```
 */
export const json = (description: string, schema: object) => ({ description, ...schema });
/** The 413 refusal of an endpoint that takes a body. */
export const BODY_TOO_LARGE = 'the body is over 16 KiB';

const pendingToken = strict(
  {
    token_id: {
      type: 'string',
      pattern: '^[0-9a-f]{12}$',
      description: "the first 12 hex characters of the token's SHA-256",
    },
    kind: agentKind,
    id: { type: 'string' },
    connector_id: { type: 'string', description: 'tunneler tokens only' },
    created_at: isoTime,
    expires_at: isoTime,
  },
  ['token_id', 'kind', 'id', 'created_at', 'expires_at'],
);

const revocation = strict(
  {
    id: { type: 'integer' },
    kind: agentKind,
    agent_id: { type: 'string' },
    spiffe_id: spiffeId,
    reason: { type: 'string' },
    revoked_at: isoTime,
    actor: { type: 'string' },
    active: { type: 'boolean', description: 'false once a new enrollment lifted it' },
    lifted_at: nullable(isoTime),
  },
  ['id', 'kind', 'agent_id', 'spiffe_id', 'reason', 'revoked_at', 'actor', 'active', 'lifted_at'],
);

const pathParam = (name: string, description: string) =>
  ({
    type: 'object',
    required: [name],
    properties: { [name]: { type: 'string', description } },
  }) as const;
const agentParams = pathParam('id', 'the agent id');

const connector = strict(
  {
    id: { type: 'string' },
    private_ip: { type: 'string' },
    last_seen: nullable(isoTime),
    version: { type: 'string' },
    status,
    connected: { type: 'boolean', description: 'an open control stream' },
    clock_skew_ms: nullable({ type: 'integer' }),
    upgrade_required: { type: 'boolean' },
    certificate_expires_at: {
      ...nullable(isoTime),
      description: 'when the latest unexpired certificate issued to the agent expires',
    },
  },
  [
    'id',
    'private_ip',
    'last_seen',
    'version',
    'status',
    'connected',
    'clock_skew_ms',
    'upgrade_required',
    'certificate_expires_at',
  ],
);

const tunneler = strict(
  {
    id: { type: 'string' },
    connector_id: { type: 'string' },
    last_seen: nullable(isoTime),
    version: { type: 'string' },
    status,
    clock_skew_ms: nullable({ type: 'integer' }),
    upgrade_required: { type: 'boolean' },
    certificate_expires_at: {
      ...nullable(isoTime),
      description: 'when the latest unexpired certificate issued to the agent expires',
    },
  },
  [
    'id',
    'connector_id',
    'last_seen',
    'version',
    'status',
    'clock_skew_ms',
    'upgrade_required',
    'certificate_expires_at',
  ],
);

const agentReport = strict(
  {
    kind: agentKind,
    id: { type: 'string' },
    online: { type: 'boolean' },
    bundle_version: { type: 'integer', description: 'the highest bundle version it reported' },
  },
  ['kind', 'id', 'online', 'bundle_version'],
);

const activation = strict(
  {
    allowed: { type: 'boolean' },
    basis: { type: 'string', enum: ['acknowledged', 'grace_period_elapsed', 'refused'] },
    grace_period_ends_at: isoTime,
    acknowledged: { type: 'array', items: agentReport },
    pending: { type: 'array', items: agentReport },
    offline: { type: 'array', items: agentReport },
  },
  ['allowed', 'basis', 'grace_period_ends_at', 'acknowledged', 'pending', 'offline'],
);

const generationId = { type: 'integer', minimum: 1 } as const;
const trustStateProperties = {
  bundle_version: { type: 'integer' },
  revision: { type: 'integer' },
  next: nullable(generationId),
  current: generationId,
  previous: nullable(generationId),
} as const;
const trustStateRequired = ['bundle_version', 'revision', 'next', 'current', 'previous'] as const;

const byKind = strict({ connector: { type: 'integer' }, tunneler: { type: 'integer' } }, [
  'connector',
  'tunneler',
]);

const caStatus = strict(
  {
    bundle_version: { type: 'integer' },
    revision: { type: 'integer' },
    activation_grace_seconds: { type: 'integer', description: 'CA_ACTIVATION_GRACE' },
    generations: {
      type: 'array',
      items: strict(
        {
          role: { type: 'string', enum: ['next', 'current', 'previous'] },
          generation: generationId,
          fingerprint: { type: 'string' },
          not_after: isoTime,
          created_at: isoTime,
          activated_at: nullable(isoTime),
          bundle_version: { type: 'integer' },
          upstream: { type: 'boolean', description: 'signed by an upstream CA' },
          live_certificates: json('live agent certificates it signed, by kind', byKind),
        },
        [
          'role',
          'generation',
          'fingerprint',
          'not_after',
          'created_at',
          'activated_at',
          'bundle_version',
          'upstream',
          'live_certificates',
        ],
      ),
    },
    activation: {
      ...nullable(activation),
      description: 'while a generation is prepared: who has acknowledged its root',
    },
    auto_rotation: { type: 'boolean', description: 'CA_AUTO_ROTATE is on' },
    next_rotation_at: {
      ...nullable(isoTime),
      description:
        "when automatic rotation prepares the current CA's successor; null without CA_AUTO_ROTATE or once one is prepared",
    },
  },
  [
    'bundle_version',
    'revision',
    'activation_grace_seconds',
    'generations',
    'activation',
    'auto_rotation',
    'next_rotation_at',
  ],
);

const auditRecord = strict(
  {
    id: { type: 'integer' },
    at: isoTime,
    action: { type: 'string', description: 'e.g. enrollment.refused (docs/controller.md#audit)' },
    outcome: { type: 'string', enum: ['success', 'refused'] },
    actor: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  ['id', 'at', 'action', 'outcome', 'actor', 'subject', 'details'],
);

const tally = strict(
  { total: { type: 'integer' }, online: { type: 'integer' }, offline: { type: 'integer' } },
  ['total', 'online', 'offline'],
);

const agentVersions = strict(
  {
    connector_min: nullable({ type: 'string' }),
    tunneler_min: nullable({ type: 'string' }),
    connector_min_set_at: nullable(isoTime),
    tunneler_min_set_at: nullable(isoTime),
    upgrade_grace_seconds: nullable({ type: 'integer', description: 'AGENT_UPGRADE_GRACE' }),
    connector_deadline: nullable(isoTime),
    tunneler_deadline: nullable(isoTime),
    upgrade_required: json(
      'enrolled, non-revoked agents below their minimum',
      strict({ connectors: { type: 'integer' }, tunnelers: { type: 'integer' } }, [
        'connectors',
        'tunnelers',
      ]),
    ),
  },
  [
    'connector_min',
    'tunneler_min',
    'connector_min_set_at',
    'tunneler_min_set_at',
    'upgrade_grace_seconds',
    'connector_deadline',
    'tunneler_deadline',
    'upgrade_required',
  ],
);

const resource = strict(
  {
    name: { type: 'string' },
    address: { type: 'string' },
    connector_id: { type: 'string' },
    created_at: isoTime,
  },
  ['name', 'address', 'connector_id', 'created_at'],
);

const grantId = { type: 'string', format: 'uuid' } as const;
const grant = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'resource', 'created_at'],
  oneOf: [{ required: ['tunneler_id'] }, { required: ['label'] }],
  properties: {
    id: grantId,
    resource: { type: 'string' },
    tunneler_id: { type: 'string', description: 'a grant to one tunneler' },
    label: { type: 'string', description: 'a grant to every tunneler enrolled with the label' },
    created_at: isoTime,
  },
} as const;

const entry = strict(
  {
    id: { type: 'string', format: 'uuid' },
    spiffe_id: spiffeId,
    parent_id: spiffeId,
    selectors: { type: 'array', items: { type: 'string' }, description: 'sorted, unique' },
    x509_ttl_seconds: { type: 'integer' },
    jwt_ttl_seconds: { type: 'integer' },
    created_at: isoTime,
  },
  [
    'id',
    'spiffe_id',
    'parent_id',
    'selectors',
    'x509_ttl_seconds',
    'jwt_ttl_seconds',
    'created_at',
  ],
);

const jwtAuthority = strict(
  {
    bundle_version: { type: 'integer' },
    keys: {
      type: 'array',
      items: strict(
        {
          role: { type: 'string', enum: ['next', 'current', 'previous'] },
          kid: { type: 'string', description: 'RFC 7638 thumbprint, the JWKS kid' },
          since: isoTime,
        },
        ['role', 'kid', 'since'],
      ),
    },
    retire_allowed_at: {
      ...nullable(isoTime),
      description: "when the previous key's JWT-SVIDs have expired; null without a previous key",
    },
  },
  ['bundle_version', 'keys', 'retire_allowed_at'],
);

const JWT_REFUSED = 'ERR_JWT_ROTATION_REFUSED: the step does not fit the current keys';

/** One documented admin endpoint: its method, path (below `/api/admin`) and schema. */
export interface AdminRouteSchema {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  schema: FastifySchema & { 'x-body-optional'?: true };
}

const route = (
  method: AdminRouteSchema['method'],
  url: string,
  schema: Omit<AdminRouteSchema['schema'], 'response'> & {
    successes: Record<number, object>;
    refusals?: Refusals;
  },
): AdminRouteSchema => {
  const { successes, refusals, ...rest } = schema;
  return { method, url, schema: { ...rest, response: responses(method, successes, refusals) } };
};

/**
 * The admin endpoints the OpenAPI description lists with their request and response schemas.
 *
 * @example
 * ```ts
 * for (const route of ADMIN_ROUTE_SCHEMAS) scope.route({ ...route, handler });
 * ```
 */
export const ADMIN_ROUTE_SCHEMAS: readonly AdminRouteSchema[] = [
  route('POST', '/tokens', {
    tags: ['tokens'],
    summary: 'Create a one-time enrollment token (shown once)',
    description: 'The body is parsed as JSON whatever its Content-Type.',
    body: strict(
      {
        kind: agentKind,
        id: agentId,
        connector_id: {
          type: 'string',
          description: 'tunnelers only: the connector it belongs to',
        },
        ttl_seconds: { type: 'integer', minimum: 1, maximum: 86400 },
        labels: {
          type: 'array',
          maxItems: 16,
          items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._=/:-]{0,62}$' },
          description: 'tunnelers only: labels grants may name, e.g. team=db',
        },
      },
      ['kind', 'id'],
    ),
    successes: {
      201: json(
        'the token, shown once',
        strict(
          {
            token: { type: 'string' },
            expires_at: isoTime,
            kind: agentKind,
            id: { type: 'string' },
            connector_id: { type: 'string', description: 'tunneler tokens only' },
            spiffe_id: spiffeId,
          },
          ['token', 'expires_at', 'kind', 'id', 'spiffe_id'],
        ),
      ),
    },
    refusals: {
      400: 'ERR_TOKEN_REQUEST_INVALID or ERR_REQUEST_INVALID naming the field (field)',
      413: BODY_TOO_LARGE,
    },
  }),
  route('GET', '/tokens', {
    tags: ['tokens'],
    summary: 'The pending enrollment tokens, soonest expiry first (never the secret)',
    successes: { 200: json('pending tokens', { type: 'array', items: pendingToken }) },
  }),
  route('DELETE', '/tokens/:token_id', {
    tags: ['tokens'],
    summary: 'Cancel a pending token',
    params: pathParam('token_id', 'as GET /api/admin/tokens shows it'),
    successes: { 200: json('the cancelled token', pendingToken) },
    refusals: {
      400: 'token_id is not 12 lower-case hex characters',
      404: 'no unused token has this id',
    },
  }),
  route('GET', '/connectors', {
    tags: ['agents'],
    summary: 'Every enrolled connector with its live status, sorted by id',
    successes: { 200: json('connectors', { type: 'array', items: connector }) },
  }),
  route('GET', '/tunnelers', {
    tags: ['agents'],
    summary: 'Every enrolled tunneler with its live status, sorted by id',
    successes: { 200: json('tunnelers', { type: 'array', items: tunneler }) },
  }),
  ...(['connectors', 'tunnelers'] as const).map((kind) =>
    route('POST', `/${kind}/:id/revoke`, {
      tags: ['agents'],
      summary: `Revoke a ${kind.slice(0, -1)}: its certificates stop working, its stream closes`,
      params: agentParams,
      body: strict({ reason: { type: 'string', minLength: 1, maxLength: 500 } }, ['reason']),
      successes: {
        200: json(
          'already revoked: the revocation in force (the new reason is ignored)',
          revocation,
        ),
        201: json('revoked now', revocation),
      },
      refusals: {
        400: 'a missing or too long reason, an unknown field (field)',
        404: `no such ${kind.slice(0, -1)} is enrolled`,
        413: BODY_TOO_LARGE,
      },
    }),
  ),
  route('GET', '/revocations', {
    tags: ['agents'],
    summary: 'Every revocation, newest first, lifted ones too',
    querystring: {
      type: 'object',
      properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
    },
    successes: { 200: json('revocations', { type: 'array', items: revocation }) },
    refusals: { 400: 'limit out of range (field)' },
  }),
  route('POST', '/connectors/:id/renew', {
    tags: ['agents'],
    summary: 'Send RenewNow to a connected connector',
    params: agentParams,
    successes: {
      202: json(
        'the command was sent',
        strict({ command_id: { type: 'string' }, connector_id: { type: 'string' } }, [
          'command_id',
          'connector_id',
        ]),
      ),
    },
    refusals: {
      400: 'the id is not a connector id or not valid percent-encoding (field)',
      404: 'no such connector is enrolled',
      409: 'ERR_AGENT_NOT_CONNECTED: no replica holds a control stream of the connector',
    },
  }),
  route('GET', '/audit', {
    tags: ['audit'],
    summary: 'The audit trail, newest first',
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        before: { type: 'integer', minimum: 1, description: 'only records with a smaller id' },
        action: { type: 'string', pattern: '^[a-z_.]{1,64}$', description: 'only this action' },
      },
    },
    successes: { 200: json('audit records', { type: 'array', items: auditRecord }) },
    refusals: { 400: 'limit, before or action is malformed (field)' },
  }),
  route('GET', '/summary', {
    tags: ['audit'],
    summary: 'Agent totals and the latest activity (the ten newest audit records)',
    successes: {
      200: json(
        'the overview',
        strict(
          {
            connectors: tally,
            tunnelers: tally,
            latest_activity: { type: 'array', maxItems: 10, items: auditRecord },
            grpc_listen_addr: {
              ...nullable({ type: 'string' }),
              description: 'host:port the gRPC port (CONTROLLER_LISTEN_ADDR) listens on',
            },
          },
          ['connectors', 'tunnelers', 'latest_activity', 'grpc_listen_addr'],
        ),
      ),
    },
  }),
  route('GET', '/bootstrap-ca', {
    tags: ['ca'],
    summary: 'The bootstrap CA certificate agents pin (CONTROLLER_CA_PATH)',
    successes: {
      200: {
        description: 'the certificate, PEM, byte for byte $DATA_DIR/bootstrap-ca.crt',
        content: {
          'application/x-pem-file': {
            schema: { type: 'string', pattern: '^-----BEGIN CERTIFICATE-----' },
          },
        },
      },
    },
  }),
  route('GET', '/agent-versions', {
    tags: ['agents'],
    summary: 'The minimum agent version pinned per kind',
    successes: { 200: json('the pins', agentVersions) },
  }),
  route('PUT', '/agent-versions', {
    tags: ['agents'],
    summary: 'Replace both minimums (null or absent clears one)',
    body: strict({
      connector_min: nullable({ type: 'string', description: 'MAJOR.MINOR.PATCH[-prerelease]' }),
      tunneler_min: nullable({ type: 'string', description: 'MAJOR.MINOR.PATCH[-prerelease]' }),
    }),
    successes: { 200: json('the pins', agentVersions) },
    refusals: { 400: 'not a semantic version, an unknown field (field)', 413: BODY_TOO_LARGE },
  }),
  route('GET', '/ca', {
    tags: ['ca'],
    summary: 'Runtime CA generations and the activation check',
    successes: { 200: json('CA status', caStatus) },
  }),
  route('POST', '/ca/prepare', {
    tags: ['ca'],
    summary: 'Create the next runtime CA generation and publish it in the bundle',
    'x-body-optional': true,
    body: {
      ...strict({
        ttl_seconds: { type: 'integer', minimum: 3600, description: 'self-signed root only' },
        upstream: {
          ...strict(
            {
              root_certificate_file: { type: 'string' },
              intermediate_certificate_file: { type: 'string' },
              intermediate_key_file: { type: 'string' },
              root_key_file: { type: 'string' },
            },
            ['root_certificate_file'],
          ),
          description:
            'file paths on the controller host: the intermediate certificate and key, or the root key',
        },
      }),
      description: 'optional: no body means {} (a self-signed root)',
    },
    successes: {
      200: json('the trust state', strict(trustStateProperties, [...trustStateRequired])),
    },
    refusals: {
      400: 'a bad field or an unreadable file (field)',
      409: 'ERR_CA_ROTATION_REFUSED: a generation is prepared or a previous one is in the bundle',
      413: BODY_TOO_LARGE,
    },
  }),
  route('POST', '/ca/activate', {
    tags: ['ca'],
    summary: 'Issue from the prepared generation',
    'x-body-optional': true,
    body: { ...strict({}), description: 'optional, empty' },
    successes: {
      200: json(
        'the trust state and the check that allowed it',
        strict({ ...trustStateProperties, activation }, [...trustStateRequired, 'activation']),
      ),
    },
    refusals: {
      400: 'an unknown field (field)',
      409: 'ERR_CA_ROTATION_REFUSED: nothing prepared, or online agents have not acknowledged it',
      413: BODY_TOO_LARGE,
    },
  }),
  route('POST', '/ca/retire', {
    tags: ['ca'],
    summary: 'Drop the previous generation from the bundle',
    'x-body-optional': true,
    body: {
      ...strict({
        force: { type: 'boolean', description: 'tell stranded agents to renew, then retire' },
        wait_seconds: { type: 'integer', minimum: 0, maximum: 600, default: 30 },
      }),
      description: 'optional: no body means {}',
    },
    successes: {
      200: json(
        'the trust state after retiring',
        strict(
          {
            ...trustStateProperties,
            forced: { type: 'boolean' },
            told_to_renew: { type: 'array', items: { type: 'string' } },
            still_stranded: { type: 'array', items: { type: 'string' } },
          },
          [...trustStateRequired, 'forced', 'told_to_renew', 'still_stranded'],
        ),
      ),
    },
    refusals: {
      400: 'a bad field (field)',
      409: 'ERR_CA_ROTATION_REFUSED: no previous generation, or live certificates chain to it',
      413: BODY_TOO_LARGE,
    },
  }),
  route('GET', '/jwt-authority', {
    tags: ['jwt-authority'],
    summary: 'The JWT-SVID signing keys and when the previous one may retire',
    successes: { 200: json('the JWT authority', jwtAuthority) },
  }),
  route('POST', '/jwt-authority/prepare', {
    tags: ['jwt-authority'],
    summary: 'Publish a next key in the JWT bundle (not signing yet); no body',
    successes: { 200: json('the JWT authority', jwtAuthority) },
    refusals: { 409: JWT_REFUSED },
  }),
  route('POST', '/jwt-authority/activate', {
    tags: ['jwt-authority'],
    summary: 'Sign with the prepared key; the old one becomes previous; no body',
    successes: { 200: json('the JWT authority', jwtAuthority) },
    refusals: { 409: JWT_REFUSED },
  }),
  route('POST', '/jwt-authority/retire', {
    tags: ['jwt-authority'],
    summary: 'Drop the previous key from the JWT bundle',
    'x-body-optional': true,
    body: {
      ...strict({
        force: { type: 'boolean', description: 'retire before retire_allowed_at' },
      }),
      description: 'optional: no body means {}',
    },
    successes: { 200: json('the JWT authority', jwtAuthority) },
    refusals: {
      400: 'a bad field (field)',
      409: `${JWT_REFUSED} (before retire_allowed_at without force, or no previous key)`,
      413: BODY_TOO_LARGE,
    },
  }),
  route('POST', '/resources', {
    tags: ['data-plane'],
    summary: 'Create a data-plane resource tunnelers may reach through its connector',
    body: strict(
      {
        name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' },
        address: {
          type: 'string',
          description: 'host:port, CIDR:port or CIDR:first-last, e.g. 10.0.0.0/24:8000-8099',
        },
        connector_id: { type: 'string', description: 'the connector that dials it' },
      },
      ['name', 'address', 'connector_id'],
    ),
    successes: { 201: json('the resource', resource) },
    refusals: {
      400: 'a bad name, address or connector_id, an unknown field (field)',
      409: 'ERR_RESOURCE_EXISTS: the name is in use',
      413: BODY_TOO_LARGE,
    },
  }),
  route('GET', '/resources', {
    tags: ['data-plane'],
    summary: 'Every resource, sorted by name',
    successes: { 200: json('resources', { type: 'array', items: resource }) },
  }),
  route('DELETE', '/resources/:name', {
    tags: ['data-plane'],
    summary: 'Delete a resource and its grants',
    params: pathParam('name', 'the resource name'),
    successes: { 200: json('the deleted resource', resource) },
    refusals: { 400: 'not a resource name (field)', 404: 'no resource has this name' },
  }),
  route('POST', '/grants', {
    tags: ['data-plane'],
    summary: 'Grant one tunneler, or every tunneler with a label, access to a resource',
    body: {
      ...strict(
        {
          resource: { type: 'string', description: "an existing resource's name" },
          tunneler_id: { type: 'string' },
          label: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._=/:-]{0,62}$' },
        },
        ['resource'],
      ),
      oneOf: [{ required: ['tunneler_id'] }, { required: ['label'] }],
    },
    successes: { 201: json('the grant', grant) },
    refusals: {
      400: 'a bad resource, tunneler_id or label, not exactly one of the two, an unknown field',
      404: 'no resource has this name',
      413: BODY_TOO_LARGE,
    },
  }),
  route('GET', '/grants', {
    tags: ['data-plane'],
    summary: 'Every grant, oldest first',
    successes: { 200: json('grants', { type: 'array', items: grant }) },
  }),
  route('DELETE', '/grants/:id', {
    tags: ['data-plane'],
    summary: 'Delete a grant',
    params: { type: 'object', required: ['id'], properties: { id: grantId } },
    successes: { 200: json('the deleted grant', grant) },
    refusals: { 400: 'the id is not a UUID (field)', 404: 'no grant has this id' },
  }),
  route('POST', '/entries', {
    tags: ['workloads'],
    summary: 'Create a registration entry (docs/workload-api.md)',
    body: strict(
      {
        spiffe_id: { ...spiffeId, description: 'in the trust domain, not an agent identity' },
        parent_id: { ...spiffeId, description: 'a connector: spiffe://<td>/connector/<id>' },
        selectors: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: { type: 'string', maxLength: 512, description: 'e.g. unix:uid:1000' },
        },
        x509_ttl_seconds: { type: 'integer', minimum: 10, maximum: 2592000, default: 3600 },
        jwt_ttl_seconds: { type: 'integer', minimum: 10, maximum: 86400, default: 300 },
      },
      ['spiffe_id', 'parent_id', 'selectors'],
    ),
    successes: { 201: json('the entry', entry) },
    refusals: {
      400: 'a bad field or an entry equal to an existing one (field)',
      413: BODY_TOO_LARGE,
    },
  }),
  route('GET', '/entries', {
    tags: ['workloads'],
    summary: 'Every registration entry',
    successes: { 200: json('entries', { type: 'array', items: entry }) },
  }),
  route('DELETE', '/entries/:id', {
    tags: ['workloads'],
    summary: 'Delete a registration entry',
    params: pathParam('id', 'the entry id'),
    successes: { 200: json('the deleted entry', entry) },
    refusals: { 404: 'no entry has this id' },
  }),
];

/**
 * `GET /api/admin/events` (served by admin-server.ts): server-sent events, `change` with the
 * topics that changed.
 *
 * @example
 * ```ts
 * scope.get('/events', { schema: EVENTS_ROUTE_SCHEMA }, handler);
 * ```
 */
export const EVENTS_ROUTE_SCHEMA: FastifySchema = {
  tags: ['events'],
  summary: 'Server-sent events: `change` with the topics that changed (data: {"topics": [...]})',
  response: {
    ...responses('GET', {
      200: {
        description: 'a stream of text/event-stream events until the client closes it',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    }),
    429: problem(`too many event streams at once (Retry-After)`),
  },
};

/**
 * Marks the bodies of endpoints with `x-body-optional` as not required (fastify-swagger marks
 * every body required) and drops the marker.
 */
function optionalBodies(document: Record<string, unknown>): Record<string, unknown> {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) {
      if (operation['x-body-optional'] !== true) continue;
      delete operation['x-body-optional'];
      const body = operation.requestBody as { required?: boolean } | undefined;
      if (body !== undefined) body.required = false;
    }
  return document;
}

/**
 * The `@fastify/swagger` options of the admin server: OpenAPI 3, the problem body named
 * `Problem` in `components.schemas`, optional bodies not required.
 *
 * @example
 * ```ts
 * await app.register(fastifySwagger, ADMIN_OPENAPI_OPTIONS);
 * ```
 */
export const ADMIN_OPENAPI_OPTIONS: SwaggerOptions = {
  openapi: {
    info: {
      title: 'Sigil admin API',
      version: '1',
      description:
        'The controller admin API (docs/admin-api.md). Every /api/admin endpoint but this description and POST /api/admin/session (security: []) needs a credential: Authorization: Bearer with SIGIL_ADMIN_TOKEN or a user API token (sigil_at_...), or the console session cookie sigil_session (state-changing requests with it also send X-CSRF-Token).',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            "SIGIL_ADMIN_TOKEN (user admin, role admin), or an API token sigil_at_... (POST /api/admin/api-tokens) with its user's role",
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sigil_session',
          description:
            'the console session (POST /api/admin/session); a request other than GET, HEAD or OPTIONS also sends the header X-CSRF-Token: <csrf_token>',
        },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
  },
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) =>
      typeof json.$id === 'string' ? json.$id : `def-${i}`,
  },
  transformObject: (documentObject) =>
    optionalBodies(
      ('openapiObject' in documentObject
        ? documentObject.openapiObject
        : documentObject.swaggerObject) as Record<string, unknown>,
    ) as never,
};
