import { SigilError } from '@sigil/errors';
import type { AgentKind, RevocationRecord } from '../store/store';
import { agentIdProblem, agentSpiffeId } from '../internal/agent-identity';
import type { ControllerContext } from '../internal/context';
import type { AgentNotifier } from './ports';

/** The longest revocation reason kept. */
export const MAX_REVOCATION_REASON_LENGTH = 500;

/** The revocations in force, held in memory and kept in step with the store. */
export interface RevocationSet {
  /** The revocation in force for the agent, if any. */
  get(kind: AgentKind, agentId: string): RevocationRecord | undefined;
  /** Ids of revoked tunnelers, sorted: the deny list connectors receive. */
  revokedTunnelerIds(): string[];
  /** Records a revocation made here. */
  add(revocation: RevocationRecord): void;
  /** Forgets the agent's revocation (a new enrollment lifted it). */
  lift(kind: AgentKind, agentId: string): void;
  /** Increases with every local change (so a sync that raced one can be discarded). */
  readonly generation: number;
  /** Replaces the set with what the store holds; returns the revocations that are new here. */
  replace(active: readonly RevocationRecord[]): RevocationRecord[];
}

const keyOf = (kind: AgentKind, agentId: string): string => `${kind}/${agentId}`;

/**
 * An empty {@link RevocationSet}.
 *
 * @example
 * ```ts
 * const revocations = createRevocationSet();
 * revocations.replace(await store.activeRevocations());
 * ```
 */
export function createRevocationSet(): RevocationSet {
  let byKey = new Map<string, RevocationRecord>();
  let generation = 0;
  return {
    get generation() {
      return generation;
    },
    get: (kind, agentId) => byKey.get(keyOf(kind, agentId)),
    revokedTunnelerIds: () =>
      [...byKey.values()]
        .filter((r) => r.kind === 'tunneler')
        .map((r) => r.agentId)
        .sort(),
    add(revocation) {
      byKey.set(keyOf(revocation.kind, revocation.agentId), revocation);
      generation += 1;
    },
    lift(kind, agentId) {
      if (byKey.delete(keyOf(kind, agentId))) generation += 1;
    },
    replace(active) {
      const next = new Map(active.map((r) => [keyOf(r.kind, r.agentId), r]));
      const added = [...next.entries()].filter(([key]) => !byKey.has(key)).map(([, r]) => r);
      byKey = next;
      return added;
    },
  };
}

/** A revocation request (the admin API's `POST /api/admin/{connectors|tunnelers}/{id}/revoke`). */
export interface RevokeAgentRequest {
  kind: AgentKind;
  agentId: string;
  reason: unknown;
  /** Who asks: `admin`. */
  actor: string;
}

/** The result of {@link revokeAgent}: `created` false when the agent was already revoked. */
export interface RevokeAgentResult {
  revocation: RevocationRecord;
  created: boolean;
}

/**
 * Revokes an enrolled agent: stores the revocation with its `admin.agent_revoked` audit record,
 * then refuses its renewals and streams from now on, ends its open streams with `Revoked` and
 * pushes the deny list. Revoking a revoked agent changes nothing and returns the revocation in
 * force. Throws `ERR_REQUEST_INVALID` (bad id or reason) or `ERR_NOT_FOUND` (not enrolled).
 *
 * @example
 * ```ts
 * const { revocation } = await revokeAgent(ctx, notifier, { kind: 'tunneler', agentId: 'laptop-7', reason: 'stolen', actor: 'admin' });
 * ```
 */
export async function revokeAgent(
  ctx: ControllerContext,
  notifier: AgentNotifier,
  request: RevokeAgentRequest,
): Promise<RevokeAgentResult> {
  const { kind, agentId, reason, actor } = request;
  const idProblem = agentIdProblem(agentId, `${kind} id`);
  if (idProblem !== undefined)
    throw new SigilError('ERR_REQUEST_INVALID', idProblem, { details: { field: 'id' } });
  if (
    typeof reason !== 'string' ||
    reason.trim() === '' ||
    reason.length > MAX_REVOCATION_REASON_LENGTH
  )
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      `reason is required: why the ${kind} is revoked, 1-${MAX_REVOCATION_REASON_LENGTH} characters`,
      { details: { field: 'reason' } },
    );
  if (!ctx.registry.isEnrolled(kind, agentId))
    throw new SigilError('ERR_NOT_FOUND', `no ${kind} "${agentId}" is enrolled`, {
      details: { kind, id: agentId },
    });
  const existing = ctx.revocations.get(kind, agentId);
  if (existing !== undefined) return { revocation: existing, created: false };
  const revokedAt = ctx.clock().getTime();
  const spiffeId = agentSpiffeId(ctx.trustDomain, kind, agentId);
  const audit = ctx.audit.entry({
    action: 'admin.agent_revoked',
    outcome: 'success',
    actor,
    subject: spiffeId,
    details: { kind, reason },
  });
  const revocation = await ctx.store.revokeAgent({
    kind,
    agentId,
    reason,
    revokedAt,
    actor,
    audit,
  });
  ctx.audit.logged(audit);
  ctx.revocations.add(revocation);
  notifier.agentRevoked(revocation);
  return { revocation, created: true };
}

/**
 * Brings this controller's {@link RevocationSet} in step with the store (revocations made by
 * another replica) and applies the effects of the new ones here.
 *
 * @example
 * ```ts
 * setInterval(() => void syncRevocations(ctx, controlPlane), 2000);
 * ```
 */
export async function syncRevocations(
  ctx: ControllerContext,
  notifier: AgentNotifier,
): Promise<void> {
  const generation = ctx.revocations.generation;
  const active = await ctx.store.activeRevocations();
  // A revocation or enrollment here while the store was read: the next sync sees it.
  if (ctx.revocations.generation !== generation) return;
  const added = ctx.revocations.replace(active);
  for (const revocation of added) notifier.agentRevoked(revocation);
}
