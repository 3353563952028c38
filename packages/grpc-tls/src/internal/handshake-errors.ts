/** Why a handshake failed, in few enough values to be a metric label. */
export type HandshakeFailureReason =
  | 'no_client_certificate'
  | 'untrusted_certificate'
  | 'expired_certificate'
  | 'identity_mismatch'
  | 'protocol_mismatch'
  | 'connection_closed'
  | 'other';

const RULES: readonly [HandshakeFailureReason, RegExp][] = [
  [
    'no_client_certificate',
    /PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED|peer did not return a certificate/i,
  ],
  [
    'expired_certificate',
    /CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERTIFICATE_EXPIRED|certificate has expired/i,
  ],
  ['identity_mismatch', /ERR_TLS_CERT_ALTNAME_INVALID|ERR_TLS_PEER_IDENTITY_MISMATCH/],
  [
    'untrusted_certificate',
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|BAD_CERTIFICATE|CERT_SIGNATURE_FAILURE|INVALID_CA|certificate verify failed/i,
  ],
  [
    'protocol_mismatch',
    /UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE|NO_SHARED_CIPHER|WRONG_VERSION_NUMBER|HTTP_REQUEST|NO_APPLICATION_PROTOCOL/i,
  ],
  [
    'connection_closed',
    /ECONNRESET|EPIPE|socket hang up|Socket closed|Client network socket disconnected/i,
  ],
];

/** Maps a Node/OpenSSL TLS error (code or message) to a {@link HandshakeFailureReason}. */
export function classifyHandshakeError(error: unknown): HandshakeFailureReason {
  const text = `${(error as { code?: string })?.code ?? ''} ${(error as Error)?.message ?? String(error)}`;
  for (const [reason, pattern] of RULES) if (pattern.test(text)) return reason;
  return 'other';
}

/** Reasons that mean a certificate was rejected (counted as validation failures too). */
export function isCertificateProblem(reason: HandshakeFailureReason): boolean {
  return (
    reason === 'no_client_certificate' ||
    reason === 'untrusted_certificate' ||
    reason === 'expired_certificate' ||
    reason === 'identity_mismatch'
  );
}
