import type { AgentKind, RevocationRecord } from '../store/store';
import type { AgentVersionPins, UpgradeRequirement } from './agent-versions';

/**
 * What the use cases ask of the transports that hold live agent connections (the connector
 * control streams): implemented by the gRPC control plane.
 */
export interface AgentNotifier {
  /** Ends the revoked agent's open streams with `Revoked` and pushes the deny list to connectors. */
  agentRevoked(revocation: RevocationRecord): void;
  /** Sends the connector its current approved-tunneler list, if it is connected. */
  pushApprovedTunnelers(connectorId: string): void;
  /** Asks a connected connector to renew now; the command id, or undefined without a stream. */
  requestRenewal(connectorId: string): string | undefined;
}

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

/** The pinned minimum agent versions in force here, kept in step with the store (see createAgentVersionPinSet). */
export interface AgentVersionPinSet {
  current(): AgentVersionPins;
  /** What an agent of `kind` reporting `version` must be told, or undefined when it meets the minimum. */
  requirement(kind: AgentKind, version: string): UpgradeRequirement | undefined;
  /** `AGENT_UPGRADE_GRACE` in ms; undefined: renewals are never refused. */
  readonly graceMs: number | undefined;
  /** Replaces the pins (a set here, or a refresh from the store). */
  replace(pins: AgentVersionPins): void;
  /** Increases with every {@link AgentVersionPinSet.replace} (so a refresh that raced a set can be discarded). */
  readonly generation: number;
}
