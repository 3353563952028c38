// The shape of a resolved peer identity, in a module of its own so that the modules that build it
// (resolve-peer-identity, call-state) and the public peer-identity module all import it without
// importing each other.

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
  /** The certificate's SPIFFE ID (its single `spiffe://` URI SAN), when it is an X509-SVID. */
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
