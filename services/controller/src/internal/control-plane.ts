import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { SigilError, isSigilError, toGrpcError } from '@sigil/errors';
import type { controlplaneV1 } from '@sigil/proto';
import { cleanPrivateIp, cleanVersion } from './agent-identity';
import { csrInvalid, invalidRequest, trustBundleMessage } from './context';
import type { ControllerContext } from './context';
import { authenticateAgentPeer } from './peer-authentication';
import type { AgentPeer, PeerAuthContext, RuntimeTrust } from './peer-authentication';

type ControllerBody = NonNullable<controlplaneV1.ControllerMessage['body']>;
type ConnectCall = grpc.ServerDuplexStream<
  controlplaneV1.AgentMessage,
  controlplaneV1.ControllerMessage
>;

interface Session {
  connectorId: string;
  call: ConnectCall;
  closed: boolean;
}

/** The connector control streams and the commands the controller pushes down them. */
export interface ControlPlane {
  implementation: controlplaneV1.ControlPlaneServiceServer;
  /** Sends the connector its current approved-tunneler list (after a tunneler enrolled for it). */
  pushApprovedTunnelers(connectorId: string): void;
  /** Asks a connected connector to renew now; false when it has no open stream. */
  requestRenewal(connectorId: string): string | undefined;
  /** Sends every connected connector the current trust bundle. */
  broadcastBundle(): void;
  /** Sends Drain to every stream, ends them, and refuses new ones. */
  drain(reason: string, reconnectAfterMs: number): void;
  /** Number of open control streams. */
  size(): number;
}

/**
 * ControlPlaneService: Connect (one stream per connector; a newer stream replaces the older),
 * Renew (identity from the caller's client certificate only) and GetTrustBundle. The
 * authentication interceptor has already refused callers without a runtime SVID; the handlers
 * re-derive the identity from the same certificate, never from the request.
 */
