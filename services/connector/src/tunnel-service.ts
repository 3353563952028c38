import * as grpc from '@grpc/grpc-js';
import { getPeerIdentity } from '@sigil/interceptors';
import type { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { admitTunneler } from './admission';

type TunnelCall = grpc.ServerDuplexStream<
  controlplaneV1.TunnelerMessage,
  controlplaneV1.ConnectorMessage
>;

/** Options of {@link createTunnelService}. */
export interface TunnelServiceOptions {
  connectorId: string;
  trustDomain: string;
  /** Receives every heartbeat of an admitted tunneler, with the id from its certificate. */
  forward: (heartbeat: controlplaneV1.TunnelerHeartbeat) => void;
  registry: Registry;
  logger: pino.Logger;
  /** Clock in unix milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** The connector's ConnectorService, see {@link createTunnelService}. */
export interface TunnelService {
  readonly implementation: controlplaneV1.ConnectorServiceServer;
  /** Replaces the approved list (ApprovedTunnelers); streams of tunnelers no longer on it are ended with PERMISSION_DENIED. */
  setApproved(tunnelerIds: readonly string[]): void;
  /** Ids of the tunnelers with an open stream. */
  connected(): string[];
  /** Ends every stream (shutdown). */
  closeAll(): void;
}

/**
 * ConnectorService.Tunnel: admits a tunneler only when its verified client certificate names an
 * approved tunneler (see {@link admitTunneler}), acknowledges each heartbeat and forwards it,
 * stamped with the certificate's tunneler id (never the id in the message), to the controller.
 * One stream per tunneler: a newer stream replaces the older.
 *
 * @example
 * ```ts
 * const tunnels = createTunnelService({ connectorId, trustDomain, forward: (hb) => control.send(...), registry, logger });
 * server.addService(controlplaneV1.ConnectorServiceService, tunnels.implementation);
 * ```
 */
export function createTunnelService(options: TunnelServiceOptions): TunnelService {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const streams = new Map<string, TunnelCall>();
  let approved: Set<string> | undefined;
  const registers = [options.registry];
  const connectedGauge = new Gauge({
    name: 'sigil_connector_tunnelers_connected',
    help: 'Tunnelers with an open stream.',
    registers,
  });
  const approvedGauge = new Gauge({
    name: 'sigil_connector_tunnelers_approved',
    help: 'Tunnelers the controller approved for this connector.',
    registers,
  });
  const refused = new Counter({
    name: 'sigil_connector_tunnelers_refused_total',
    help: 'Tunnel streams refused, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const received = new Counter({
    name: 'sigil_connector_tunneler_heartbeats_total',
    help: 'Tunneler heartbeats received.',
    registers,
  });

  const end = (id: string, call: TunnelCall, status: Partial<grpc.StatusObject>): void => {
    if (streams.get(id) === call) streams.delete(id);
    connectedGauge.set(streams.size);
    call.emit('error', status);
  };

  return {
    implementation: {
      tunnel(call: TunnelCall) {
        const peer = getPeerIdentity(call);
        const verdict = admitTunneler({
          peerSpiffeId: peer?.spiffeId,
          trustDomain: options.trustDomain,
          connectorId: options.connectorId,
          approved,
        });
        if (!verdict.admitted) {
          refused.inc({ reason: verdict.reason });
          logger.warn(
            {
              event: 'tunnel.refused',
              peer: peer?.spiffeId ?? call.getPeer(),
              reason: verdict.reason,
            },
            'tunnel.refused',
          );
          call.emit('error', { code: verdict.code, details: verdict.message });
          return;
        }
        const id = verdict.tunnelerId;
        const previous = streams.get(id);
        if (previous !== undefined)
          end(id, previous, {
            code: grpc.status.ABORTED,
            details: 'replaced by a newer stream of the same tunneler',
          });
        streams.set(id, call);
        connectedGauge.set(streams.size);
        logger.info(
          { event: 'tunnel.opened', tunnelerId: id, peer: call.getPeer() },
          'tunnel.opened',
        );
        const closed = (reason: string): void => {
          if (streams.get(id) !== call) return;
          streams.delete(id);
          connectedGauge.set(streams.size);
          logger.info({ event: 'tunnel.closed', tunnelerId: id, reason }, 'tunnel.closed');
        };
        call.on('data', (message: controlplaneV1.TunnelerMessage) => {
          if (message.body?.$case !== 'heartbeat') return;
          const heartbeat = message.body.heartbeat;
          received.inc();
          call.write({
            body: {
              $case: 'heartbeatAck',
              heartbeatAck: { sequence: heartbeat.sequence, receivedAt: now() },
            },
          });
          options.forward({ ...heartbeat, tunnelerId: id });
        });
        call.on('end', () => {
          closed('tunneler ended the stream');
          call.end();
        });
        call.on('cancelled', () => closed('cancelled'));
        call.on('error', () => closed('error'));
      },
    },
    setApproved(tunnelerIds) {
      approved = new Set(tunnelerIds);
      approvedGauge.set(approved.size);
      for (const [id, call] of [...streams]) {
        if (!approved.has(id)) {
          logger.warn({ event: 'tunnel.revoked', tunnelerId: id }, 'tunnel.revoked');
          end(id, call, {
            code: grpc.status.PERMISSION_DENIED,
            details: `tunneler ${id} is no longer approved for connector ${options.connectorId}`,
          });
        }
      }
    },
    connected: () => [...streams.keys()],
    closeAll() {
      for (const [id, call] of [...streams])
        end(id, call, {
          code: grpc.status.UNAVAILABLE,
          details: `connector ${options.connectorId} is shutting down`,
        });
    },
  };
}
