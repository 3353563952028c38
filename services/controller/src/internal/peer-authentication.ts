import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { isSigilError } from '@sigil/errors';
import { parseSpiffeId, validateX509Svid } from '@sigil/pki';
import type { AgentKind } from '../store/store';
import type { RefusalReason } from './metrics';

/** An authenticated agent: who the client certificate says it is. */
export interface AgentPeer {
  spiffeId: string;
  kind: AgentKind;
  id: string;
  notAfter: Date;
  /** Lower-case hex serial of the presented leaf. */
  serial: string;
}

/** The part of grpc-js's call auth context we read (the type is not exported by grpc-js). */
export interface PeerAuthContext {
  sslPeerCertificate?: { raw?: Buffer };
}

/** The verdict on a caller's client certificate. */
export type PeerVerdict =
  { ok: true; peer: AgentPeer } | { ok: false; reason: RefusalReason; message: string };

/** What peer authentication checks against; read on every call so a CA rotation applies at once. */
export interface RuntimeTrust {
  trustDomain: string;
  /** Runtime CA roots, PEM. */
  bundlePem: () => string;
  now: () => Date;
}

const NO_CERTIFICATE =
  "ControlPlaneService requires a client X509-SVID issued by this controller's runtime CA (none was presented, or it did not verify against the runtime trust bundle)";

/**
 * Authenticates the caller of a ControlPlaneService RPC from its TLS client certificate ONLY:
 * grpc-js exposes the certificate when the handshake verified it against the runtime bundle, and
 * it must then be a valid X509-SVID (validateX509Svid at the current time) of an agent identity
 * `spiffe://<td>/connector/<id>` or `spiffe://<td>/tunneler/<id>`.
 */
export function authenticateAgentPeer(
  authContext: PeerAuthContext,
  trust: RuntimeTrust,
): PeerVerdict {
  const raw = authContext.sslPeerCertificate?.raw;
  if (raw === undefined) return { ok: false, reason: 'svid_missing', message: NO_CERTIFICATE };
  let spiffeId: string;
  let notAfter: Date;
  let serial: string;
  try {
    const svid = validateX509Svid([new X509Certificate(raw)], trust.bundlePem(), {
      trustDomain: trust.trustDomain,
      at: trust.now(),
    });
    spiffeId = svid.spiffeId;
    notAfter = svid.notAfter;
    serial = svid.leaf.serialNumber.toLowerCase();
  } catch (err) {
    const why = isSigilError(err) ? err.message : String(err);
    return {
      ok: false,
      reason: 'svid_invalid',
      message: `client certificate is not a valid runtime X509-SVID: ${why}`,
    };
  }
  const segments = parseSpiffeId(spiffeId).segments;
  const [kind, id] = segments;
  if (segments.length !== 2 || (kind !== 'connector' && kind !== 'tunneler') || id === undefined) {
    return {
      ok: false,
      reason: 'svid_invalid',
      message: `${spiffeId} is not an agent identity (spiffe://${trust.trustDomain}/connector/<id> or /tunneler/<id>)`,
    };
  }
  return { ok: true, peer: { spiffeId, kind, id, notAfter, serial } };
}

/**
 * A server interceptor that refuses every call under `servicePath` (e.g.
 * `/sigil.controlplane.v1.ControlPlaneService/`) with UNAUTHENTICATED unless
 * {@link authenticateAgentPeer} accepts the caller; other services (Enroll) pass through.
 */
export function createAgentAuthenticationInterceptor(options: {
  servicePath: string;
  trust: RuntimeTrust;
  onRefused: (refusal: {
    reason: RefusalReason;
    message: string;
    method: string;
    peerAddress: string;
  }) => void;
}): grpc.ServerInterceptor {
  return (methodDescriptor, call) => {
    if (!methodDescriptor.path.startsWith(options.servicePath))
      return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const verdict = authenticateAgentPeer(call.getAuthContext(), options.trust);
            if (verdict.ok) {
              nextMetadata(metadata);
              return;
            }
            options.onRefused({
              reason: verdict.reason,
              message: verdict.message,
              method: methodDescriptor.path,
              peerAddress: call.getPeer(),
            });
            call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: verdict.message });
          },
        }),
    });
  };
}
