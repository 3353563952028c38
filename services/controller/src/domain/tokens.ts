import { SigilError } from '@sigil/errors';
import { tokenFingerprint, tokenHash } from '@sigil/pki';
import { MAX_TOKEN_TTL_SECONDS } from '../config';
import type {
  AgentKind,
  EnrollmentTokenRecord,
  NewAuditRecord,
  TokenRefusalReason,
} from '../store/store';
import { agentIdProblem, agentSpiffeId } from '../internal/agent-identity';
import type { ControllerContext } from '../internal/context';
import { generateEnrollmentToken } from '../internal/secrets';
import { validateLabels } from './resources';
import { adminActorName } from '../internal/admin-actor';

/** A request for a one-time enrollment token (the admin API's `POST /api/admin/tokens` body). */
export interface EnrollmentTokenRequest {
  kind: AgentKind;
  /** The connector or tunneler id the token enrolls. */
  id: string;
  /** Tunnelers only: the connector it belongs to, which must be enrolled or have a pending token. */
  connectorId?: string;
  /** Lifetime; default the controller's ENROLLMENT_TOKEN_TTL. At most 24 hours. */
  ttlSeconds?: number;
  /** Tunnelers only: labels stored with the tunneler, which grants may name (docs/data-plane.md). */
  labels?: string[];
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
 *
 * @example
 * ```ts
 * const { token } = await issueEnrollmentToken(ctx, 900, { kind: 'connector', id: 'connector-01' });
 * ```
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
  const labels = validateLabels(request.labels, kind);
  const token = generateEnrollmentToken();
  const hash = tokenHash(token);
  const expiresAt = now + ((ttlSeconds as number | undefined) ?? defaultTtlSeconds) * 1000;
  const spiffeId = agentSpiffeId(ctx.trustDomain, kind, id as string);
  // The token and its audit record commit together: a token nobody can account for never exists.
  const audit = ctx.audit.entry({
    action: 'admin.token_created',
    outcome: 'success',
    actor: adminActorName(),
    subject: spiffeId,
    details: {
      kind,
      token: tokenFingerprint({ hash }),
      expires_at: new Date(expiresAt).toISOString(),
      ...(kind === 'tunneler' ? { connector_id: connectorId } : {}),
      ...(labels.length > 0 ? { labels } : {}),
    },
  });
  await ctx.store.createToken(
    {
      tokenHash: hash,
      kind,
      agentId: id as string,
      connectorId: kind === 'tunneler' ? (connectorId as string) : null,
      createdAt: now,
      expiresAt,
      labels,
    },
    audit,
  );
  ctx.audit.logged(audit);
  return { token, expiresAt: new Date(expiresAt), spiffeId };
}

/** A pending token as listed: never the token, nor its full hash. */
export interface PendingToken {
  /** {@link tokenFingerprint} of the token: what `DELETE /api/admin/tokens/{token_id}` takes. */
  tokenId: string;
  kind: AgentKind;
  agentId: string;
  connectorId: string | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * The unused, unexpired enrollment tokens, soonest expiry first.
 *
 * @example
 * ```ts
 * for (const t of await listPendingTokens(ctx)) console.log(t.tokenId, t.kind, t.agentId);
 * ```
 */
export async function listPendingTokens(ctx: ControllerContext): Promise<PendingToken[]> {
  const tokens = await ctx.store.listPendingTokens(ctx.clock().getTime());
  return tokens.map(pendingToken);
}

const TOKEN_ID = /^[0-9a-f]{12}$/;

/**
 * Cancels a pending token by its token id (the fingerprint shown by {@link listPendingTokens}
 * and in audit records), auditing `admin.token_cancelled`. Throws `ERR_REQUEST_INVALID` for a
 * malformed id and `ERR_NOT_FOUND` when no unused token has it.
 *
 * @example
 * ```ts
 * await cancelEnrollmentToken(ctx, '3fa4c2d19b07');
 * ```
 */
export async function cancelEnrollmentToken(
  ctx: ControllerContext,
  tokenId: string,
): Promise<PendingToken> {
  if (!TOKEN_ID.test(tokenId))
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      'a token id is the 12 lower-case hex characters GET /api/admin/tokens shows as token_id',
      { details: { field: 'token_id' } },
    );
  let audit: NewAuditRecord | undefined;
  // Deleted only together with its audit record.
  const cancelled = await ctx.store.cancelToken(tokenId, (token) => {
    audit = ctx.audit.entry({
      action: 'admin.token_cancelled',
      outcome: 'success',
      actor: adminActorName(),
      subject: agentSpiffeId(ctx.trustDomain, token.kind, token.agentId),
      details: { kind: token.kind, token: tokenId },
    });
    return audit;
  });
  if (cancelled === undefined)
    throw new SigilError('ERR_NOT_FOUND', `no unused enrollment token has id ${tokenId}`, {
      details: { tokenId },
    });
  ctx.audit.logged(audit!);
  return pendingToken(cancelled);
}

function pendingToken(t: EnrollmentTokenRecord): PendingToken {
  return {
    tokenId: tokenFingerprint({ hash: t.tokenHash }),
    kind: t.kind,
    agentId: t.agentId,
    connectorId: t.connectorId,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
  };
}

/**
 * Refuses without signing anything when the token cannot possibly redeem. A used token may still
 * be a retry by the same key (decided after signing, by the store), as long as its certificate is
 * valid. Pure.
 *
 * @example
 * ```ts
 * const refusal = tokenPrecheck(await store.findToken(hash), 'connector', 'connector-01', Date.now());
 * ```
 */
export function tokenPrecheck(
  token: EnrollmentTokenRecord | undefined,
  kind: AgentKind,
  agentId: string,
  now: number,
): TokenRefusalReason | undefined {
  if (token === undefined) return 'token_unknown';
  if (token.kind !== kind || token.agentId !== agentId) return 'token_mismatch';
  if (token.usedAt !== null)
    return token.certificateNotAfter !== null && token.certificateNotAfter > now
      ? undefined
      : 'token_used';
  if (token.expiresAt <= now) return 'token_expired';
  return undefined;
}
