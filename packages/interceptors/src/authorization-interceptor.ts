import { ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AUTHZ_POLICY_ENV, evaluatePolicy } from './authorization-policy';
import type { AuthorizationPolicy, PolicyDecisionReason } from './authorization-policy';
import { findCallState } from './internal/call-state';
import { defaultLogger } from './internal/default-logger';
import { methodName } from './internal/method-path';
import { counter } from './internal/metrics';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import type { PeerIdentity, PeerTrust } from './peer-identity-types';

/**
 * Why a call was refused. `no-client-certificate` and `invalid-client-certificate` end it with
 * `UNAUTHENTICATED` (the caller did not prove who it is: it presented no certificate the TLS
 * handshake verified, or one that failed the {@link PeerTrust} check at the time of the call);
 * `no-spiffe-id` (a verified certificate that names no workload) and `no-matching-rule` with
 * `PERMISSION_DENIED`.
 *
 * @example
 * ```ts
 * const reason: AuthorizationDenialReason = 'no-client-certificate';
 * ```
 */
export type AuthorizationDenialReason =
  'no-client-certificate' | 'invalid-client-certificate' | 'no-spiffe-id' | 'no-matching-rule';

/**
 * One refused call, as given to `onDenied` (after it was logged and counted, before the status
 * is sent).
 *
 * @example
 * ```ts
 * const onDenied = (denial: AuthorizationDenial) =>
 *   audit.record({ action: 'rpc.refused', actor: denial.spiffeId ?? denial.peerAddress, subject: denial.method, details: { reason: denial.reason } });
 * ```
 */
export interface AuthorizationDenial {
  /** `package.Service/Method`. */
  readonly method: string;
  readonly reason: AuthorizationDenialReason;
  /** The status the call ends with: `UNAUTHENTICATED` or `PERMISSION_DENIED`. */
  readonly code: status;
  /** The status message the caller receives. */
  readonly message: string;
  /** The caller's SPIFFE ID, when it has an accepted one. */
  readonly spiffeId?: string;
  /** For `invalid-client-certificate`: why the certificate was not accepted. */
  readonly certificateProblem?: string;
  /** grpc-js's `call.getPeer()`, e.g. `127.0.0.1:51234`. */
  readonly peerAddress: string;
}

/**
 * Options of {@link createAuthorizationInterceptor}.
 *
 * @example
 * ```ts
 * const options: AuthorizationInterceptorOptions = { policy: authorizationPolicyFromEnv(process.env), logger, registry };
 * ```
 */
export interface AuthorizationInterceptorOptions {
  /** The compiled policy (from {@link loadAuthorizationPolicy} or {@link authorizationPolicyFromEnv}). */
  policy: AuthorizationPolicy;
  /** Receives one `authz.denied` warning per denied call; default: a pino logger to stdout. */
  logger?: Logger;
  /** Where `sigil_authz_denied_total` is registered; default: prom-client's global registry. */
  registry?: Registry;
  /** Re-validate the peer certificate on every call (see {@link PeerTrust}); also applied when an earlier identity interceptor resolved the peer without it. */
  peerTrust?: PeerTrust;
  /** Called for every refused call, e.g. for an audit trail. An exception it throws is logged, not sent to the caller. */
  onDenied?: (denial: AuthorizationDenial) => void;
}

/**
 * A server interceptor that authorizes every call against a policy by the caller's SPIFFE ID,
 * as soon as the request metadata arrives (before the handler runs or any message is read).
 * A caller without an accepted client certificate reaches only methods of public rules; others
 * end with `UNAUTHENTICATED`. A caller the policy does not allow ends with `PERMISSION_DENIED`.
 * Each message names the caller's identity (or says it presented no verified client
 * certificate); each denial is logged as `authz.denied`, counted in
 * `sigil_authz_denied_total{grpc_service,grpc_method,reason}` and given to `onDenied`. A policy
 * without rules (`SIGIL_AUTHZ_POLICY` unset and no built-in policy) is logged once, here, as an
 * `authz.policy-empty` warning, since it denies every call.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({
 *   interceptors: [createIdentityInterceptor(), createAuthorizationInterceptor({ policy: authorizationPolicyFromEnv(process.env), logger })],
 * });
 * ```
 */
