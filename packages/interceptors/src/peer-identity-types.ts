// The shapes of peer identity, apart from the code that resolves it: internal/ and the
// interceptors import these types without importing peer-identity.ts (which imports them back).
import type { Metadata, ServerInterceptingCallInterface } from '@grpc/grpc-js';

/**
 * The TLS auth context of a grpc-js server call (grpc-js does not export its type; this is it).
 *
 * @example
 * ```ts
 * const context: AuthContext = call.getAuthContext();
 * context.sslPeerCertificate?.fingerprint256;
 * ```
 */
export type AuthContext = ReturnType<ServerInterceptingCallInterface['getAuthContext']>;

/**
 * Who is on the other end of a call, read from the client certificate verified during the TLS
 * handshake.
 *
 * @example
 * ```ts
 * const peer: PeerIdentity | undefined = getPeerIdentity(call);
 * // { spiffeId: 'spiffe://example.org/svc/user-service', trustDomain: 'example.org', subject: '',
 * //   dnsNames: [], uris: ['spiffe://example.org/svc/user-service'], fingerprint: '3a:...',
 * //   serialNumber: '5f0c...', notAfter: 2026-01-02T00:00:00.000Z }
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
  /** The certificate's serial number, lowercase hex. */
  readonly serialNumber: string;
  /** When the certificate expires: a stream or session bound to this identity should not outlive it. */
  readonly notAfter: Date;
  /** When the certificate became valid (its notBefore). */
  readonly notBefore: Date;
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
  readonly metadata?: Metadata;
}

/**
 * What a peer certificate must satisfy, at the time of each call, to count as an identity: a
 * valid X509-SVID (pki's `validateX509Svid`: the leaf rules, every certificate valid now, a path
 * to a root of the bundle) of the trust domain. The TLS handshake verified the certificate
 * against the server's CA once, when the connection opened; this applies the bundle as it is now
 * (a CA rotated out, a certificate expired under a long-lived connection). A certificate that
 * fails is no identity: the call is unauthenticated, with the reason.
 *
 * @example
 * ```ts
 * const peerTrust: PeerTrust = { bundlePem: () => runtime.bundlePem, trustDomain: 'example.org', clock: () => new Date() };
 * const server = new grpc.Server({ interceptors: createServerInterceptors({ policy, peerTrust }) });
 * ```
 */
export interface PeerTrust {
  /** The roots peer certificates must chain to; read on every call, so a new bundle applies at once. */
  bundlePem(): string;
  /**
   * Intermediate CA certificates (PEM) a peer's leaf may chain through to a root: the check sees
   * only the leaf of the connection, not the chain the peer sent in the handshake. Read on every
   * call. Default: none (leaves signed by a root directly).
   */
  intermediatesPem?(): string;
  /** Accept only SPIFFE IDs of this trust domain. */
  trustDomain?: string;
  /** The time certificates must be valid at. Default `() => new Date()`. */
  clock?: () => Date;
}
