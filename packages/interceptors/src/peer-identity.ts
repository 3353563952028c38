import type * as grpc from '@grpc/grpc-js';
import { createObservingInterceptor } from './internal/observing-interceptor';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import type { AuthContextCall, PeerIdentity, PeerTrust } from './peer-identity-types';

/**
 * The verified peer identity of a call, or `undefined` when the client presented no verified
 * certificate (only possible on servers that do not require one: `clientCertificate: 'request'`
 * or `'none'` in `@sigil/grpc-tls`), or one that failed the interceptors' {@link PeerTrust}
 * check at the time of the call. Works in handlers and in
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
 * Options of {@link createIdentityInterceptor}.
 *
 * @example
 * ```ts
 * const options: IdentityInterceptorOptions = { peerTrust: { bundlePem: () => bundle.current, trustDomain: 'example.org' } };
 * ```
 */
export interface IdentityInterceptorOptions {
  /** Re-validate the peer certificate on every call against the bundle as it is now. */
  peerTrust?: PeerTrust;
}

/**
 * A server interceptor that resolves the caller's identity as soon as the request metadata
 * arrives and attaches it to the call for later interceptors and for {@link getPeerIdentity} in
 * handlers. Put it first in the server's `interceptors` ({@link createServerInterceptors} does).
 * With `peerTrust`, a certificate that is not a valid X509-SVID of the bundle at the time of the
 * call is no identity.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ interceptors: [createIdentityInterceptor()] });
 * const strict = new grpc.Server({
 *   interceptors: [createIdentityInterceptor({ peerTrust: { bundlePem: () => trust.bundlePem, trustDomain: 'example.org' } })],
 * });
 * ```
 */
export function createIdentityInterceptor(
  options: IdentityInterceptorOptions = {},
): grpc.ServerInterceptor {
  return createObservingInterceptor([], { resolveIdentity: true, peerTrust: options.peerTrust });
}
