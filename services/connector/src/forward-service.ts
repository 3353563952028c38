import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { getPeerIdentity } from '@sigil/interceptors';
import type { controlplaneV1 } from '@sigil/proto';
import { formatListenAddress } from '@sigil/runtime';
import type pino from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { admitTunneler } from './admission';
import {
  checkResolved,
  compilePolicy,
  decideForward,
  type CompiledPolicy,
  type ForwardRefusalReason,
} from './forward-policy';

type ForwardCall = grpc.ServerDuplexStream<
  controlplaneV1.ForwardFrame,
  controlplaneV1.ForwardFrame
>;

/** The trailer that names why a Forward call was refused or closed (docs/data-plane.md). */
export const FORWARD_REASON_METADATA = 'sigil-reason';

/** The HTTP/2 receive window of each stream the connector accepts: 1 MiB. */
export const FORWARD_STREAM_WINDOW_BYTES = 1024 * 1024;
/** The HTTP/2 receive window of each tunneler's connection (all its streams together): 2 MiB. */
export const FORWARD_CONNECTION_WINDOW_BYTES = 2 * 1024 * 1024;

/**
 * Server options of the connector's gRPC server: the receive windows above (grpc-js honours them on
 * a server through patches/@grpc__grpc-js@1.14.7.patch, as grpc/grpc-node#3058 proposes). An upload
 * through a forward is then not held to grpc-js's default 64 KiB per round trip. Memory stays
 * bounded: a paused stream (its resource socket full) stops at its window, so a tunneler can make
 * the connector hold at most FORWARD_STREAM_WINDOW_BYTES × CONNECTOR_MAX_STREAMS_PER_TUNNELER of
 * its upload (64 MiB at the default 64 streams; docs/data-plane.md#limits).
 */
export const FORWARD_FLOW_CONTROL_OPTIONS = {
  'grpc-node.flow_control_window': FORWARD_STREAM_WINDOW_BYTES,
  'grpc-node.connection_flow_control_window': FORWARD_CONNECTION_WINDOW_BYTES,
} as const;

/** How long the tunneler has to send its ForwardOpen frame, and the dial timeout, ms. */
const OPEN_TIMEOUT_MS = 5_000;
const DIAL_TIMEOUT_MS = 5_000;

/** Why an open tunneled connection ended (TunnelReport.close_reason). */
type CloseReason =
  | 'client_closed'
  | 'resource_closed'
  | 'client_reset'
  | 'resource_reset'
  | 'idle_timeout'
  | 'revoked'
  | 'grant_removed'
  | 'resource_removed'
  | 'shutdown';

/** Options of {@link createForwardService}. */
export interface ForwardServiceOptions {
  connectorId: string;
  trustDomain: string;
  /** The latest approved and revoked tunneler lists (from the control stream). */
  admission: () => { approved: ReadonlySet<string> | undefined; revoked: ReadonlySet<string> };
  /** True while the tunneler has an admitted Tunnel stream (bound to its certificate). */
  connected: (tunnelerId: string) => boolean;
  limits: {
    maxStreamsPerTunneler: number;
    maxConnectionsPerResource: number;
    idleTimeoutMs: number;
  };
  /** Receives a report of every connection, refused or ended (sent up the control stream). */
  report: (report: controlplaneV1.TunnelReport) => void;
  registry: Registry;
  logger: pino.Logger;
  /** DNS resolution (all addresses). Default `dns.promises.lookup` with `all: true`. */
  lookup?: (host: string) => Promise<string[]>;
}

/** The connector's Forward RPC and the policy it enforces, see {@link createForwardService}. */
export interface ForwardService {
  readonly handler: grpc.handleBidiStreamingCall<
    controlplaneV1.ForwardFrame,
    controlplaneV1.ForwardFrame
  >;
  /** Replaces the policy (ConnectorPolicy); connections it no longer allows close at once. */
  setPolicy(message: controlplaneV1.ConnectorPolicy): void;
  /** Re-checks every open connection against the admission lists (after ApprovedTunnelers or RevokedTunnelers). */
  revalidate(): void;
  /** Open tunneled connections. */
  active(): number;
  /** Closes every connection (shutdown). */
  closeAll(): void;
}

/** One open tunneled connection. */
interface Connection {
  tunnelerId: string;
  resource: string;
  target: string;
  startedAt: number;
  bytesUp: number;
  bytesDown: number;
  close(reason: CloseReason, status?: { code: grpc.status; details: string }): void;
}

