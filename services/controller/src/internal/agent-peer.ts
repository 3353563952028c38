import type * as grpc from '@grpc/grpc-js';
import {
  createAuthorizationInterceptor,
  getPeerIdentity,
  loadAuthorizationPolicy,
} from '@sigil/interceptors';
import type { AuthContextCall, AuthorizationDenial, PeerTrust } from '@sigil/interceptors';
import { parseSpiffeId } from '@sigil/pki';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { AgentKind } from '../store/store';
import type { PresentedCertificate } from './connection-limits';
import type { RefusalReason } from './metrics';

/** An authenticated agent: who the client certificate says it is. */
export interface AgentPeer {
  spiffeId: string;
  kind: AgentKind;
  id: string;
  notAfter: Date;
  /** The presented leaf's notBefore (second precision, back-dated by `CERT_BACKDATE`). */
  notBefore: Date;
  /** Lower-case hex serial of the presented leaf. */
  serial: string;
}

/** Options of {@link createAgentAuthorizationInterceptor}. */
export interface AgentAuthorizationOptions {
  trustDomain: string;
  /** Runtime CA roots and the controller's clock: every call's certificate is re-validated at "now". */
  trust: PeerTrust;
  logger: pino.Logger;
  registry: Registry;
  /** The client certificate the connection of a call presented in TLS (the connection guard's). */
  presentedCertificate?: (peerAddress: string) => PresentedCertificate | undefined;
  onRefused: (refusal: {
    reason: RefusalReason;
    message: string;
    method: string;
    peerAddress: string;
  }) => void;
}

const REASONS: Record<AuthorizationDenial['reason'], RefusalReason> = {
  'no-client-certificate': 'svid_missing',
  'invalid-client-certificate': 'svid_invalid',
  'no-spiffe-id': 'svid_invalid',
  'no-matching-rule': 'svid_invalid',
};

/**
 * The refusal label of a denied call: `expired` when the connection presented a certificate
 * that TLS verification refused as expired (`CERT_HAS_EXPIRED`; grpc-js then shows the call as
 * one without a certificate) or, on a connection that verified, whose notAfter has passed by the
 * controller's clock (a long-lived connection outliving its certificate); otherwise the
 * denial's own label (`svid_missing`, `svid_invalid`).
 *
 * @example
 * ```ts
 * refusalReason('no-client-certificate', { notAfter: 0, verifyError: 'CERT_HAS_EXPIRED' }, new Date()); // 'expired'
 * refusalReason('no-client-certificate', undefined, new Date()); // 'svid_missing'
 * ```
 */
export function refusalReason(
  denial: AuthorizationDenial['reason'],
  presented: PresentedCertificate | undefined,
  now: Date,
): RefusalReason {
  if (presented !== undefined) {
    if (denial === 'no-client-certificate' && presented.verifyError === 'CERT_HAS_EXPIRED')
      return 'expired';
    if (
      denial === 'invalid-client-certificate' &&
      presented.verifyError === undefined &&
      presented.notAfter < now.getTime()
    )
      return 'expired';
  }
  return REASONS[denial];
}

/**
 * @sigil/interceptors' authorization in front of the controller: EnrollmentService is public
 * (agents enroll without a certificate); ControlPlaneService takes only callers whose client
 * certificate is an X509-SVID of the runtime bundle, valid at the controller's time, for a
 * connector or tunneler identity of the trust domain. Refusals are `UNAUTHENTICATED` (no or no
 * valid certificate) or `PERMISSION_DENIED` (not an agent identity), labelled by
 * {@link refusalReason} from the certificate the connection presented.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ interceptors: [createAgentAuthorizationInterceptor({ trustDomain, trust, logger, registry, onRefused })] });
 * ```
 */
export function createAgentAuthorizationInterceptor(
  options: AgentAuthorizationOptions,
): grpc.ServerInterceptor {
  const td = options.trustDomain;
  const policy = loadAuthorizationPolicy(
    {
      rules: [
        {
          name: 'enrollment',
          methods: ['sigil.controlplane.v1.EnrollmentService/*'],
          public: true,
        },
        {
          name: 'agents',
          methods: ['sigil.controlplane.v1.ControlPlaneService/*'],
          callers: [`spiffe://${td}/connector/*`, `spiffe://${td}/tunneler/*`],
        },
      ],
    },
    { source: 'controller built-in policy' },
  );
  return createAuthorizationInterceptor({
    policy,
    peerTrust: options.trust,
    logger: options.logger,
    registry: options.registry,
    onDenied: (denial) => {
      const presented = options.presentedCertificate?.(denial.peerAddress);
      const now = (options.trust.clock ?? (() => new Date()))();
      options.onRefused({
        reason: refusalReason(denial.reason, presented, now),
        message:
          presented?.verifyError === undefined
            ? denial.message
            : `${denial.message}: the presented client certificate failed TLS verification (${presented.verifyError})`,
        method: denial.method,
        peerAddress: denial.peerAddress,
      });
    },
  });
}

/**
 * The agent behind a call the authorization interceptor let through: its SPIFFE ID from
 * @sigil/interceptors' peer identity, kind and id from the ID's two path segments, serial,
 * notBefore and notAfter from the presented leaf as the interceptor read it (no second parse of
 * the certificate per call). Undefined when the ID is not exactly `/connector/<id>` or
 * `/tunneler/<id>`.
 *
 * @example
 * ```ts
 * const peer = agentPeerOf(call);
 * if (peer === undefined) return callback(notAnAgent());
 * ```
 */
export function agentPeerOf(call: AuthContextCall): AgentPeer | undefined {
  const identity = getPeerIdentity(call);
  if (identity?.spiffeId === undefined) return undefined;
  const { spiffeId } = identity;
  const segments = parseSpiffeId(spiffeId).segments;
  const [kind, id] = segments;
  if (segments.length !== 2 || (kind !== 'connector' && kind !== 'tunneler') || id === undefined)
    return undefined;
  return {
    spiffeId,
    kind,
    id,
    notAfter: identity.notAfter,
    notBefore: identity.notBefore,
    serial: identity.serialNumber,
  };
}
