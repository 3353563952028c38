import type * as grpc from '@grpc/grpc-js';
import { createObservingInterceptor } from './internal/observing-interceptor';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import type { AuthContext } from './internal/resolve-peer-identity';
import type { PeerIdentity } from './internal/peer-identity-type';

export type { PeerIdentity };

/**
 * Anything that exposes the TLS auth context: a handler's call, or a server interceptor's call.
 *
 * @example
 * ```ts
 * function callerOf(call: AuthContextCall): string {
 *   return getPeerIdentity(call)?.spiffeId ?? 'anonymous';
 * }
 * ```
 */
export interface AuthContextCall {
  getAuthContext(): AuthContext;
  /** The request metadata; present on handler calls, where it carries the interceptors' results. */
  readonly metadata?: grpc.Metadata;
}

/**
 * The verified peer identity of a call, or `undefined` when the client presented no verified
 * certificate (only possible on servers that do not require one). Works in handlers and in
 * server interceptors, with or without {@link createIdentityInterceptor}. The certificate is read
 * and parsed once per connection (the peer certificate cannot change on an HTTP/2 connection) and
 * the result is attached to the call, so repeated calls cost a lookup.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ interceptors: [createIdentityInterceptor()] });
 * server.addService(service, {
 *   getUser(call, callback) {
 *     const peer = getPeerIdentity(call);
 *     callback(null, { caller: peer?.spiffeId ?? 'anonymous' });
 *   },
 * });
 * ```
 */
export function getPeerIdentity(call: AuthContextCall): PeerIdentity | undefined {
  return resolvePeerIdentity(call, call.metadata);
}

/**
 * A server interceptor that resolves the caller's identity as soon as the request metadata
 * arrives and attaches it to the call for later interceptors and for {@link getPeerIdentity} in
 * handlers. Put it first in the server's `interceptors` ({@link createServerInterceptors} does).
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ interceptors: [createIdentityInterceptor()] });
 * ```
 */
export function createIdentityInterceptor(): grpc.ServerInterceptor {
  return createObservingInterceptor([], { resolveIdentity: true });
}
