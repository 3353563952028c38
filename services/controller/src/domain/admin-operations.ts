import { SigilError } from '@sigil/errors';
import { agentIdProblem, agentSpiffeId } from '../internal/agent-identity';
import type { ControllerContext } from '../internal/context';
import type { ConnectorView, TunnelerView } from '../registry';
import type { AgentKind, RevocationRecord } from '../store/store';
import type { AgentNotifier } from './ports';
import { agentVersionsReport, setAgentVersionPins } from './agent-version-pins';
import type { AgentVersionsReport } from './agent-version-pins';
import { revokeAgent } from './revocations';
import type { RevokeAgentResult } from './revocations';
import { cancelEnrollmentToken, issueEnrollmentToken, listPendingTokens } from './tokens';
import type { CreatedEnrollmentToken, EnrollmentTokenRequest, PendingToken } from './tokens';
import { adminActorName } from '../internal/admin-actor';

/** The most revocations one listing returns. */
export const MAX_REVOCATIONS_LISTED = 1000;

/**
 * Every operator action, once: the `Controller` methods and the admin HTTP API both call these.
 * Each audits what it did (actor: the admin request's user, `admin` outside a request).
 */
export interface AdminOperations {
  createToken(request: {
    [K in keyof EnrollmentTokenRequest]?: unknown;
  }): Promise<CreatedEnrollmentToken>;
  listTokens(): Promise<PendingToken[]>;
  cancelToken(tokenId: string): Promise<PendingToken>;
  listConnectors(): ConnectorView[];
  listTunnelers(): TunnelerView[];
  revoke(kind: AgentKind, agentId: string, reason: unknown): Promise<RevokeAgentResult>;
  listRevocations(limit?: number): Promise<RevocationRecord[]>;
  /** Sends RenewNow; rejects `ERR_NOT_FOUND` (not enrolled) or `ERR_AGENT_NOT_CONNECTED`. */
  requestRenewal(connectorId: string): Promise<string>;
  /** The pinned minimum agent versions and how many agents are below them. */
  agentVersions(): AgentVersionsReport;
  /** Pins `connector_min` and `tunneler_min` (null or absent clears one); rejects `ERR_REQUEST_INVALID` naming the field. */
  setAgentVersions(body: Record<string, unknown>): Promise<AgentVersionsReport>;
}

/**
 * The operator actions over the shared context and the live streams.
 *
 * @example
 * ```ts
 * const admin = createAdminOperations(ctx, controlPlane, { tokenTtlSeconds: 900 });
 * await admin.revoke('connector', 'connector-01', 'host decommissioned');
 * ```
 */
export function createAdminOperations(
  ctx: ControllerContext,
  notifier: AgentNotifier,
  options: {
    tokenTtlSeconds: number;
    /**
     * With replicas: hands RenewNow to whichever replica holds the stream (when this one holds
     * none); the command id and the replica that delivered it, or undefined when none did.
     */
    relayRenewal?: (
      connectorId: string,
    ) => Promise<{ commandId: string; deliveredBy: string } | undefined>;
  },
): AdminOperations {
  return {
    createToken: (request) => issueEnrollmentToken(ctx, options.tokenTtlSeconds, request),
    listTokens: () => listPendingTokens(ctx),
    cancelToken: (tokenId) => cancelEnrollmentToken(ctx, tokenId),
    listConnectors: () => ctx.registry.listConnectors(),
    listTunnelers: () => ctx.registry.listTunnelers(),
    revoke: (kind, agentId, reason) =>
      revokeAgent(ctx, notifier, { kind, agentId, reason, actor: adminActorName() }),
    agentVersions: () => agentVersionsReport(ctx),
    async setAgentVersions(body) {
      await setAgentVersionPins(ctx, body, adminActorName());
      return agentVersionsReport(ctx);
    },
    listRevocations: (limit = MAX_REVOCATIONS_LISTED) =>
      ctx.store.listRevocations(Math.min(limit, MAX_REVOCATIONS_LISTED)),
    async requestRenewal(connectorId) {
      const problem = agentIdProblem(connectorId, 'connector id');
      if (problem !== undefined)
        throw new SigilError('ERR_REQUEST_INVALID', problem, { details: { field: 'id' } });
      if (!ctx.registry.isEnrolled('connector', connectorId))
        throw new SigilError('ERR_NOT_FOUND', `no connector "${connectorId}" is enrolled`, {
          details: { connectorId },
        });
      const local = notifier.requestRenewal(connectorId);
      const relayed =
        local === undefined && options.relayRenewal !== undefined
          ? await options.relayRenewal(connectorId)
          : undefined;
      const commandId = local ?? relayed?.commandId;
      if (commandId === undefined)
        throw new SigilError(
          'ERR_AGENT_NOT_CONNECTED',
          options.relayRenewal === undefined
            ? `connector "${connectorId}" has no open control stream to send the command on`
            : `connector "${connectorId}" has no open control stream on any controller replica to send the command on`,
          { details: { connectorId } },
        );
      await ctx.audit.record({
        action: 'admin.renewal_requested',
        outcome: 'success',
        actor: adminActorName(),
        subject: agentSpiffeId(ctx.trustDomain, 'connector', connectorId),
        details: {
          command_id: commandId,
          ...(relayed === undefined ? {} : { delivered_by: relayed.deliveredBy }),
        },
      });
      return commandId;
    },
  };
}
