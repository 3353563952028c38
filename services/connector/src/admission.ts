import * as grpc from '@grpc/grpc-js';
import { parseSpiffeId } from '@sigil/pki';

/** The connector's decision on a tunneler that opened ConnectorService.Tunnel. */
export type AdmissionVerdict =
  | { admitted: true; tunnelerId: string }
  | {
      admitted: false;
      code: grpc.status;
      reason: 'not_a_tunneler' | 'revoked' | 'approvals_unknown' | 'not_approved';
      message: string;
      /** The refused tunneler's id, when the refusal is that it is revoked. */
      tunnelerId?: string;
    };

/** What {@link admitTunneler} decides on. */
export interface AdmissionRequest {
  /** The peer's verified SPIFFE ID (undefined when its certificate has none). */
  peerSpiffeId: string | undefined;
  /** This connector's trust domain. */
  trustDomain: string;
  connectorId: string;
  /** The latest ApprovedTunnelers list; undefined until the controller sent one. */
  approved: ReadonlySet<string> | undefined;
  /** The latest RevokedTunnelers deny list (empty until the controller sent one). */
  revoked: ReadonlySet<string>;
}

/**
 * Deny by default: a peer is admitted only when its certificate names
 * `spiffe://<trust-domain>/tunneler/<id>`, `<id>` is not on the controller's deny list, and the
 * controller approved `<id>` for this connector. A revoked tunneler is refused with
 * PERMISSION_DENIED saying so, even before the first ApprovedTunnelers; otherwise, before the
 * first ApprovedTunnelers arrives the answer is UNAVAILABLE (retry later), after it
 * PERMISSION_DENIED.
 *
 * @example
 * ```ts
 * admitTunneler({ peerSpiffeId: 'spiffe://sigil.local/tunneler/laptop-1', trustDomain: 'sigil.local', connectorId: 'edge-1', approved: new Set(['laptop-1']), revoked: new Set() });
 * // { admitted: true, tunnelerId: 'laptop-1' }
 * ```
 */
export function admitTunneler(request: AdmissionRequest): AdmissionVerdict {
  const id = tunnelerIdOf(request.peerSpiffeId, request.trustDomain);
  if (id === undefined) {
    return {
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'not_a_tunneler',
      message: `${request.peerSpiffeId ?? 'a peer without a SPIFFE ID'} is not a tunneler of spiffe://${request.trustDomain}; connector ${request.connectorId} admits only approved tunnelers`,
    };
  }
  if (request.revoked.has(id)) {
    return {
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'revoked',
      tunnelerId: id,
      message: `tunneler ${id} is revoked: the controller put it on the deny list of connector ${request.connectorId}`,
    };
  }
  if (request.approved === undefined) {
    return {
      admitted: false,
      code: grpc.status.UNAVAILABLE,
      reason: 'approvals_unknown',
      message: `connector ${request.connectorId} has not yet received its approved tunneler list from the controller; retry shortly`,
    };
  }
  if (!request.approved.has(id)) {
    return {
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'not_approved',
      message: `tunneler ${id} is not approved for connector ${request.connectorId}`,
    };
  }
  return { admitted: true, tunnelerId: id };
}

function tunnelerIdOf(spiffeId: string | undefined, trustDomain: string): string | undefined {
  if (spiffeId === undefined) return undefined;
  const parsed = parseSpiffeId(spiffeId);
  const [kind, id] = parsed.segments;
  return parsed.trustDomain === trustDomain && parsed.segments.length === 2 && kind === 'tunneler'
    ? id
    : undefined;
}
