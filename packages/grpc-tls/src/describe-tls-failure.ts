import type { ClientTlsConfig } from './client-tls-config';
import { explainClientHandshakeFailure } from './internal/handshake-explanations';

/**
 * One line saying why a call or connection over TLS failed, in the operator's terms: for a
 * certificate or protocol failure it names the setting and file to check ("the server's
 * certificate is not signed by the CA in GRPC_SERVER_CA_CERT_PATH (/etc/grpc-tls/ca.crt)"),
 * followed by OpenSSL's words; anything else is returned as the error's own details or message.
 * Channels made with `createClientCredentials` already fail with these words in the status
 * details; this also translates errors of channels made with grpc-js's own credentials.
 *
 * @example
 * ```ts
 * try {
 *   await client.getUser({ id });
 * } catch (err) {
 *   logger.error({ event: 'call_failed', error: describeTlsFailure(err, tls.config) }, 'call failed');
 * }
 * ```
 */
export function describeTlsFailure(error: unknown, config: ClientTlsConfig): string {
  const { details, message } = (error ?? {}) as { details?: unknown; message?: unknown };
  const text =
    typeof details === 'string' && details !== ''
      ? details
      : typeof message === 'string'
        ? message
        : String(error);
  const explanation = explainClientHandshakeFailure({ message: text }, config);
  return explanation === undefined || text.includes(explanation)
    ? text
    : `${explanation} (${text})`;
}