export function createControlPlane(ctx: ControllerContext, trust: RuntimeTrust): ControlPlane {
  const sessions = new Map<string, Session>();
  let draining = false;

  const send = (session: Session, body: ControllerBody, commandId = ''): void => {
    if (session.closed) return;
    session.call.write({ commandId, body });
  };
  const command = (session: Session, body: ControllerBody): string => {
    const id = randomUUID();
    send(session, body, id);
    return id;
  };
  const approvedList = (connectorId: string): ControllerBody => ({
    $case: 'approvedTunnelers',
    approvedTunnelers: { tunnelerIds: ctx.registry.approvedTunnelers(connectorId) },
  });

  const close = (session: Session, reason: string): void => {
    if (session.closed) return;
    session.closed = true;
    if (sessions.get(session.connectorId) === session) {
      sessions.delete(session.connectorId);
      ctx.registry.setStreaming(session.connectorId, false);
    }
    ctx.logger.info(
      { event: 'controlplane.stream_closed', connectorId: session.connectorId, reason },
      'controlplane.stream_closed',
    );
  };

  /** The authenticated caller, or a refusal already sent. */
  const peerOf = (call: {
    getAuthContext(): PeerAuthContext;
  }): AgentPeer | grpc.ServerErrorResponse => {
    const verdict = authenticateAgentPeer(call.getAuthContext(), trust);
    if (verdict.ok) return verdict.peer;
    ctx.metrics.refusals.inc({ reason: verdict.reason });
    return toGrpcError(
      new SigilError('ERR_PEER_UNAUTHENTICATED', verdict.message, {
        details: { reason: verdict.reason },
      }),
    );
  };

  function onMessage(session: Session, message: controlplaneV1.AgentMessage): void {
    const body = message.body;
    switch (body?.$case) {
      case 'hello':
        ctx.registry.connectorSeen(session.connectorId, {
          privateIp: cleanPrivateIp(body.hello.privateIp),
          version: cleanVersion(body.hello.version),
        });
        return;
      case 'heartbeat': {
        const receivedAt = ctx.clock().getTime();
        const hb = body.heartbeat;
        ctx.registry.connectorSeen(session.connectorId, {
          privateIp: cleanPrivateIp(hb.privateIp),
          version: cleanVersion(hb.version),
        });
        if (hb.sentAt > 0)
          ctx.metrics.heartbeatLatency.observe(Math.max(0, receivedAt - hb.sentAt) / 1000);
        send(session, {
          $case: 'heartbeatAck',
          heartbeatAck: { sequence: hb.sequence, receivedAt },
        });
        return;
      }
      case 'tunnelerHeartbeat': {
        const hb = body.tunnelerHeartbeat;
        if (
          !ctx.registry.tunnelerSeen(hb.tunnelerId, session.connectorId, {
            version: cleanVersion(hb.version),
          })
        ) {
          ctx.logger.warn(
            {
              event: 'controlplane.tunneler_heartbeat_ignored',
              connectorId: session.connectorId,
              tunnelerId: hb.tunnelerId.slice(0, 140),
              enrolledUnder: ctx.registry.tunnelerConnector(hb.tunnelerId),
            },
            'controlplane.tunneler_heartbeat_ignored',
          );
        }
        return;
      }
      case 'ack':
        ctx.logger.debug(
          {
            event: 'controlplane.command_ack',
            connectorId: session.connectorId,
            commandId: body.ack.commandId,
            ok: body.ack.ok,
            error: body.ack.error,
          },
          'controlplane.command_ack',
        );
        return;
      default:
        return;
    }
  }

  const implementation: controlplaneV1.ControlPlaneServiceServer = {
    connect(call) {
      const peer = peerOf(call);
      if (peer instanceof Error) return void call.emit('error', peer);
      if (peer.kind !== 'connector') {
        ctx.metrics.refusals.inc({ reason: 'wrong_agent_kind' });
        return void call.emit(
          'error',
          toGrpcError(
            new SigilError(
              'ERR_WRONG_AGENT_KIND',
              `${peer.spiffeId} is a tunneler: only connectors open a control stream`,
              { details: { spiffeId: peer.spiffeId } },
            ),
          ),
        );
      }
      if (draining)
        return void call.emit(
          'error',
          toGrpcError(
            new SigilError(
              'ERR_CONTROLLER_DRAINING',
              'the controller is shutting down; reconnect later',
            ),
          ),
        );

      const session: Session = { connectorId: peer.id, call, closed: false };
      const previous = sessions.get(peer.id);
      if (previous !== undefined) {
        send(previous, {
          $case: 'drain',
          drain: {
            reason: 'replaced by a newer control stream for the same connector',
            reconnectAfterMs: 0,
          },
        });
        close(previous, 'replaced');
        previous.call.end();
      }
      sessions.set(peer.id, session);
      ctx.registry.setStreaming(peer.id, true);
      ctx.registry.connectorSeen(peer.id, {});
      ctx.logger.info(
        {
          event: 'controlplane.stream_opened',
          connectorId: peer.id,
          peer: call.getPeer(),
          replaced: previous !== undefined,
        },
        'controlplane.stream_opened',
      );

      call.on('data', (message: controlplaneV1.AgentMessage) => onMessage(session, message));
      call.on('end', () => {
        close(session, 'agent ended the stream');
        call.end();
      });
      call.on('cancelled', () => close(session, 'cancelled'));
      call.on('error', () => close(session, 'error'));
      call.on('close', () => close(session, 'closed'));

      send(session, approvedList(peer.id), randomUUID());
      send(session, { $case: 'bundleUpdate', bundleUpdate: trustBundleMessage(ctx) }, randomUUID());
    },

    renew(call, callback) {
      const peer = peerOf(call);
      if (peer instanceof Error) return callback(peer);
      const refuse = (reason: 'csr_invalid' | 'request_invalid', error: SigilError): void => {
        ctx.metrics.refusals.inc({ reason });
        void ctx.audit.record({
          action: 'renewal.refused',
          outcome: 'refused',
          actor: peer.spiffeId,
          subject: peer.spiffeId,
          details: { reason, peer: call.getPeer() },
        });
        callback(toGrpcError(error));
      };
      if (call.request.csrPem.trim() === '')
        return refuse(
          'request_invalid',
          invalidRequest(
            'csr_pem',
            'csr_pem is required: a PEM PKCS#10 certificate signing request',
          ),
        );
      const now = ctx.clock();
      ctx
        .runtime()
        .ca.signCsr(call.request.csrPem, {
          spiffeId: peer.spiffeId,
          ttlSeconds: ctx.lifetimes[peer.kind],
          profile: 'svid',
          now,
        })
        .then(
          async (issued) => {
            ctx.metrics.renewals.inc({ kind: peer.kind });
            await ctx.audit.record({
              action: 'renewal.succeeded',
              outcome: 'success',
              actor: peer.spiffeId,
              subject: peer.spiffeId,
              details: {
                kind: peer.kind,
                serial: issued.serialNumber,
                not_after: issued.notAfter.toISOString(),
                previous_not_after: peer.notAfter.toISOString(),
              },
            });
            callback(null, {
              certificateChainPem: issued.chainPem,
              trustBundle: trustBundleMessage(ctx),
              notAfter: issued.notAfter.getTime(),
            });
          },
          (err: unknown) => {
            if (isSigilError(err)) return refuse('csr_invalid', csrInvalid(err));
            ctx.logger.error(
              { event: 'renewal.failed', spiffeId: peer.spiffeId, err },
              'renewal.failed',
            );
            callback(
              toGrpcError(
                new SigilError('ERR_INTERNAL', 'renewal failed on the controller; see its log', {
                  cause: err,
                }),
              ),
            );
          },
        );
    },

    getTrustBundle(call, callback) {
      const peer = peerOf(call);
      if (peer instanceof Error) return callback(peer);
      callback(null, trustBundleMessage(ctx));
    },
  };

  return {
    implementation,
    pushApprovedTunnelers(connectorId) {
      const session = sessions.get(connectorId);
      if (session !== undefined) send(session, approvedList(connectorId), randomUUID());
    },
    requestRenewal(connectorId) {
      const session = sessions.get(connectorId);
      return session === undefined
        ? undefined
        : command(session, { $case: 'renewNow', renewNow: {} });
    },
    broadcastBundle() {
      for (const session of sessions.values())
        command(session, { $case: 'bundleUpdate', bundleUpdate: trustBundleMessage(ctx) });
    },
    drain(reason, reconnectAfterMs) {
      draining = true;
      for (const session of [...sessions.values()]) {
        command(session, { $case: 'drain', drain: { reason, reconnectAfterMs } });
        close(session, 'drained');
        session.call.end();
      }
    },
    size: () => sessions.size,
  };
}
