import * as grpc from '@grpc/grpc-js';
import { getPeerIdentity } from '@sigil/interceptors';
import { createStreamNonce } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { admitTunneler } from './admission';
import { verifyReauthentication } from './reauthentication';

type TunnelCall = grpc.ServerDuplexStream<
  controlplaneV1.TunnelerMessage,
  controlplaneV1.ConnectorMessage
>;

/** Options of {@link createTunnelService}. */
export interface TunnelServiceOptions {
  connectorId: string;
  trustDomain: string;
  /** The connector's current runtime trust bundle (PEM): a tunneler's renewed chain must verify against it. */
  trustBundle: () => string;
  /** Receives every heartbeat of an admitted tunneler, with the id from its certificate. */
  forward: (heartbeat: controlplaneV1.TunnelerHeartbeat) => void;
  /** The version of the runtime bundle the connector holds, sent in every heartbeat ack (0: unknown). */
  bundleVersion?: () => number;
  registry: Registry;
  logger: pino.Logger;
  /** Clock in unix milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** The connector's ConnectorService, see {@link createTunnelService}. */
export interface TunnelService {
  readonly implementation: Pick<controlplaneV1.ConnectorServiceServer, 'tunnel'>;
  /** Replaces the approved list (ApprovedTunnelers); streams of tunnelers no longer on it are ended with PERMISSION_DENIED. */
  setApproved(tunnelerIds: readonly string[]): void;
  /** Replaces the deny list (RevokedTunnelers); open streams of those tunnelers get `Revoked` and end at once. */
  setRevoked(tunnelerIds: readonly string[]): void;
  /**
   * Keeps the controller's UpgradeRequired for `notice.agentId` (an empty minimum forgets it) and
   * sends it down that tunneler's stream: now if it is open, and on each stream it opens later.
   */
  setUpgradeRequired(notice: controlplaneV1.UpgradeRequired): void;
  /** Sends RenewNow to the open streams of these tunnelers (RenewTunnelers); returns how many got it. */
  requestRenewal(tunnelerIds: readonly string[]): number;
  /** Ids of the tunnelers with an open stream. */
  connected(): string[];
  /** The latest approved list (undefined until the first) and deny list. */
  admission(): { approved: ReadonlySet<string> | undefined; revoked: ReadonlySet<string> };
  /** Ends every stream (shutdown). */
  closeAll(): void;
}

/** Why the connector ended an admitted stream (the `reason` label of the ended counter). */
type EndReason =
  'replaced' | 'not_approved' | 'revoked' | 'expired' | 'reauthentication_refused' | 'shutdown';

/** One admitted Tunnel stream and the certificate it is bound to. */
interface TunnelStream {
  call: TunnelCall;
  tunnelerId: string;
  spiffeId: string;
  /** notAfter of the certificate the stream is bound to (the handshake's, then each re-authentication's). */
  notAfter: number;
  /** The nonce the next Reauthenticate must sign (single use). */
  nonce: Buffer | undefined;
  timer: NodeJS.Timeout | undefined;
}

// setTimeout fires at once for delays beyond 2^31-1 ms; the expiry check re-arms instead.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * ConnectorService.Tunnel: admits a tunneler only when its verified client certificate names an
 * approved tunneler that is not on the deny list (see {@link admitTunneler}), acknowledges each
 * heartbeat and forwards it, stamped with the certificate's tunneler id (never the id in the
 * message), to the controller. One stream per tunneler: a newer stream replaces the older.
 *
 * A stream never outlives its certificate: it opens with a StreamChallenge and is bound to the
 * notAfter of the peer certificate of the handshake. A Reauthenticate (a renewed chain valid
 * against the current runtime bundle, the same SPIFFE ID, and a possession proof over the current
 * nonce) extends it to the new certificate's notAfter and is answered with StreamExtended; an
 * invalid one ends the stream with UNAUTHENTICATED, and so does a certificate that expires without
 * one. A tunneler on the deny list gets `Revoked` and its stream ends at once.
 *
 * @example
 * ```ts
 * const tunnels = createTunnelService({ connectorId, trustDomain, trustBundle: () => session.identity.bundlePem, forward, registry, logger });
 * server.addService(controlplaneV1.ConnectorServiceService, tunnels.implementation);
 * ```
 */
