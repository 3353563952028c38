import diagnosticsChannel from 'node:diagnostics_channel';
import { randomBytes, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Server as TlsServer } from 'node:tls';
import { spiffeIdOfCertificate } from '@sigil/pki';
import { classifyHandshakeError, isCertificateProblem } from './handshake-errors';
import type { HandshakeFailure } from './handshake-log';
import type { TlsMetrics } from './metrics';

/*
 * grpc-js owns the http2 server and does not expose its TLS events. Node publishes every accepted
 * socket on the `net.server.socket` diagnostics channel, with the listening server attached; a
 * Sigil server is recognised by the TLS session id context its credentials set (a random tag per
 * credentials object, carried through every secure-context update). Its public `tlsClientError`
 * and `secureConnection` events then give failures and completions.
 */
const CHANNEL = 'net.server.socket';
/** What a Sigil server does with its handshakes: count them, and log the failures. */
interface Observer {
  readonly metrics: TlsMetrics;
  readonly logFailure: (failure: HandshakeFailure) => void;
}
const observed = new Map<string, Observer>();
const instrumented = new WeakSet<TlsServer>();
const accepted = new WeakMap<Socket, { at: bigint; peer: string }>();

/** Registers a server's metrics and failure log; returns its session id context tag and the unregister function. */
export function observeServerHandshakes(
  metrics: TlsMetrics,
  logFailure: (failure: HandshakeFailure) => void,
): {
  sessionIdContext: string;
  stop: () => void;
} {
  const sessionIdContext = `sigil-${randomBytes(12).toString('hex')}`;
  if (observed.size === 0) diagnosticsChannel.subscribe(CHANNEL, onAcceptedSocket);
  observed.set(sessionIdContext, { metrics, logFailure });
  return {
    sessionIdContext,
    stop: () => {
      if (!observed.delete(sessionIdContext)) return;
      if (observed.size === 0) diagnosticsChannel.unsubscribe(CHANNEL, onAcceptedSocket);
    },
  };
}

function observerOf(server: TlsServer): Observer | undefined {
  const tag = (server as unknown as { sessionIdContext?: string }).sessionIdContext;
  return tag === undefined ? undefined : observed.get(tag);
}

function acceptedOf(tlsSocket: TLSSocket | undefined) {
  const parent = (tlsSocket as unknown as { _parent?: Socket } | undefined)?._parent;
  return parent && accepted.get(parent);
}

function peerOf(tlsSocket: TLSSocket | undefined): { peer?: string } {
  const peer =
    acceptedOf(tlsSocket)?.peer ??
    (tlsSocket?.remoteAddress && `${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`);
  return peer ? { peer } : {};
}

/** Subject, SPIFFE ID and serial of the certificate the client presented, if any. */
function presentedBy(tlsSocket: TLSSocket | undefined): Partial<HandshakeFailure> {
  const raw = tlsSocket?.getPeerCertificate()?.raw;
  if (!raw) return {};
  const certificate = new X509Certificate(raw);
  const spiffeId = spiffeIdOfCertificate(certificate);
  return {
    subject: (certificate.subject ?? '').split('\n').filter(Boolean).join(', '),
    ...(spiffeId ? { spiffeId } : {}),
    serialNumber: certificate.serialNumber.toLowerCase(),
  };
}

function onAcceptedSocket(message: unknown): void {
  const socket = (message as { socket?: Socket }).socket;
  const server = (socket as unknown as { server?: unknown } | undefined)?.server;
  if (!(server instanceof TlsServer) || !observerOf(server)) return;
  accepted.set(socket!, {
    at: process.hrtime.bigint(),
    peer: `${socket!.remoteAddress}:${socket!.remotePort}`,
  });
  if (instrumented.has(server)) return;
  instrumented.add(server);
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    const metrics = observerOf(server)?.metrics;
    // A server that requests without requiring a client certificate completes the handshake when
    // the presented one fails verification; the connection then carries no identity. Counted and
    // logged here, with the certificate (still readable, unlike after a refused handshake).
    if (metrics && !tlsSocket.authorized && tlsSocket.getPeerCertificate().raw !== undefined) {
      const reason = classifyHandshakeError({ code: String(tlsSocket.authorizationError) });
      metrics.validationFailures.inc({ side: 'server', origin: 'peer', reason });
      observerOf(server)!.logFailure({
        side: 'server',
        reason,
        ...peerOf(tlsSocket),
        ...presentedBy(tlsSocket),
        anonymous: true,
        error: `${String(tlsSocket.authorizationError)}: the client certificate did not verify; the connection is served without an identity`,
      });
    }
    const start = acceptedOf(tlsSocket)?.at;
    if (metrics && start !== undefined)
      metrics.handshakeDuration.observe(
        { side: 'server' },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
  });
  server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket | undefined) => {
    const observer = observerOf(server);
    if (!observer) return;
    const { metrics, logFailure } = observer;
    // A client certificate that fails verification is only visible as the socket's authorizationError:
    // Node destroys the socket, and the event that follows carries a plain ECONNRESET.
    const cause = tlsSocket?.authorizationError
      ? {
          code: String(tlsSocket.authorizationError),
          message: tlsSocket.authorizationError.message,
        }
      : error;
    const reason = classifyHandshakeError(cause);
    metrics.handshakeErrors.inc({ side: 'server', reason });
    if (isCertificateProblem(reason))
      metrics.validationFailures.inc({ side: 'server', origin: 'peer', reason });
    logFailure({
      side: 'server',
      reason,
      ...peerOf(tlsSocket),
      // Node has released a refused handshake's certificate by now; a request-mode server logs it.
      ...presentedBy(tlsSocket),
      error: cause.message,
    });
  });
}
