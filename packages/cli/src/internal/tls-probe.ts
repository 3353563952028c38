import type { X509Certificate } from 'node:crypto';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect } from 'node:tls';
import type { ConnectionOptions, DetailedPeerCertificate } from 'node:tls';
import { SigilError } from '@sigil/errors';
import { toPem } from '@sigil/pki';

/** How long to wait after the handshake for a TLS 1.3 server's refusal of the client certificate. */
const SETTLE_MS = 500;

/** Where and how to shake hands. */
export interface TlsProbeOptions {
  host: string;
  port: number;
  /** SNI and the name checked against the certificate. Default `host` unless it is an IP address. */
  servername?: string;
  /** Trust bundle to verify the server's chain against; without it the chain is not verified. */
  ca?: readonly X509Certificate[];
  /** Client certificate chain and key PEM, for servers that require mTLS. */
  clientCertificatePem?: string;
  clientKeyPem?: string;
  /** ALPN protocols to offer (`['h2']` for gRPC); none by default. */
  alpnProtocols?: readonly string[];
  /**
   * Resolve with {@link TlsProbeResult.refused} instead of failing when the server ends a
   * completed handshake with an alert (TLS 1.3 refuses a client certificate after the client's
   * handshake is done).
   */
  tolerateRefusal?: boolean;
  timeoutMs: number;
}

/** What a TLS server presented and whether it verified. */
export interface TlsProbeResult {
  protocol: string;
  cipher: string;
  servername?: string;
  /** The certificates the server sent, leaf first. */
  presented: X509Certificate[];
  /** Chain verification against `ca`: undefined without `ca`. */
  verification?: { verified: boolean; reason?: string };
  /** The servername checked against the leaf's SANs, when there is a servername. */
  nameCheck?: { matches: boolean; reason?: string };
  /** The ALPN protocol the server chose, when `alpnProtocols` were offered and it chose one. */
  alpnProtocol?: string;
  /** With `tolerateRefusal`: why the server ended the handshake after it completed. */
  refused?: string;
}

/**
 * Shakes hands with a TLS server and reports what it presents. The presented chain comes from a
 * handshake with an empty trust store (so Node appends no issuer of its own); with `ca` a second
 * handshake verifies the chain the way Node's TLS (and grpc-js) does.
 */
export async function probeTlsServer(options: TlsProbeOptions): Promise<TlsProbeResult> {
  const servername = options.servername ?? (isIP(options.host) === 0 ? options.host : undefined);
  const first = await handshake(options, servername, []);
  const { peer } = first;
  const presented = chainOf(peer);
  const result: TlsProbeResult = {
    protocol: first.protocol,
    cipher: first.cipher,
    ...(servername === undefined ? {} : { servername }),
    presented,
    ...(first.alpnProtocol === undefined ? {} : { alpnProtocol: first.alpnProtocol }),
    ...(first.refused === undefined ? {} : { refused: first.refused }),
  };
  if (presented.length === 0) return result;
  if (servername !== undefined) {
    const error = checkServerIdentity(servername, peer);
    result.nameCheck = error ? { matches: false, reason: error.message } : { matches: true };
  }
  if (options.ca !== undefined) {
    const second = await handshake(options, servername, options.ca);
    result.verification = second.authorized
      ? { verified: true }
      : { verified: false, reason: String(second.authorizationError) };
  }
  return result;
}

/** What one handshake showed, read when it completed (a refusal may destroy the socket after). */
interface Handshake {
  protocol: string;
  cipher: string;
  peer: DetailedPeerCertificate;
  alpnProtocol?: string;
  authorized: boolean;
  authorizationError?: Error;
  refused?: string;
}

function handshake(
  options: TlsProbeOptions,
  servername: string | undefined,
  ca: readonly X509Certificate[],
): Promise<Handshake> {
  const address = `${options.host}:${options.port}`;
  const connection: ConnectionOptions = {
    host: options.host,
    port: options.port,
    // An empty list, not undefined: undefined would load Node's public roots.
    ca: ca.length === 0 ? [] : toPem(ca),
    // The name is checked separately (nameCheck), so that the chain verdict is the chain's alone.
    checkServerIdentity: () => undefined,
    rejectUnauthorized: false,
    ...(servername === undefined ? {} : { servername }),
    ...(options.clientCertificatePem === undefined
      ? {}
      : { cert: options.clientCertificatePem, key: options.clientKeyPem }),
    ...(options.alpnProtocols === undefined ? {} : { ALPNProtocols: [...options.alpnProtocols] }),
  };
  return new Promise((done, fail) => {
    const socket = connect(connection);
    let secured: Handshake | undefined;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      clearTimeout(settle);
      socket.removeAllListeners('data');
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish(() => fail(unreachable(address, `no TLS handshake within ${options.timeoutMs} ms`)));
    }, options.timeoutMs);
    let settle: NodeJS.Timeout | undefined;
    socket.once('secureConnect', () => {
      const alpnProtocol = socket.alpnProtocol;
      const handshake: Handshake = {
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().name,
        peer: socket.getPeerCertificate(true),
        ...(typeof alpnProtocol === 'string' ? { alpnProtocol } : {}),
        authorized: socket.authorized,
        ...(socket.authorizationError ? { authorizationError: socket.authorizationError } : {}),
      };
      secured = handshake;
      // TLS 1.3: a server that refuses our (missing) client certificate says so with an alert
      // after the client's handshake is done. Wait briefly for that alert, data or a close.
      settle = setTimeout(() => finish(() => done(handshake)), SETTLE_MS);
      socket.once('data', () => finish(() => done(handshake)));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const handshake = secured;
      if (handshake && options.tolerateRefusal)
        finish(() => done({ ...handshake, refused: describeConnectError(err) }));
      else finish(() => fail(unreachable(address, describeConnectError(err), err)));
    });
    socket.once('close', () => {
      const handshake = secured;
      // A server that verifies client certificates may just close the connection (grpc-js).
      const refused =
        'the server closed the connection right after the handshake (it refused our certificate, or requires one)';
      finish(() =>
        handshake
          ? done(options.tolerateRefusal ? { ...handshake, refused } : handshake)
          : fail(
              unreachable(
                address,
                'the connection closed before the TLS handshake completed (not a TLS port, or the server refused the handshake)',
              ),
            ),
      );
    });
  });
}

function chainOf(leaf: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new NodeX509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

function describeConnectError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server listening on that port?)';
    case 'ENOTFOUND':
      return 'no such host';
    case 'ECONNRESET':
      return 'the server closed the connection during the handshake (does it require a client certificate? pass --cert and --key)';
    default:
      // OpenSSL alerts: "...alert certificate required", "...wrong version number" (not TLS).
      if (/certificate required|handshake failure|bad certificate/i.test(err.message))
        return `the server refused the handshake (${/alert [a-z ]+/i.exec(err.message)?.[0] ?? 'handshake failure'}); it may require a client certificate: pass --cert and --key`;
      if (/wrong version number|packet length too long/i.test(err.message))
        return 'the server does not speak TLS on that port';
      return err.message;
  }
}

function unreachable(address: string, reason: string, cause?: unknown): SigilError {
  return new SigilError('ERR_HOST_UNREACHABLE', `${address}: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { address },
  });
}
