import { SigilError } from '@sigil/errors';
import type { controlplaneV1 } from '@sigil/proto';
import { describeServiceError } from './internal/grpc-errors';

/**
 * The ERR_AGENT_REVOKED an agent ends with: from a `Revoked` message on its stream (the
 * operator's reason and time), or from a PERMISSION_DENIED refusal saying so (on Renew, or when
 * a stream opens). `peer` names who said it: `the controller` or `connector edge-1`.
 *
 * @example
 * ```ts
 * const error = revocationError({ peer: 'the controller', revoked: message.body.revoked, spiffeId: identity.spiffeId });
 * error.code; // 'ERR_AGENT_REVOKED'
 * error.details; // { reason: 'laptop stolen', revokedAt: '2026-12-02T01:00:00.000Z', spiffeId: '...' }
 * ```
 */
export function revocationError(options: {
  peer: string;
  revoked?: controlplaneV1.Revoked;
  refusal?: unknown;
  /** The agent's own SPIFFE ID (the message's, when it names one, wins). */
  spiffeId: string;
}): SigilError {
  const { revoked } = options;
  const revokedAt = revoked?.revokedAt ? new Date(revoked.revokedAt).toISOString() : undefined;
  const spiffeId = revoked?.spiffeId || options.spiffeId;
  const why =
    revoked === undefined
      ? `refused it: ${describeServiceError(options.refusal)}`
      : `revoked it${revokedAt === undefined ? '' : ` at ${revokedAt}`}: ${revoked.reason || 'no reason given'}`;
  return new SigilError(
    'ERR_AGENT_REVOKED',
    `the identity ${spiffeId} is revoked: ${options.peer} ${why}; the agent stops and does not retry (enroll again with a new token if it should run)`,
    {
      details: {
        peer: options.peer,
        spiffeId,
        reason: revoked?.reason,
        revokedAt,
      },
    },
  );
}
