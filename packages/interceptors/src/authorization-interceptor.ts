import { ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { evaluatePolicy } from './authorization-policy';
import type { AuthorizationPolicy } from './authorization-policy';
import { defaultLogger } from './internal/default-logger';
import { methodName } from './internal/method-path';
import { counter } from './internal/metrics';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import type { PeerIdentity } from './peer-identity-types';

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
}

/**
 * A server interceptor that authorizes every call against a policy by the caller's SPIFFE ID,
 * as soon as the request metadata arrives (before the handler runs or any message is read).
 * A denied call ends with `PERMISSION_DENIED` whose message names the caller's identity (or
 * says it presented no client certificate), is logged as `authz.denied` and counted in
 * `sigil_authz_denied_total{grpc_service,grpc_method,reason}`.
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
  const { policy } = options;
  const logger = options.logger ?? defaultLogger();
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
            const identity = resolvePeerIdentity(call, metadata);
            const decision = evaluatePolicy(policy, {
              spiffeId: identity?.spiffeId,
              method: name.fullName,
            });
            if (decision.allowed) {
              nextMetadata(metadata);
              return;
            }
            denied.inc({
              grpc_service: name.service,
              grpc_method: name.method,
              reason: decision.reason,
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
                reason: decision.reason,
                policy: policy.source,
              },
              'authorization denied',
            );
            call.sendStatus({
              code: status.PERMISSION_DENIED,
              details: `${describeCaller(identity)} is not allowed to call ${name.fullName}`,
            });
          },
        }),
    });
}

function describeCaller(identity: PeerIdentity | undefined): string {
  if (identity === undefined) return 'caller with no client certificate';
  if (identity.spiffeId !== undefined) return `caller ${identity.spiffeId}`;
  return `caller certificate "${identity.subject}" has no SPIFFE ID and`;
}
