import { SigilError } from '@sigil/errors';
import { tokenFingerprint, tokenHash } from '@sigil/pki';
import { MAX_TOKEN_TTL_SECONDS } from '../config';
import type { AgentKind } from '../store/store';
import { agentIdProblem, agentSpiffeId } from './agent-identity';
import type { ControllerContext } from './context';
import { generateEnrollmentToken } from './secrets';

/** A request for a one-time enrollment token (the admin API's `POST /api/admin/tokens` body). */
export interface EnrollmentTokenRequest {
  kind: AgentKind;
  /** The connector or tunneler id the token enrolls. */
  id: string;
  /** Tunnelers only: the connector it belongs to, which must be enrolled or have a pending token. */
  connectorId?: string;
  /** Lifetime; default the controller's ENROLLMENT_TOKEN_TTL. At most 24 hours. */
  ttlSeconds?: number;
}

/** A freshly created token: shown once, stored only as a hash. */
export interface CreatedEnrollmentToken {
  token: string;
  expiresAt: Date;
  spiffeId: string;
}

function invalid(field: string, reason: string): SigilError {
  return new SigilError('ERR_TOKEN_REQUEST_INVALID', reason, { details: { field } });
}

/**
 * Validates a token request, stores the token's SHA-256 and audits `admin.token_created` (with a
 * hash prefix, never the token). Throws `ERR_TOKEN_REQUEST_INVALID` with `details.field` naming
 * the JSON field at fault.
 */
export async function issueEnrollmentToken(
  ctx: ControllerContext,
  defaultTtlSeconds: number,
  request: { [K in keyof EnrollmentTokenRequest]?: unknown },
): Promise<CreatedEnrollmentToken> {
  const { kind, id, connectorId, ttlSeconds } = request;
  if (kind !== 'connector' && kind !== 'tunneler')
    throw invalid('kind', 'kind must be "connector" or "tunneler"');
  const idProblem = agentIdProblem(id, 'id');
  if (idProblem !== undefined) throw invalid('id', idProblem);
  const now = ctx.clock().getTime();
  if (kind === 'connector' && connectorId !== undefined)
    throw invalid('connector_id', 'connector_id is only for tunneler tokens');
  if (kind === 'tunneler') {
    const problem = agentIdProblem(connectorId, 'connector_id');
    if (problem !== undefined)
      throw invalid('connector_id', `${problem} (the connector this tunneler belongs to)`);
    if (!(await ctx.store.isConnectorKnown(connectorId as string, now))) {
      throw invalid(
        'connector_id',
        `connector_id "${connectorId as string}" is not a known connector: create its token or enroll it first`,
      );
    }
  }
  if (
    ttlSeconds !== undefined &&
    (typeof ttlSeconds !== 'number' ||
      !Number.isInteger(ttlSeconds) ||
      ttlSeconds < 1 ||
      ttlSeconds > MAX_TOKEN_TTL_SECONDS)
  ) {
    throw invalid(
      'ttl_seconds',
      `ttl_seconds must be a whole number from 1 to ${MAX_TOKEN_TTL_SECONDS}`,
    );
  }
  const token = generateEnrollmentToken();
  const hash = tokenHash(token);
  const expiresAt = now + ((ttlSeconds as number | undefined) ?? defaultTtlSeconds) * 1000;
  await ctx.store.createToken({
    tokenHash: hash,
    kind,
    agentId: id as string,
    connectorId: kind === 'tunneler' ? (connectorId as string) : null,
    createdAt: now,
    expiresAt,
  });
  const spiffeId = agentSpiffeId(ctx.trustDomain, kind, id as string);
  await ctx.audit.record({
    action: 'admin.token_created',
    outcome: 'success',
    actor: 'admin',
    subject: spiffeId,
    details: {
      kind,
      token: tokenFingerprint({ hash }),
      expires_at: new Date(expiresAt).toISOString(),
      ...(kind === 'tunneler' ? { connector_id: connectorId } : {}),
    },
  });
  return { token, expiresAt: new Date(expiresAt), spiffeId };
}
