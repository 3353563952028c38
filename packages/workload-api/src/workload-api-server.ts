import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import { spiffeWorkload } from '@sigil/proto';
import { attestWorkload, type AttestationOptions } from './attestation';
import { peerCredentialsOf } from './peer-credentials';
import { openSocketToWorkloads, prepareSocketPath } from './socket-path';
import { createWorkloadApiHandlers, type AttestedCaller } from './workload-api-handlers';
import type { WorkloadIdentities } from './workload-identities';

/**
 * Bounds of a Workload API server (every listener bounds what a hostile local process can take).
 *
 * @example
 * ```ts
 * const limits: WorkloadApiLimits = { maxConnections: 64, maxStreams: 256 };
 * ```
 */
export interface WorkloadApiLimits {
  /** Open connections at once. Default 256. */
  maxConnections?: number;
  /** Concurrent calls per connection (HTTP/2 streams). Default 16. */
  maxStreamsPerConnection?: number;
  /** Open Fetch streams in all. Default 1024. */
  maxStreams?: number;
  /** Largest request message. Default 64 KiB (requests are a few audiences or one token). */
  maxRequestBytes?: number;
  /** A connection with no call for this long is closed. Default 5 minutes. */
  idleTimeoutMs?: number;
}

/**
 * Options of {@link createWorkloadApiServer}.
 *
 * @example
 * ```ts
 * const options: WorkloadApiServerOptions = { socketPath: '/run/sigil/workload-api.sock', identities, logger };
 * ```
 */
export interface WorkloadApiServerOptions {
  socketPath: string;
  /** The setting `socketPath` came from, named in errors. Default `SIGIL_WORKLOAD_API_SOCKET`. */
  variable?: string;
  identities: WorkloadIdentities;
  limits?: WorkloadApiLimits;
  attestation?: AttestationOptions;
  /** pino-shaped logger. */
  logger?: {
    info(fields: object, message: string): void;
    warn(fields: object, message: string): void;
  };
}

/**
 * A serving Workload API.
 *
 * @example
 * ```ts
 * const api = await createWorkloadApiServer(options);
 * console.log(api.socketPath, api.connections());
 * await api.close();
 * ```
 */
export interface WorkloadApiServer {
  readonly socketPath: string;
  /** Open connections. */
  connections(): number;
  /** Open Fetch streams. */
  streams(): number;
  close(): Promise<void>;
}

/**
 * Serves the SPIFFE Workload API (`SpiffeWorkloadAPI`, plaintext gRPC over a unix socket, as the
 * specification has it) on `socketPath`. Each accepted connection is attested once, from the
 * kernel's `SO_PEERCRED` (uid, gid, pid read at connect time) and /proc (executable, pod), and
 * handed to a gRPC server whose handlers know only that caller; the socket file is mode 0666 and
 * its directory must not be writable by others. Connections, streams per connection, streams in
 * all, request sizes and idle time are bounded.
 *
 * @example
 * ```ts
 * const api = await createWorkloadApiServer({ socketPath: '/run/sigil/workload-api.sock', identities });
 * ```
 */
export async function createWorkloadApiServer(
  options: WorkloadApiServerOptions,
): Promise<WorkloadApiServer> {
  const { socketPath, identities, logger } = options;
  const variable = options.variable ?? 'SIGIL_WORKLOAD_API_SOCKET';
  const limits = options.limits ?? {};
  const maxConnections = limits.maxConnections ?? 256;
  const maxStreams = limits.maxStreams ?? 1024;
  const idleTimeoutMs = limits.idleTimeoutMs ?? 5 * 60_000;
  await prepareSocketPath(socketPath, variable);

  const open = new Map<Socket, grpc.Server>();
  let streams = 0;
  let sequence = 0;

  const serve = (socket: Socket): void => {
    if (open.size >= maxConnections) {
      logger?.warn(
        {
          event: 'workload_api.connection_refused',
          reason: 'too many connections',
          maxConnections,
        },
        'workload_api.connection_refused',
      );
      socket.destroy();
      return;
    }
    sequence += 1;
    let caller: AttestedCaller;
    try {
      const credentials = peerCredentialsOf(socket);
      caller = {
        describe: `pid ${credentials.pid} uid ${credentials.uid} gid ${credentials.gid}`,
        selectors: attestWorkload(credentials, options.attestation ?? {}),
      };
    } catch (err) {
      caller = { describe: `connection ${sequence}`, selectors: Promise.reject(err) };
    }
    caller.selectors.catch(() => undefined);
    const server = new grpc.Server({
      'grpc.max_concurrent_streams': limits.maxStreamsPerConnection ?? 16,
      'grpc.max_receive_message_length': limits.maxRequestBytes ?? 64 * 1024,
      'grpc.max_connection_idle_ms': idleTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
    });
    server.addService(
      spiffeWorkload.SpiffeWorkloadAPIService,
      createWorkloadApiHandlers(identities, caller, {
        openStream: () => {
          if (streams >= maxStreams) return false;
          streams += 1;
          return true;
        },
        closeStream: () => void (streams -= 1),
        onRefused: (refused, method, error) =>
          logger?.warn(
            {
              event: 'workload_api.refused',
              method,
              caller: refused.describe,
              code: error.code,
              reason: error.message,
            },
            'workload_api.refused',
          ),
      }),
    );
    open.set(socket, server);
    socket.once('close', () => {
      open.delete(socket);
      server.forceShutdown();
    });
    server
      .createConnectionInjector(grpc.ServerCredentials.createInsecure())
      .injectConnection(socket);
  };

  const listener: NetServer = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) =>
      reject(
        new SigilError(
          'ERR_LISTEN_FAILED',
          `cannot listen on ${variable} ${socketPath}: ${err.message}`,
          { cause: err, details: { variable, file: socketPath } },
        ),
      ),
    );
    listener.listen(socketPath, () => resolve());
  });
  openSocketToWorkloads(socketPath);
  logger?.info({ event: 'workload_api.listening', socket: socketPath }, 'workload_api.listening');

  return {
    socketPath,
    connections: () => open.size,
    streams: () => streams,
    async close() {
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const [socket, server] of open) {
          server.forceShutdown();
          socket.destroy();
        }
      });
      try {
        unlinkSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}
