import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ForwardSpec } from '@sigil/agent';
import { SigilError } from '@sigil/errors';
import type { controlplaneV1 } from '@sigil/proto';
import { formatListenAddress } from '@sigil/runtime';
import type pino from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The trailer in which the connector names why it refused or closed a connection. */
const REASON_METADATA = 'sigil-reason';

/** Local connections one forward listener accepts at once (the connector limits streams too). */
const MAX_LOCAL_CONNECTIONS = 1024;

/** Options of {@link startForwards}. */
export interface ForwardsOptions {
  forwards: readonly ForwardSpec[];
  /** The client of the current mTLS connection to the connector, or undefined while it is down. */
  client: () => controlplaneV1.ConnectorServiceClient | undefined;
  registry: Registry;
  logger: pino.Logger;
}

/** The running local listeners of {@link startForwards}. */
export interface Forwards {
  /** The bound address of each forward, in order (useful with port 0). */
  readonly addresses: string[];
  /** Stops listening and resets the open connections. */
  close(): Promise<void>;
}

/**
 * The reason the connector gave in its trailer; `connector_unavailable` for an UNAVAILABLE
 * without one (the mTLS connection dropped: the connector went away or restarted); else the
 * status code's name.
 */
function reasonOf(status: grpc.StatusObject): string {
  const [reason] = status.metadata.get(REASON_METADATA);
  if (typeof reason === 'string') return reason;
  if (status.code === grpc.status.UNAVAILABLE) return 'connector_unavailable';
  return grpc.status[status.code] ?? String(status.code);
}

/**
 * Listens on each forward's local address; every accepted TCP connection becomes one
 * ConnectorService.Forward call on the current mTLS connection to the connector (a new HTTP/2
 * stream, no new handshake). Data waits until the connector says `opened`; a refusal closes the
 * local connection at once and is logged with the connector's reason (`no_grant`,
 * `unknown_resource`, `resource_unreachable`, ...). Bytes flow both ways with backpressure; a
 * local half-close ends the request stream, the connector's `eof` half-closes the local socket,
 * and a reset on either side resets the other.
 *
 * @example
 * ```ts
 * const forwards = await startForwards({ forwards: config.forwards, client: () => current, registry, logger });
 * ```
 */
export async function startForwards(options: ForwardsOptions): Promise<Forwards> {
  const { logger } = options;
  const registers = [options.registry];
  const active = new Gauge({
    name: 'sigil_tunneler_forwards_active',
    help: 'Tunneled connections open now.',
    registers,
  });
  const refused = new Counter({
    name: 'sigil_tunneler_forwards_refused_total',
    help: 'Local connections the connector refused, by its reason.',
    labelNames: ['reason'],
    registers,
  });
  const bytes = new Counter({
    name: 'sigil_tunneler_forward_bytes_total',
    help: 'Bytes tunneled, by direction (up: to the connector; down: from it).',
    labelNames: ['direction'],
    registers,
  });
  // Bound once: a labelled inc() hashes its labels on every call, and these run per chunk.
  const upCounter = bytes.labels({ direction: 'up' });
  const downCounter = bytes.labels({ direction: 'down' });
  const sockets = new Set<Socket>();

  const tunnel = (spec: ForwardSpec, socket: Socket): void => {
    const who = { resource: spec.resource, target: spec.target, peer: socket.remoteAddress };
    const client = options.client();
    if (client === undefined) {
      refused.inc({ reason: 'connector_unavailable' });
      logger.warn(
        { event: 'forward.refused', ...who, reason: 'connector_unavailable' },
        'forward.refused',
      );
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    active.inc();
    socket.setNoDelay(true);
    socket.pause();
    let opened = false;
    let ended = false;
    const call = client.forward();
    call.write({ body: { $case: 'open', open: { resource: spec.resource, target: spec.target } } });

    call.on('data', (frame: controlplaneV1.ForwardFrame) => {
      const body = frame.body;
      if (body?.$case === 'opened') {
        opened = true;
        logger.info(
          { event: 'forward.opened', ...who, dialled: body.opened.dialled },
          'forward.opened',
        );
        socket.resume();
      } else if (body?.$case === 'data') {
        downCounter.inc(body.data.length);
        if (!socket.write(body.data)) {
          call.pause();
          socket.once('drain', () => call.resume());
        }
      } else if (body?.$case === 'eof') socket.end();
    });
    call.on('status', (status: grpc.StatusObject) => {
      ended = true;
      if (status.code === grpc.status.OK) {
        socket.end();
        return;
      }
      const reason = reasonOf(status);
      if (!opened) {
        refused.inc({ reason });
        logger.warn(
          { event: 'forward.refused', ...who, reason, message: status.details },
          'forward.refused',
        );
      } else
        logger.warn(
          { event: 'forward.closed', ...who, reason, message: status.details },
          'forward.closed',
        );
      if (status.code === grpc.status.CANCELLED) socket.destroy();
      else socket.resetAndDestroy();
    });
    // A failed call also ends with 'status' (handled there); 'error' only must not throw.
    call.on('error', () => undefined);

    socket.on('data', (chunk: Buffer) => {
      upCounter.inc(chunk.length);
      if (!call.write({ body: { $case: 'data', data: chunk } })) {
        socket.pause();
        call.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => {
      if (!ended) call.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', (hadError) => {
      sockets.delete(socket);
      active.dec();
      if (!ended && (hadError || !opened)) call.cancel();
    });
  };

  const servers: Server[] = [];
  const addresses: string[] = [];
  try {
    for (const spec of options.forwards) {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
        tunnel(spec, socket),
      );
      server.maxConnections = MAX_LOCAL_CONNECTIONS;
      const listen = formatListenAddress(spec.listen);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) =>
          reject(
            new SigilError(
              'ERR_LISTEN_FAILED',
              `cannot listen for forward ${listen}=${spec.resource} (TUNNELER_FORWARDS / --forward): ${err.message}`,
              { cause: err, details: { variable: 'TUNNELER_FORWARDS' } },
            ),
          ),
        );
        server.listen(spec.listen.port, spec.listen.host, () => resolve());
      });
      servers.push(server);
      const port = (server.address() as AddressInfo).port;
      const address = formatListenAddress({ host: spec.listen.host, port });
      addresses.push(address);
      logger.info(
        { event: 'forward.listening', address, resource: spec.resource, target: spec.target },
        'forward.listening',
      );
    }
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }

  return {
    addresses,
    async close() {
      const closed = Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
  };
}
