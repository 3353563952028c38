import diagnosticsChannel from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Server as TlsServer } from 'node:tls';
import { classifyHandshakeError, isCertificateProblem } from './handshake-errors';
import type { TlsMetrics } from './metrics';

/*
 * grpc-js owns the http2 server and does not expose its TLS events. Node publishes every accepted
 * socket on the `net.server.socket` diagnostics channel, with the listening server attached; a
 * Sigil server is recognised by the TLS session id context its credentials set (a random tag per
 * credentials object, carried through every secure-context update). Its public `tlsClientError`
 * and `secureConnection` events then give failures and completions.
 */
const CHANNEL = 'net.server.socket';
const observed = new Map<string, TlsMetrics>();
const instrumented = new WeakSet<TlsServer>();
const acceptedAt = new WeakMap<Socket, bigint>();

/** Registers a server's metrics; returns its session id context tag and the unregister function. */
export function observeServerHandshakes(metrics: TlsMetrics): {
  sessionIdContext: string;
  stop: () => void;
} {
  const sessionIdContext = `sigil-${randomBytes(12).toString('hex')}`;
  if (observed.size === 0) diagnosticsChannel.subscribe(CHANNEL, onAcceptedSocket);
  observed.set(sessionIdContext, metrics);
  return {
    sessionIdContext,
    stop: () => {
      if (!observed.delete(sessionIdContext)) return;
      if (observed.size === 0) diagnosticsChannel.unsubscribe(CHANNEL, onAcceptedSocket);
    },
  };
}

function metricsOf(server: TlsServer): TlsMetrics | undefined {
  const tag = (server as unknown as { sessionIdContext?: string }).sessionIdContext;
  return tag === undefined ? undefined : observed.get(tag);
}

function onAcceptedSocket(message: unknown): void {
  const socket = (message as { socket?: Socket }).socket;
  const server = (socket as unknown as { server?: unknown } | undefined)?.server;
  if (!(server instanceof TlsServer) || !metricsOf(server)) return;
  acceptedAt.set(socket!, process.hrtime.bigint());
  if (instrumented.has(server)) return;
  instrumented.add(server);
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    const metrics = metricsOf(server);
    // A server that requests without requiring a client certificate completes the handshake when
    // the presented one fails verification; the connection then carries no identity. Counted here.
    if (metrics && !tlsSocket.authorized && tlsSocket.getPeerCertificate().raw !== undefined)
      metrics.validationFailures.inc({
        side: 'server',
        origin: 'peer',
        reason: classifyHandshakeError({ code: String(tlsSocket.authorizationError) }),
      });
    const parent = (tlsSocket as unknown as { _parent?: Socket })._parent;
    const start = parent && acceptedAt.get(parent);
    if (metrics && start !== undefined)
      metrics.handshakeDuration.observe(
        { side: 'server' },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
  });
  server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket | undefined) => {
    const metrics = metricsOf(server);
    if (!metrics) return;
    // A client certificate that fails verification is only visible as the socket's authorizationError:
    // Node destroys the socket, and the event that follows carries a plain ECONNRESET.
    const reason = classifyHandshakeError(
      tlsSocket?.authorizationError ? { code: String(tlsSocket.authorizationError) } : error,
    );
    metrics.handshakeErrors.inc({ side: 'server', reason });
    if (isCertificateProblem(reason))
      metrics.validationFailures.inc({ side: 'server', origin: 'peer', reason });
  });
}
