import type * as grpc from '@grpc/grpc-js';
import { createObservingInterceptor } from './internal/observing-interceptor';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import type { AuthContext } from './internal/resolve-peer-identity';

/**
 * Who is on the other end of a call, read from the client certificate verified during the TLS
 * handshake.
 *
 * @example
 * ```ts
 * const peer: PeerIdentity | undefined = getPeerIdentity(call);
 * // { spiffeId: 'spiffe://example.org/svc/user-service', trustDomain: 'example.org', subject: '',
 * //   dnsNames: [], uris: ['spiffe://example.org/svc/user-service'], fingerprint: '3a:...' }
 * ```
 */
export interface PeerIdentity {
  /**
   * The certificate's SPIFFE ID (its single `spiffe://` URI SAN), when it is an X509-SVID leaf
   * (pki's `workloadIdOfCertificate`: absent for a CA certificate or a trust-domain ID).
   */
  readonly spiffeId?: string;
  /** The trust domain of {@link PeerIdentity.spiffeId}. */
  readonly trustDomain?: string;
  /** The subject distinguished name, e.g. `CN=user-service, O=Sigil` (may be empty for SVIDs). */
  readonly subject: string;
  /** DNS subject alternative names. */
  readonly dnsNames: readonly string[];
  /** URI subject alternative names (including the SPIFFE ID). */
  readonly uris: readonly string[];
  /** SHA-256 fingerprint of the certificate, lowercase colon-separated hex. */
  readonly fingerprint: string;
}

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
