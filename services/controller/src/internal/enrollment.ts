import { createHash, X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { SigilError, isSigilError, toGrpcError } from '@sigil/errors';
import { tokenFingerprint, tokenHash, verifyCertificateSigningRequest } from '@sigil/pki';
import type { IssuedCertificate } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { signAgentCertificate } from '../domain/issuance';
import { tokenPrecheck } from '../domain/tokens';
import type { AgentKind, EnrollmentTokenRecord, TokenRefusalReason } from '../store/store';
import { agentIdProblem, agentSpiffeId, cleanPrivateIp, cleanVersion } from './agent-identity';
import { csrInvalid, invalidRequest, trustBundleMessage } from './context';
import type { ControllerContext } from './context';
import { recordClockSkew } from './clock-skew';
import { storeUnavailableStatus } from './store-health';

/**
 * The one refusal every unusable token gets, whether unknown, expired, already used or issued for
 * another agent: a caller learns nothing about which tokens exist.
 *
 * @example
 * ```ts
 * if (err.code === grpc.status.UNAUTHENTICATED && err.details === TOKEN_REFUSAL_MESSAGE) exitWith('enrollment token refused');
 * ```
 */
export const TOKEN_REFUSAL_MESSAGE = 'enrollment token is invalid, expired or already used';

const KINDS: ReadonlyMap<controlplaneV1.AgentKind, AgentKind> = new Map([
  [controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR, 'connector'],
  [controlplaneV1.AgentKind.AGENT_KIND_TUNNELER, 'tunneler'],
]);

type Rejection = grpc.ServerErrorResponse;

/**
 * EnrollmentService.Enroll: the only RPC reachable without a client certificate. Redeems a
 * one-time token and certifies the CSR's public key as the agent's X509-SVID.
 *
 * The CSR is signed BEFORE the token is redeemed and the certificate is stored with the redemption,
 * so redemption, registration and audit commit together, and an agent that lost the response (a
 * controller crash) can retry with the same CSR key and receive the same certificate. A different
 * key never gets a second certificate for the token. The redemption starts the agent's
 * certificate lineage afresh (every earlier certificate is superseded) and lifts a revocation.
 *
 * @example
 * ```ts
 * server.addService(controlplaneV1.EnrollmentServiceService, createEnrollmentService(ctx, onEnrolled));
 * ```
 */
export function createEnrollmentService(
  ctx: ControllerContext,
  onEnrolled: (
    kind: AgentKind,
    token: EnrollmentTokenRecord,
    previousConnectorId: string | undefined,
  ) => void,
): controlplaneV1.EnrollmentServiceServer {
  async function enroll(
    request: controlplaneV1.EnrollRequest,
    peerAddress: string,
  ): Promise<controlplaneV1.EnrollResponse> {
    const kind = KINDS.get(request.kind);
    const hash = tokenHash(request.token);
    const actor = `token:${tokenFingerprint({ hash })}`;
    const subject =
      kind === undefined
        ? request.agentId.slice(0, 140)
        : agentSpiffeId(ctx.trustDomain, kind, request.agentId.slice(0, 140));

    const refuse = async (
      reason: TokenRefusalReason | 'csr_invalid' | 'request_invalid',
      error: SigilError,
    ): Promise<Rejection> => {
      ctx.metrics.refusals.inc({ reason });
      await ctx.audit.record({
        action: 'enrollment.refused',
        outcome: 'refused',
        actor,
        subject,
        details: { reason, kind: kind ?? 'unknown', peer: peerAddress },
      });
      return toGrpcError(error);
    };

    if (kind === undefined)
      throw await refuse(
        'request_invalid',
        invalidRequest('kind', 'kind must be AGENT_KIND_CONNECTOR or AGENT_KIND_TUNNELER'),
      );
    const idProblem = agentIdProblem(request.agentId, 'agent_id');
    if (idProblem !== undefined)
      throw await refuse('request_invalid', invalidRequest('agent_id', idProblem));
    if (request.csrPem.trim() === '')
      throw await refuse(
        'request_invalid',
        invalidRequest('csr_pem', 'csr_pem is required: a PEM PKCS#10 certificate signing request'),
      );

    // The CSR before the token: a malformed CSR gets the same answer with a live token as with
    // an unknown one, so it cannot be used to test which tokens exist.
    try {
      await verifyCertificateSigningRequest(request.csrPem);
    } catch (err) {
      if (!isSigilError(err)) throw err;
      throw await refuse('csr_invalid', csrInvalid(err));
    }

    const now = ctx.clock();
    const known = request.token === '' ? undefined : await ctx.store.findToken(hash);
    const early = tokenPrecheck(known, kind, request.agentId, now.getTime());
    if (early !== undefined) throw await refuse(early, tokenRefused());

    const spiffeId = agentSpiffeId(ctx.trustDomain, kind, request.agentId);
    let issued: IssuedCertificate;
    try {
      const signed = await signAgentCertificate(ctx, kind, spiffeId, request.csrPem);
      issued = signed.issued;
      await ctx.store.recordIssuedCertificate(signed.record);
    } catch (err) {
      if (!isSigilError(err, 'ERR_CSR_INVALID')) throw err;
      throw await refuse('csr_invalid', err);
    }
    const audit = ctx.audit.entry({
      action: 'enrollment.succeeded',
      outcome: 'success',
      actor,
      subject: spiffeId,
      details: {
        kind,
        serial: issued.serialNumber,
        not_after: issued.notAfter.toISOString(),
        peer: peerAddress,
      },
    });
    const result = await ctx.store.redeemToken({
      tokenHash: hash,
      kind,
      agentId: request.agentId,
      now: now.getTime(),
      publicKeySha256: publicKeySha256(issued.certificatePem),
      certificateSerial: issued.serialNumber,
      certificateChainPem: issued.chainPem,
      certificateNotAfter: issued.notAfter.getTime(),
      privateIp: cleanPrivateIp(request.privateIp),
      version: cleanVersion(request.version),
      audit,
    });
    if (result.outcome === 'refused') throw await refuse(result.reason, tokenRefused());
    const token = result.token;
    if (result.outcome === 'redeemed') {
      ctx.audit.logged(audit);
      ctx.metrics.enrollments.inc({ kind });
      const previousConnectorId =
        kind === 'tunneler' ? ctx.registry.tunnelerConnector(request.agentId) : undefined;
      // The store lifted any revocation with the redemption; this replica follows at once.
      ctx.revocations.lift(kind, request.agentId);
      ctx.registry.enrolled(kind, {
        id: request.agentId,
        connectorId: token.connectorId,
        privateIp: cleanPrivateIp(request.privateIp),
        version: cleanVersion(request.version),
        at: now.getTime(),
      });
      onEnrolled(kind, token, previousConnectorId);
    } else {
      await ctx.audit.record({
        action: 'enrollment.retried',
        outcome: 'success',
        actor,
        subject: spiffeId,
        details: { kind, serial: token.certificateSerial, peer: peerAddress },
      });
    }
    recordClockSkew(ctx, kind, request.agentId, request.sentAt, now.getTime());
    return {
      spiffeId,
      certificateChainPem: token.certificateChainPem ?? '',
      trustBundle: trustBundleMessage(ctx),
      notAfter: token.certificateNotAfter ?? 0,
      connectorId: token.connectorId ?? '',
    };
  }

  return {
    enroll(call, callback) {
      enroll(call.request, call.getPeer()).then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (isStatus(err)) return callback(err);
          if (isSigilError(err, 'ERR_STORE_UNAVAILABLE'))
            return callback(storeUnavailableStatus(err));
          ctx.logger.error({ event: 'enrollment.failed', err }, 'enrollment.failed');
          callback(
            toGrpcError(
              new SigilError('ERR_INTERNAL', 'enrollment failed on the controller; see its log', {
                cause: err,
              }),
            ),
          );
        },
      );
    },
  };
}

function tokenRefused(): SigilError {
  return new SigilError('ERR_ENROLLMENT_REFUSED', TOKEN_REFUSAL_MESSAGE);
}

/**
 * SHA-256 (hex) of the certified public key's SPKI: identifies "the same key" across retries.
 *
 * @example
 * ```ts
 * publicKeySha256(issued.certificatePem); // '9f86d0...'
 * ```
 */
export function publicKeySha256(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  return createHash('sha256').update(spki).digest('hex');
}

function isStatus(err: unknown): err is grpc.ServerErrorResponse {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
}
