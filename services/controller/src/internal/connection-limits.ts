import { constants as cryptoConstants } from 'node:crypto';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import { formatListenAddress, type ListenAddress } from '@sigil/runtime';
import type { GrpcLimits } from './grpc-limits';
import { createRateLimiter } from './rate-limiter';

/** Why the guard refused or closed a connection or call. */
export type ConnectionRefusalReason =
  | 'connection_limit'
  | 'address_connection_limit'
  | 'handshake_timeout'
  | 'unauthenticated_timeout'
  | 'enrollment_rate_limited';

/** One refusal, for metrics and the (aggregated) audit. */
export interface ConnectionRefusal {
  reason: ConnectionRefusalReason;
  /** The remote IP address. */
  address: string;
}

/**
 * The client certificate a connection presented in its TLS handshake, as the guard saw it:
 * grpc-js shows a call on a connection whose certificate failed verification as one without a
 * certificate, so this is the only place the reason survives.
 */
export interface PresentedCertificate {
  /** The leaf's notAfter, in ms since the epoch. */
  notAfter: number;
  /** OpenSSL's verification error (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, ...); undefined when it verified. */
  verifyError: string | undefined;
}

/** Options of {@link createGrpcGuard}. */
export interface GrpcGuardOptions {
  limits: GrpcLimits;
  clock: () => Date;
  /** Called for every refusal; must not throw. */
  onRefused?: (refusal: ConnectionRefusal) => void;
  /** The Enroll method's path, rate-limited per address. */
  enrollPath: string;
}

/** The connection guard in front of the gRPC server, see {@link createGrpcGuard}. */
export interface GrpcGuard {
  /** Put first in the server's `interceptors`: it sees each call's connection and rate-limits Enroll. */
  readonly interceptor: grpc.ServerInterceptor;
  /** Listens on `address` and hands accepted connections to `server`; resolves to the bound port. */
  listen(
    server: grpc.Server,
    credentials: grpc.ServerCredentials,
    address: ListenAddress,
  ): Promise<number>;
  /** Connections open now (for metrics and tests). */
  connections(): number;
  /**
   * The client certificate presented on the connection of `peer` (grpc-js `call.getPeer()`,
   * `127.0.0.1:51234` or `::1:51234`), or undefined when it presented none or is gone.
   */
  presentedCertificate(peer: string): PresentedCertificate | undefined;
  /** Stops accepting and destroys every open connection (call after the server's own shutdown). */
  close(): Promise<void>;
}

/**
 * How long one connection may hold a handshake turn. A peer that stalls mid-handshake gives its
 * turn up after this and finishes (or times out) unthrottled, so stalled peers can delay the
 * queue by at most this much, never block it.
 */
const HANDSHAKE_TURN_MS = 1_000;

/**
 * No TLS session tickets, and so no resumption (the server keeps no session cache either): every
 * connection is a full handshake whose client certificate is verified then, against the trust
 * bundle of that moment, so a renewed, revoked or expired certificate is never carried over from an
 * earlier session. It also saves memory: a TLS 1.3 ticket copies the session, the peer's
 * certificate with it, for as long as the connection lives (about 15 KiB per connection,
 * docs/benchmarks.md).
 */
const NO_RESUMPTION = { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } as const;

interface Tracked {
  socket: Socket;
  address: string;
  timer: NodeJS.Timeout | undefined;
  authenticated: boolean;
  called: boolean;
  presented: PresentedCertificate | undefined;
  /** Gives up the connection's handshake turn (set while it holds one). */
  endTurn?: () => void;
}

/**
 * A TCP listener of our own in front of grpc-js (`server.createConnectionInjector`), which the
 * grpc-js listener cannot do: caps connections in total and per remote address, closes a
 * connection that has not completed TLS and started a call within `handshakeTimeoutMs`, closes a
 * connection without a verified client certificate after `unauthenticatedConnectionTimeoutMs`
 * (Enroll takes well under a second), and rate-limits Enroll per address and in total
 * (RESOURCE_EXHAUSTED, `ERR_RATE_LIMITED`). Connections that carry a call with a verified client
 * certificate (agents) are never timed out here. The interceptor learns which connection a call
 * arrived on from its remote address and port. With secure credentials the guard ends TLS itself
 * (a `tls.Server` that follows the credentials' certificate rotations) and hands grpc-js the TLS
 * socket, so it keeps each connection's {@link PresentedCertificate} and its verification error.
 * It works on at most `maxConcurrentHandshakes` TLS handshakes at once: later connections wait,
 * unread, in arrival order (admission control: a storm of renewals or reconnects is served at the
 * rate the process can sustain while heartbeats keep flowing, instead of every handshake landing
 * on the event loop at once). A turn ends when the handshake does, or after one second.
 *
 * @example
 * ```ts
 * const guard = createGrpcGuard({ limits, clock, enrollPath: ENROLL_PATH, onRefused });
 * const server = new grpc.Server({ ...grpcServerOptions(limits), interceptors: [guard.interceptor, auth] });
 * const port = await guard.listen(server, credentials, { host: '0.0.0.0', port: 8443 });
 * // ... stop: server.tryShutdown(...), then await guard.close()
 * ```
 */