export function createAuthorizationInterceptor(
  options: AuthorizationInterceptorOptions,
): ServerInterceptor {
  const { policy, peerTrust, onDenied } = options;
  const logger = options.logger ?? defaultLogger();
  if (policy.rules.length === 0) warnEmptyPolicy(logger, policy);
  const denied = counter(options.registry, {
    name: 'sigil_authz_denied_total',
    help: 'gRPC calls refused by the Sigil authorization policy.',
    labelNames: ['grpc_service', 'grpc_method', 'reason'] as const,
  });
  return (methodDescriptor, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const name = methodName(methodDescriptor.path);
            const identity = resolvePeerIdentity(call, metadata, peerTrust);
            const decision = evaluatePolicy(policy, {
              spiffeId: identity?.spiffeId,
              method: name.fullName,
            });
            if (decision.allowed) {
              nextMetadata(metadata);
              return;
            }
            const certificateProblem = findCallState(metadata)?.rejectedCertificate;
            const denial = describeDenial(
              name.fullName,
              identity,
              certificateProblem,
              decision.reason,
            );
            denied.inc({
              grpc_service: name.service,
              grpc_method: name.method,
              reason: denial.reason,
            });
            logger.warn(
              {
                event: 'authz.denied',
                method: name.fullName,
                spiffeId: identity?.spiffeId,
                peerSubject:
                  identity !== undefined && identity.spiffeId === undefined
                    ? identity.subject
                    : undefined,
                peerAddress: call.getPeer(),
                reason: denial.reason,
                certificateProblem,
                policy: policy.source,
              },
              'authorization denied',
            );
            if (onDenied !== undefined) {
              try {
                onDenied({
                  ...denial,
                  method: name.fullName,
                  ...(identity?.spiffeId === undefined ? {} : { spiffeId: identity.spiffeId }),
                  ...(certificateProblem === undefined ? {} : { certificateProblem }),
                  peerAddress: call.getPeer(),
                });
              } catch (err) {
                logger.error({ event: 'authz.on_denied_failed', err }, 'onDenied threw');
              }
            }
            call.sendStatus({ code: denial.code, details: denial.message });
          },
        }),
    });
}

function describeDenial(
  method: string,
  identity: PeerIdentity | undefined,
  certificateProblem: string | undefined,
  reason: PolicyDecisionReason,
): { reason: AuthorizationDenialReason; code: status; message: string } {
  if (identity === undefined && certificateProblem !== undefined)
    return {
      reason: 'invalid-client-certificate',
      code: status.UNAUTHENTICATED,
      message: `caller certificate is not accepted (${certificateProblem}) and the caller is not allowed to call ${method} unauthenticated`,
    };
  if (identity === undefined)
    return {
      reason: 'no-client-certificate',
      code: status.UNAUTHENTICATED,
      message: `caller without a verified client certificate is not allowed to call ${method}`,
    };
  return {
    reason: reason === 'no-spiffe-id' ? 'no-spiffe-id' : 'no-matching-rule',
    code: status.PERMISSION_DENIED,
    message: `${identity.spiffeId === undefined ? `caller certificate "${identity.subject}" has no SPIFFE ID and` : `caller ${identity.spiffeId}`} is not allowed to call ${method}`,
  };
}

// Deny-all is the safe default, but a silent one reads as a broken service: say it once at start.
function warnEmptyPolicy(logger: Logger, policy: AuthorizationPolicy): void {
  const exceptHealth = policy.health === 'open' ? ' except grpc.health.v1' : '';
  logger.warn(
    { event: 'authz.policy-empty', source: policy.source, variable: AUTHZ_POLICY_ENV },
    `authorization policy "${policy.source}" has no rules: every call${exceptHealth} is denied; to allow callers, set ${AUTHZ_POLICY_ENV} to a policy file whose rules name them (rules: [{methods: [pkg.Service/*], callers: [spiffe://<trust-domain>/<caller>]}], see docs/authorization.md)`,
  );
}