const defaultLookup = async (host: string): Promise<string[]> =>
  isIP(host) !== 0
    ? [host]
    : (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

const REFUSAL_CODES: Record<ForwardRefusalReason, grpc.status> = {
  not_admitted: grpc.status.PERMISSION_DENIED,
  unknown_resource: grpc.status.NOT_FOUND,
  no_grant: grpc.status.PERMISSION_DENIED,
  target_not_allowed: grpc.status.PERMISSION_DENIED,
  resource_unreachable: grpc.status.UNAVAILABLE,
  limit_reached: grpc.status.RESOURCE_EXHAUSTED,
  protocol: grpc.status.INVALID_ARGUMENT,
};

/**
 * ConnectorService.Forward: one tunneled TCP connection per call. Deny by default: the peer
 * certificate must name an approved, unrevoked tunneler with an open Tunnel stream, the first
 * frame must name a resource of this connector's policy that the tunneler is granted, and the
 * address dialled must be that resource (a network resource: a resolved address inside it, on a
 * port of its range). Bytes are piped both ways with backpressure (a full socket pauses the gRPC
 * stream, whose HTTP/2 window then stops the tunneler, and the other way round); half-closes and
 * resets propagate. Every connection is counted, limited and reported.
 *
 * @example
 * ```ts
 * const forwards = createForwardService({ connectorId, trustDomain, admission, connected, limits, report, registry, logger });
 * server.addService(controlplaneV1.ConnectorServiceDataPathService, { ...tunnels.implementation, forward: forwards.handler });
 * ```
 */
export function createForwardService(options: ForwardServiceOptions): ForwardService {
  const { logger, limits } = options;
  const lookup = options.lookup ?? defaultLookup;
  let policy: CompiledPolicy = new Map();
  const connections = new Set<Connection>();
  const registers = [options.registry];
  const activeGauge = new Gauge({
    name: 'sigil_connector_forwards_active',
    help: 'Tunneled connections open now.',
    registers,
  });
  const opened = new Counter({
    name: 'sigil_connector_forwards_opened_total',
    help: 'Tunneled connections opened (resource dialled).',
    registers,
  });
  const refused = new Counter({
    name: 'sigil_connector_forwards_refused_total',
    help: 'Tunneled connections refused, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const closedCounter = new Counter({
    name: 'sigil_connector_forwards_closed_total',
    help: 'Tunneled connections ended, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const bytes = new Counter({
    name: 'sigil_connector_forward_bytes_total',
    help: 'Bytes tunneled, by direction (up: tunneler to resource; down: resource to tunneler).',
    labelNames: ['direction'],
    registers,
  });
  // Bound once: a labelled inc() hashes its labels on every call, and these run per chunk.
  const upCounter = bytes.labels({ direction: 'up' });
  const downCounter = bytes.labels({ direction: 'down' });

  const count = (predicate: (c: Connection) => boolean): number => {
    let n = 0;
    for (const c of connections) if (predicate(c)) n += 1;
    return n;
  };

  const trailer = (reason: string): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    metadata.set(FORWARD_REASON_METADATA, reason);
    return metadata;
  };

  function refuse(
    call: ForwardCall,
    who: { tunnelerId: string; resource: string; target: string },
    reason: ForwardRefusalReason,
    message: string,
  ): void {
    refused.inc({ reason });
    logger.warn({ event: 'forward.refused', ...who, reason, message }, 'forward.refused');
    const now = Date.now();
    options.report({
      tunnelerId: who.tunnelerId,
      resource: who.resource,
      target: who.target,
      startedAt: now,
      endedAt: now,
      bytesUp: 0,
      bytesDown: 0,
      closeReason: reason,
      refused: true,
    });
    call.emit('error', {
      code: REFUSAL_CODES[reason],
      details: message,
      metadata: trailer(reason),
    });
  }

  /** Why `connection` may no longer stay open, or undefined. */
  const revocationOf = (c: Connection): CloseReason | undefined => {
    const { approved, revoked } = options.admission();
    if (revoked.has(c.tunnelerId) || (approved !== undefined && !approved.has(c.tunnelerId)))
      return 'revoked';
    const entry = policy.get(c.resource);
    if (entry === undefined) return 'resource_removed';
    if (!entry.tunnelerIds.has(c.tunnelerId)) return 'grant_removed';
    return undefined;
  };

  function pipe(
    call: ForwardCall,
    socket: Socket,
    who: { tunnelerId: string; resource: string; target: string },
  ): void {
    let done = false;
    let clientEnded = false;
    let resourceEnded = false;
    let firstEnd: 'client_closed' | 'resource_closed' | undefined;
    const connection: Connection = {
      ...who,
      startedAt: Date.now(),
      bytesUp: 0,
      bytesDown: 0,
      close: (reason, status) => finish(reason, status),
    };
    connections.add(connection);
    activeGauge.set(connections.size);
    opened.inc();

    const idle = setTimeout(
      () =>
        finish('idle_timeout', {
          code: grpc.status.DEADLINE_EXCEEDED,
          details: `no data either way for ${limits.idleTimeoutMs} ms (CONNECTOR_IDLE_TIMEOUT)`,
        }),
      limits.idleTimeoutMs,
    );
    const touch = (): void => void idle.refresh();

    function finish(reason: CloseReason, status?: { code: grpc.status; details: string }): void {
      if (done) return;
      done = true;
      clearTimeout(idle);
      connections.delete(connection);
      activeGauge.set(connections.size);
      closedCounter.inc({ reason });
      const report = {
        tunnelerId: who.tunnelerId,
        resource: who.resource,
        target: who.target,
        startedAt: connection.startedAt,
        endedAt: Date.now(),
        bytesUp: connection.bytesUp,
        bytesDown: connection.bytesDown,
        closeReason: reason,
        refused: false,
      };
      logger.info({ event: 'forward.closed', ...report }, 'forward.closed');
      options.report(report);
      if (status === undefined) {
        socket.destroy();
        call.end();
        return;
      }
      socket.resetAndDestroy();
      call.emit('error', { ...status, metadata: trailer(reason) });
    }

    // Tunneler → resource.
    call.on('data', (frame: controlplaneV1.ForwardFrame) => {
      if (done || frame.body?.$case !== 'data') return;
      const chunk = frame.body.data;
      connection.bytesUp += chunk.length;
      upCounter.inc(chunk.length);
      touch();
      if (!socket.write(chunk)) {
        call.pause();
        socket.once('drain', () => call.resume());
      }
    });
    call.on('end', () => {
      clientEnded = true;
      firstEnd ??= 'client_closed';
      if (!done) socket.end();
    });
    call.on('cancelled', () =>
      finish('client_reset', { code: grpc.status.CANCELLED, details: 'cancelled' }),
    );
    call.on('error', () =>
      finish('client_reset', { code: grpc.status.CANCELLED, details: 'stream error' }),
    );

    // Resource → tunneler.
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      connection.bytesDown += chunk.length;
      downCounter.inc(chunk.length);
      touch();
      if (!call.write({ body: { $case: 'data', data: chunk } })) {
        socket.pause();
        call.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => {
      resourceEnded = true;
      firstEnd ??= 'resource_closed';
      if (!done) call.write({ body: { $case: 'eof', eof: {} } });
    });
    socket.on('error', () => undefined);
    socket.on('close', (hadError) => {
      if (done) return;
      if (hadError || !(clientEnded && resourceEnded))
        finish('resource_reset', {
          code: grpc.status.ABORTED,
          details: `resource ${who.resource} reset the connection`,
        });
      else finish(firstEnd ?? 'client_closed');
    });
    call.resume();
  }

  async function open(call: ForwardCall, tunnelerId: string, request: controlplaneV1.ForwardOpen) {
    const who = { tunnelerId, resource: request.resource.slice(0, 64), target: '' };
    const decision = decideForward(policy, tunnelerId, request.resource, request.target);
    if (!decision.allowed) return refuse(call, who, decision.reason, decision.message);
    if (count((c) => c.tunnelerId === tunnelerId) >= limits.maxStreamsPerTunneler)
      return refuse(
        call,
        who,
        'limit_reached',
        `tunneler ${tunnelerId} already holds ${limits.maxStreamsPerTunneler} tunneled connections (CONNECTOR_MAX_STREAMS_PER_TUNNELER)`,
      );
    if (count((c) => c.resource === who.resource) >= limits.maxConnectionsPerResource)
      return refuse(
        call,
        who,
        'limit_reached',
        `resource ${who.resource} already has ${limits.maxConnectionsPerResource} tunneled connections (CONNECTOR_MAX_CONNECTIONS_PER_RESOURCE)`,
      );
    const target = decision.value;
    let addresses: string[];
    try {
      addresses = await lookup(target.host);
    } catch (err) {
      return refuse(
        call,
        who,
        'resource_unreachable',
        `cannot resolve ${target.host} of resource ${who.resource}: ${(err as Error).message}`,
      );
    }
    const resolved = checkResolved(target, addresses);
    if (!resolved.allowed) return refuse(call, who, resolved.reason, resolved.message);
    who.target = formatListenAddress({ host: resolved.value, port: target.port });
    const socket = new Socket({ allowHalfOpen: true });
    socket.setNoDelay(true);
    const dialTimer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${DIAL_TIMEOUT_MS} ms`)),
      DIAL_TIMEOUT_MS,
    );
    let dialled = false;
    socket.once('error', (err) => {
      if (!dialled)
        refuse(
          call,
          who,
          'resource_unreachable',
          `cannot reach resource ${who.resource} at ${who.target}: ${err.message}`,
        );
    });
    socket.connect({ host: resolved.value, port: target.port }, () => {
      dialled = true;
      clearTimeout(dialTimer);
      if (call.cancelled) {
        socket.destroy();
        return;
      }
      // The policy may have changed while resolving and dialling.
      const again = decideForward(policy, tunnelerId, request.resource, request.target);
      if (!again.allowed) {
        socket.destroy();
        return refuse(call, who, again.reason, again.message);
      }
      call.write({ body: { $case: 'opened', opened: { dialled: who.target } } });
      pipe(call, socket, who);
    });
    socket.once('close', () => clearTimeout(dialTimer));
  }

  const handler: ForwardService['handler'] = (call) => {
    const peer = getPeerIdentity(call);
    const { approved, revoked } = options.admission();
    const verdict = admitTunneler({
      peerSpiffeId: peer?.spiffeId,
      trustDomain: options.trustDomain,
      connectorId: options.connectorId,
      approved,
      revoked,
    });
    const unknown = { tunnelerId: peer?.spiffeId ?? call.getPeer(), resource: '', target: '' };
    if (!verdict.admitted) return refuse(call, unknown, 'not_admitted', verdict.message);
    const tunnelerId = verdict.tunnelerId;
    if (!options.connected(tunnelerId))
      return refuse(
        call,
        { ...unknown, tunnelerId },
        'not_admitted',
        `tunneler ${tunnelerId} has no open Tunnel stream to connector ${options.connectorId}; open it first`,
      );
    const timer = setTimeout(
      () => refuse(call, { ...unknown, tunnelerId }, 'protocol', 'no ForwardOpen frame within 5 s'),
      OPEN_TIMEOUT_MS,
    );
    call.once('data', (frame: controlplaneV1.ForwardFrame) => {
      clearTimeout(timer);
      if (frame.body?.$case !== 'open')
        return refuse(
          call,
          { ...unknown, tunnelerId },
          'protocol',
          'the first Forward frame must be open',
        );
      // Nothing more is read until the resource is dialled and the pipe listens (it resumes).
      call.pause();
      open(call, tunnelerId, frame.body.open).catch((err: unknown) =>
        refuse(call, { ...unknown, tunnelerId }, 'resource_unreachable', (err as Error).message),
      );
    });
    call.once('cancelled', () => clearTimeout(timer));
  };

  const revalidate = (): void => {
    for (const c of [...connections]) {
      const reason = revocationOf(c);
      if (reason === undefined) continue;
      logger.warn(
        { event: 'forward.cut', tunnelerId: c.tunnelerId, resource: c.resource, reason },
        'forward.cut',
      );
      c.close(reason, {
        code: grpc.status.PERMISSION_DENIED,
        details: `tunneled connection to ${c.resource} closed: ${reason.replace('_', ' ')}`,
      });
    }
  };

  return {
    handler,
    setPolicy(message) {
      const compiled = compilePolicy(message);
      for (const skipped of compiled.skipped)
        logger.warn({ event: 'forward.resource_skipped', ...skipped }, 'forward.resource_skipped');
      policy = compiled.policy;
      revalidate();
    },
    revalidate,
    active: () => connections.size,
    closeAll() {
      for (const c of [...connections])
        c.close('shutdown', {
          code: grpc.status.UNAVAILABLE,
          details: `connector ${options.connectorId} is shutting down`,
        });
    },
  };
}