export function createGrpcGuard(options: GrpcGuardOptions): GrpcGuard {
  const { limits, clock } = options;
  const byPeer = new Map<string, Tracked>();
  const perAddress = new Map<string, number>();
  const perAddressEnroll = createRateLimiter({
    perMinute: limits.enrollmentsPerMinutePerAddress,
    clock,
  });
  const allEnroll = createRateLimiter({ perMinute: limits.enrollmentsPerMinute, clock });
  let listener: Server | undefined;
  let stopWatchingCredentials: (() => void) | undefined;
  let handshaking = 0;
  // In arrival order; a connection that closes while waiting leaves at once (bounded by maxConnections).
  const waiting = new Map<Tracked, () => void>();

  /** Runs `start` (the connection's TLS handshake) now, or once a handshake turn is free. */
  const takeTurn = (tracked: Tracked, start: () => void): void => {
    if (handshaking >= limits.maxConcurrentHandshakes) {
      waiting.set(tracked, start);
      tracked.socket.once('close', () => waiting.delete(tracked));
      return;
    }
    handshaking += 1;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(turn);
      handshaking -= 1;
      tracked.endTurn = undefined;
      for (const [next, nextStart] of waiting) {
        waiting.delete(next);
        if (!next.socket.destroyed) return takeTurn(next, nextStart);
      }
    };
    const turn = setTimeout(release, HANDSHAKE_TURN_MS);
    turn.unref();
    tracked.endTurn = release;
    tracked.socket.once('close', release);
    start();
  };

  const refuse = (reason: ConnectionRefusalReason, address: string): void =>
    options.onRefused?.({ reason, address });

  const deadline = (tracked: Tracked, ms: number, reason: ConnectionRefusalReason): void => {
    clearTimeout(tracked.timer);
    tracked.timer = setTimeout(() => {
      refuse(reason, tracked.address);
      tracked.socket.destroy();
    }, ms);
    tracked.timer.unref();
  };

  const accept = (socket: Socket, hand: (tracked: Tracked) => void): void => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = perAddress.get(address) ?? 0;
    if (byPeer.size >= limits.maxConnections || fromAddress >= limits.maxConnectionsPerAddress) {
      refuse(
        byPeer.size >= limits.maxConnections ? 'connection_limit' : 'address_connection_limit',
        address,
      );
      socket.destroy();
      return;
    }
    const key = peerKey(address, socket.remotePort);
    const tracked: Tracked = {
      socket,
      address,
      timer: undefined,
      authenticated: false,
      called: false,
      presented: undefined,
    };
    byPeer.set(key, tracked);
    perAddress.set(address, fromAddress + 1);
    deadline(tracked, limits.handshakeTimeoutMs, 'handshake_timeout');
    socket.once('close', () => {
      clearTimeout(tracked.timer);
      byPeer.delete(key);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    // A peer that resets mid-handshake must not crash the process; TLS reports it on its own socket.
    socket.on('error', () => undefined);
    hand(tracked);
  };

  // TLS is ended here, not in grpc-js, so each connection's handshake outcome is visible: with
  // client certificates requested but not required, a certificate that fails verification (an
  // expired one) still completes the handshake and grpc-js would show its calls as having none.
  // The verified connection then goes to grpc-js as plaintext HTTP/2 (an insecure injector);
  // grpc-js still reads the peer certificate from the TLS socket it is given.
  const terminateTls = (
    credentials: grpc.ServerCredentials,
    injector: grpc.ConnectionInjector,
  ): TlsServer => {
    let valid = credentials._getSecureContextOptions() !== null;
    const tls = createTlsServer({
      ...credentials._getConstructorOptions(),
      ...credentials._getSecureContextOptions(),
      ...NO_RESUMPTION,
      // What http2.createSecureServer sets: HTTP/2 only.
      ALPNProtocols: ['h2'],
    });
    const watcher = (context: SecureContextOptions | null): void => {
      if (context !== null) tls.setSecureContext({ ...context, ...NO_RESUMPTION });
      valid = context !== null;
    };
    credentials._addWatcher(watcher);
    stopWatchingCredentials = () => credentials._removeWatcher(watcher);
    tls.prependListener('connection', (socket: Socket) => {
      // As grpc-js does while its credentials have no certificate loaded.
      if (!valid) socket.destroy();
    });
    tls.on('secureConnection', (tlsSocket: TLSSocket) => {
      // Errors after the handshake belong to whoever uses the socket (nodejs/node#35824).
      tlsSocket.on('error', () => undefined);
      const raw = tlsSocket.getPeerCertificate();
      const tracked = byPeer.get(
        peerKey(tlsSocket.remoteAddress ?? 'unknown', tlsSocket.remotePort),
      );
      tracked?.endTurn?.();
      if (tracked !== undefined && raw?.raw !== undefined)
        tracked.presented = {
          notAfter: Date.parse(raw.valid_to),
          verifyError: tlsSocket.authorized ? undefined : String(tlsSocket.authorizationError),
        };
      injector.injectConnection(tlsSocket);
    });
    // As http2.createSecureServer does: a failed handshake ends the connection.
    tls.on('tlsClientError', (_err: Error, tlsSocket: TLSSocket) => tlsSocket.destroy());
    return tls;
  };

  const observe = (call: grpc.ServerInterceptingCallInterface): void => {
    const info = call.getConnectionInfo();
    const tracked = byPeer.get(peerKey(info.remoteAddress ?? 'unknown', info.remotePort));
    if (tracked === undefined || tracked.authenticated) return;
    if (call.getAuthContext().sslPeerCertificate?.raw !== undefined) {
      tracked.authenticated = true;
      clearTimeout(tracked.timer);
      tracked.timer = undefined;
    } else if (!tracked.called) {
      tracked.called = true;
      deadline(tracked, limits.unauthenticatedConnectionTimeoutMs, 'unauthenticated_timeout');
    }
  };

  const interceptor: grpc.ServerInterceptor = (methodDescriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        observe(call);
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (methodDescriptor.path !== options.enrollPath) {
              nextMetadata(metadata);
              return;
            }
            const address = call.getConnectionInfo().remoteAddress ?? 'unknown';
            const decision = perAddressEnroll.take(address);
            const overall = decision.allowed ? allEnroll.take('*') : decision;
            if (overall.allowed) {
              nextMetadata(metadata);
              return;
            }
            refuse('enrollment_rate_limited', address);
            const trailers = new grpc.Metadata();
            trailers.set('retry-after', String(overall.retryAfterSeconds));
            call.sendStatus({
              code: grpc.status.RESOURCE_EXHAUSTED,
              details: `ERR_RATE_LIMITED: too many enrollments; retry after ${overall.retryAfterSeconds} s`,
              metadata: trailers,
            });
          },
        });
      },
    });

  return {
    interceptor,
    async listen(server, credentials, address) {
      const secure = credentials._isSecure();
      const injector = server.createConnectionInjector(
        secure ? grpc.ServerCredentials.createInsecure() : credentials,
      );
      const tls = secure ? terminateTls(credentials, injector) : undefined;
      const tcp = createServer({ pauseOnConnect: false }, (socket) =>
        accept(socket, (tracked) => {
          if (tls === undefined) return injector.injectConnection(tracked.socket);
          // Not flowing until its turn; TLS then takes over what was read (at most a ClientHello).
          tracked.socket.pause();
          takeTurn(tracked, () => tls.emit('connection', tracked.socket));
        }),
      );
      const port = await new Promise<number>((resolve, reject) => {
        tcp.once('error', (err) =>
          reject(
            new SigilError(
              'ERR_LISTEN_FAILED',
              `cannot listen for gRPC on CONTROLLER_LISTEN_ADDR ${formatListenAddress(address)}: ${err.message}`,
              { cause: err, details: { variable: 'CONTROLLER_LISTEN_ADDR' } },
            ),
          ),
        );
        tcp.listen(address.port, address.host, () => {
          const bound = tcp.address();
          resolve(typeof bound === 'object' && bound !== null ? bound.port : address.port);
        });
      });
      listener = tcp;
      return port;
    },
    connections: () => byPeer.size,
    presentedCertificate(peer) {
      const colon = peer.lastIndexOf(':');
      if (colon < 0) return undefined;
      return byPeer.get(peerKey(peer.slice(0, colon), Number(peer.slice(colon + 1))))?.presented;
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopWatchingCredentials?.();
        stopWatchingCredentials = undefined;
        for (const tracked of byPeer.values()) tracked.socket.destroy();
        if (listener === undefined) resolve();
        else listener.close(() => resolve());
        listener = undefined;
      }),
  };
}

function peerKey(address: string, port: number | undefined): string {
  return `${isIPv6(address) ? `[${address}]` : address}:${port ?? 0}`;
}
