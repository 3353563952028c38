import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Server as TlsServer } from 'node:tls';

/*
 * The controller requests client certificates without requiring them (Enroll is called without
 * one), so a presented certificate that fails verification (expired, say) still completes the
 * handshake, and grpc-js then hides it: the call looks like one without a certificate. The reason
 * is only on the TLS socket (`authorizationError`). Node publishes every accepted socket on the
 * `net.server.socket` diagnostics channel; for TLS servers this keeps, per open connection, the
 * verification error of a presented certificate, keyed by the peer address grpc-js reports.
 */
const problems = new Map<string, string>();
const instrumented = new WeakSet<TlsServer>();
let subscribed = false;

function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}:${port ?? ''}`;
}

function onAcceptedSocket(message: unknown): void {
  const socket = (message as { socket?: Socket }).socket;
  const server = (socket as unknown as { server?: unknown } | undefined)?.server;
  if (!(server instanceof TlsServer) || instrumented.has(server)) return;
  instrumented.add(server);
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    if (tlsSocket.authorized || tlsSocket.getPeerCertificate().raw === undefined) return;
    const key = peerKey(tlsSocket.remoteAddress, tlsSocket.remotePort);
    problems.set(key, String(tlsSocket.authorizationError));
    tlsSocket.once('close', () => problems.delete(key));
  });
}

/**
 * Starts keeping the verification errors of client certificates presented to this process's TLS
 * servers (idempotent).
 *
 * @example
 * ```ts
 * watchPeerCertificateProblems();
 * const problem = peerCertificateProblem(call.getPeer()); // 'CERT_HAS_EXPIRED'
 * ```
 */
export function watchPeerCertificateProblems(): void {
  if (subscribed) return;
  subscribed = true;
  diagnosticsChannel.subscribe('net.server.socket', onAcceptedSocket);
}

/**
 * The TLS verification error (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, ...) of the
 * client certificate presented on the connection of `peerAddress` (grpc-js `call.getPeer()`), or
 * undefined when it presented none or a valid one.
 *
 * @example
 * ```ts
 * const reason = peerCertificateProblem(denial.peerAddress) === 'CERT_HAS_EXPIRED' ? 'expired' : 'svid_missing';
 * ```
 */
export function peerCertificateProblem(peerAddress: string): string | undefined {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(peerAddress);
  return match === null ? undefined : problems.get(peerKey(match[1], Number(match[2])));
}