export function createTunnelService(options: TunnelServiceOptions): TunnelService {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const streams = new Map<string, TunnelStream>();
  let approved: Set<string> | undefined;
  // Tunneler id → when this connector learned it is revoked (unix ms).
  let revoked = new Map<string, number>();
  // Tunneler id → the latest UpgradeRequired naming a minimum (only approved tunnelers').
  const upgrades = new Map<string, controlplaneV1.UpgradeRequired>();
  const upgradeMessage = (
    notice: controlplaneV1.UpgradeRequired,
  ): controlplaneV1.ConnectorMessage => ({
    body: { $case: 'upgradeRequired', upgradeRequired: notice },
  });
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
  const revokedGauge = new Gauge({
    name: 'sigil_connector_tunnelers_revoked',
    help: 'Tunnelers on the deny list the controller sent this connector.',
    registers,
  });
  const refused = new Counter({
    name: 'sigil_connector_tunnelers_refused_total',
    help: 'Tunnel streams refused, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const ended = new Counter({
    name: 'sigil_connector_tunnel_streams_ended_total',
    help: 'Admitted Tunnel streams the connector ended, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const reauthentications = new Counter({
    name: 'sigil_connector_tunnel_reauthentications_total',
    help: 'In-band re-authentications of Tunnel streams, by result (accepted or the refusal reason).',
    labelNames: ['result'],
    registers,
  });
  const received = new Counter({
    name: 'sigil_connector_tunneler_heartbeats_total',
    help: 'Tunneler heartbeats received.',
    registers,
  });

  const forget = (stream: TunnelStream): boolean => {
    if (stream.timer) clearTimeout(stream.timer);
    stream.timer = undefined;
    if (streams.get(stream.tunnelerId) !== stream) return false;
    streams.delete(stream.tunnelerId);
    connectedGauge.set(streams.size);
    return true;
  };

  const end = (
    stream: TunnelStream,
    reason: EndReason,
    status: Partial<grpc.StatusObject>,
  ): void => {
    forget(stream);
    ended.inc({ reason });
    stream.call.emit('error', status);
  };

  const revokedMessage = (id: string, spiffeId: string): controlplaneV1.ConnectorMessage => ({
    body: {
      $case: 'revoked',
      revoked: {
        reason: `the controller revoked tunneler ${id} (deny list of connector ${options.connectorId})`,
        revokedAt: revoked.get(id) ?? now(),
        spiffeId,
      },
    },
  });

  const armExpiry = (stream: TunnelStream): void => {
    if (stream.timer) clearTimeout(stream.timer);
    const left = stream.notAfter - now();
    stream.timer = setTimeout(
      () => {
        stream.timer = undefined;
        if (now() < stream.notAfter) {
          armExpiry(stream);
          return;
        }
        const expiredAt = new Date(stream.notAfter).toISOString();
        logger.warn(
          { event: 'tunnel.expired', tunnelerId: stream.tunnelerId, notAfter: expiredAt },
          'tunnel.expired',
        );
        end(stream, 'expired', {
          code: grpc.status.UNAUTHENTICATED,
          details: `the certificate of tunneler ${stream.tunnelerId} expired at ${expiredAt} and the stream was not re-authenticated; reconnect with a renewed certificate`,
        });
      },
      Math.min(Math.max(0, left), MAX_TIMER_MS),
    );
  };

  const reauthenticate = (stream: TunnelStream, message: controlplaneV1.Reauthenticate): void => {
    const verdict = verifyReauthentication({
      reauthenticate: message,
      expectedNonce: stream.nonce,
      spiffeId: stream.spiffeId,
      trustDomain: options.trustDomain,
      bundlePem: options.trustBundle(),
      at: new Date(now()),
    });
    stream.nonce = undefined;
    if (!verdict.accepted) {
      reauthentications.inc({ result: verdict.reason });
      logger.warn(
        {
          event: 'tunnel.reauthentication_refused',
          tunnelerId: stream.tunnelerId,
          reason: verdict.reason,
          message: verdict.message,
        },
        'tunnel.reauthentication_refused',
      );
      end(stream, 'reauthentication_refused', {
        code: grpc.status.UNAUTHENTICATED,
        details: `re-authentication of tunneler ${stream.tunnelerId} refused: ${verdict.message}`,
      });
      return;
    }
    reauthentications.inc({ result: 'accepted' });
    stream.notAfter = verdict.notAfter.getTime();
    stream.nonce = createStreamNonce();
    armExpiry(stream);
    stream.call.write({
      body: {
        $case: 'streamExtended',
        streamExtended: { notAfter: stream.notAfter, nextNonce: stream.nonce },
      },
    });
    logger.info(
      {
        event: 'tunnel.extended',
        tunnelerId: stream.tunnelerId,
        notAfter: verdict.notAfter.toISOString(),
      },
      'tunnel.extended',
    );
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
          revoked: new Set(revoked.keys()),
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
          if (verdict.tunnelerId !== undefined)
            call.write(revokedMessage(verdict.tunnelerId, peer!.spiffeId!));
          call.emit('error', { code: verdict.code, details: verdict.message });
          return;
        }
        const id = verdict.tunnelerId;
        const notAfter = peerNotAfter(call);
        if (notAfter === undefined) {
          refused.inc({ reason: 'certificate_unknown' });
          call.emit('error', {
            code: grpc.status.UNAUTHENTICATED,
            details: 'the peer certificate of the handshake is no longer readable',
          });
          return;
        }
        const previous = streams.get(id);
        if (previous !== undefined)
          end(previous, 'replaced', {
            code: grpc.status.ABORTED,
            details: 'replaced by a newer stream of the same tunneler',
          });
        const stream: TunnelStream = {
          call,
          tunnelerId: id,
          spiffeId: peer!.spiffeId!,
          notAfter,
          nonce: createStreamNonce(),
          timer: undefined,
        };
        streams.set(id, stream);
        connectedGauge.set(streams.size);
        armExpiry(stream);
        call.write({ body: { $case: 'challenge', challenge: { nonce: stream.nonce! } } });
        const upgrade = upgrades.get(id);
        if (upgrade !== undefined) call.write(upgradeMessage(upgrade));
        logger.info(
          {
            event: 'tunnel.opened',
            tunnelerId: id,
            peer: call.getPeer(),
            notAfter: new Date(notAfter).toISOString(),
          },
          'tunnel.opened',
        );
        const closed = (reason: string): void => {
          if (!forget(stream)) return;
          logger.info({ event: 'tunnel.closed', tunnelerId: id, reason }, 'tunnel.closed');
        };
        call.on('data', (message: controlplaneV1.TunnelerMessage) => {
          if (streams.get(id) !== stream) return;
          const body = message.body;
          if (body?.$case === 'reauthenticate') {
            reauthenticate(stream, body.reauthenticate);
            return;
          }
          if (body?.$case !== 'heartbeat') return;
          const heartbeat = body.heartbeat;
          received.inc();
          call.write({
            body: {
              $case: 'heartbeatAck',
              heartbeatAck: {
                sequence: heartbeat.sequence,
                receivedAt: now(),
                bundleVersion: options.bundleVersion?.() ?? 0,
              },
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
      for (const id of [...upgrades.keys()]) if (!approved.has(id)) upgrades.delete(id);
      for (const [id, stream] of [...streams]) {
        if (!approved.has(id)) {
          logger.warn({ event: 'tunnel.unapproved', tunnelerId: id }, 'tunnel.unapproved');
          end(stream, 'not_approved', {
            code: grpc.status.PERMISSION_DENIED,
            details: `tunneler ${id} is no longer approved for connector ${options.connectorId}`,
          });
        }
      }
    },
    requestRenewal(tunnelerIds) {
      let sent = 0;
      for (const id of tunnelerIds) {
        const stream = streams.get(id);
        if (stream === undefined) continue;
        stream.call.write({ body: { $case: 'renewNow', renewNow: {} } });
        sent += 1;
      }
      return sent;
    },
    setRevoked(tunnelerIds) {
      const at = now();
      revoked = new Map(tunnelerIds.map((id) => [id, revoked.get(id) ?? at]));
      revokedGauge.set(revoked.size);
      for (const [id, stream] of [...streams]) {
        if (!revoked.has(id)) continue;
        logger.warn({ event: 'tunnel.revoked', tunnelerId: id }, 'tunnel.revoked');
        stream.call.write(revokedMessage(id, stream.spiffeId));
        end(stream, 'revoked', {
          code: grpc.status.PERMISSION_DENIED,
          details: `tunneler ${id} is revoked: the controller put it on the deny list of connector ${options.connectorId}`,
        });
      }
    },
    setUpgradeRequired(notice) {
      const id = notice.agentId;
      if (notice.minimumVersion === '') upgrades.delete(id);
      else if (approved?.has(id) === true) upgrades.set(id, notice);
      streams.get(id)?.call.write(upgradeMessage(notice));
    },
    connected: () => [...streams.keys()],
    admission: () => ({ approved, revoked: new Set(revoked.keys()) }),
    closeAll() {
      for (const stream of [...streams.values()])
        end(stream, 'shutdown', {
          code: grpc.status.UNAVAILABLE,
          details: `connector ${options.connectorId} is shutting down`,
        });
    },
  };
}

/** notAfter (unix ms) of the client certificate the call's TLS handshake verified. */
function peerNotAfter(call: TunnelCall): number | undefined {
  try {
    const validTo = call.getAuthContext().sslPeerCertificate?.valid_to;
    const at = validTo === undefined ? NaN : new Date(validTo).getTime();
    return Number.isNaN(at) ? undefined : at;
  } catch {
    // grpc-js throws reading the peer certificate of a socket that has already closed.
    return undefined;
  }
}
