import type { RevocationRecord } from '../store/store';

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
