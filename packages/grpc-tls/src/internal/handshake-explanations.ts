import type { ClientTlsConfig } from '../client-tls-config';
import type { TlsFileSetting } from '../tls-config-types';

/*
 * Node reports a failed verification of the server's certificate with OpenSSL's words
 * ("self-signed certificate in certificate chain" when the server sent its own root), and an
 * alert from the server about ours as `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA`. Neither says which of the
 * operator's files to look at; these sentences do. The codes come first, the messages (as grpc-js
 * shows them in a call's details) for errors that reached us as text only.
 */
const EXPLANATIONS: readonly [RegExp, (config: ClientTlsConfig) => string][] = [
  [
    /SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|CERT_SIGNATURE_FAILURE|self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate/i,
    (config) => `the server's certificate is not signed by the CA in ${caOf(config)}`,
  ],
  [
    /\bCERT_HAS_EXPIRED|certificate has expired/i,
    () => "the server's certificate has expired: renew it (or check this host's clock)",
  ],
  [
    /\bCERT_NOT_YET_VALID|certificate is not yet valid/i,
    () => "the server's certificate is not valid yet: check the clocks of both hosts",
  ],
  [
    /ALERT[ _]CERTIFICATE[ _]REQUIRED|PEER_DID_NOT_RETURN_A_CERTIFICATE/i,
    (config) =>
      config.files?.certificate
        ? `the server requires a client certificate and did not receive ${certificateOf(config)}`
        : 'the server requires a client certificate and this client presents none: configure one (see docs/grpc-tls.md)',
  ],
  [
    /ALERT[ _]UNKNOWN[ _]CA|ALERT[ _]BAD[ _]CERTIFICATE|ALERT[ _]DECRYPT[ _]ERROR/i,
    (config) =>
      `the server refused this client's certificate (${certificateOf(config)}): it is not signed by a CA the server trusts for clients`,
  ],
  [
    /ALERT[ _]CERTIFICATE[ _]EXPIRED/i,
    (config) =>
      `the server refused this client's certificate (${certificateOf(config)}) as expired: renew it (or check the server's clock)`,
  ],
  [
    /WRONG[ _]VERSION[ _]NUMBER|PACKET[ _]LENGTH[ _]TOO[ _]LONG|HTTP[ _]REQUEST/i,
    () =>
      'the server does not speak TLS on this port: check the address, and whether the server runs in insecure mode',
  ],
  [
    /UNSUPPORTED[ _]PROTOCOL|ALERT[ _]PROTOCOL[ _]VERSION|NO[ _]PROTOCOLS[ _]AVAILABLE/i,
    (config) =>
      `the server and this client share no TLS version (this client requires ${config.minVersion} or later: SIGIL_TLS_MIN_VERSION)`,
  ],
];

/**
 * The cause of a failed client handshake in the operator's terms (naming the setting and file to
 * check), or undefined when the error is not one of the certificate or protocol failures known here.
 */
export function explainClientHandshakeFailure(
  error: unknown,
  config: ClientTlsConfig,
): string | undefined {
  const text = `${String((error as { code?: unknown })?.code ?? '')} ${(error as Error)?.message ?? String(error)}`;
  for (const [pattern, explain] of EXPLANATIONS) if (pattern.test(text)) return explain(config);
  return undefined;
}

function describe(file: TlsFileSetting): string {
  return file.origin === file.path ? file.path : `${file.origin} (${file.path})`;
}

function caOf(config: ClientTlsConfig): string {
  if (config.files?.ca) return describe(config.files.ca);
  if (config.mode === 'memory') return 'the CA bundle of the in-memory identity (caPem)';
  if (config.mode === 'dev') return 'the dev-mode CA (a server in another process has its own)';
  return 'the configured CA bundle';
}

function certificateOf(config: ClientTlsConfig): string {
  if (config.files?.certificate) return describe(config.files.certificate);
  if (config.mode === 'memory') return 'the in-memory identity';
  return `the ${config.mode}-mode certificate`;
}
