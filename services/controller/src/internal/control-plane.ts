import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { AuthContextCall } from '@sigil/interceptors';
import { SigilError, isSigilError, toGrpcError } from '@sigil/errors';
import { createStreamNonce, validateX509Svid, verifyPossessionProof } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import { streamDeadlineDelayMs } from '../domain/agent-policy';
import { AgentRefusal, authorizeAgent, renewAgentCertificate } from '../domain/issuance';
import type { CaNotifier } from '../domain/ca-operations';
import type { AgentNotifier } from '../domain/ports';
import type { AgentKind, RevocationRecord } from '../store/store';
import { agentSpiffeId, cleanPrivateIp, cleanVersion } from './agent-identity';
import { trustBundleMessage } from './context';
import type { ControllerContext } from './context';
import { agentPeerOf } from './agent-peer';
import type { AgentPeer } from './agent-peer';
import { recordClockSkew } from './clock-skew';
import { createUpgradeNotices } from './upgrade-notices';
import type { UpgradeNotices } from './upgrade-notices';
import { recordTunnelReport } from './tunnel-audit';
import { storeUnavailableStatus } from './store-health';
import type { WorkloadRegistry } from './workload-registry';

type ControllerBody = NonNullable<controlplaneV1.ControllerMessage['body']>;
type ConnectCall = grpc.ServerDuplexStream<
  controlplaneV1.AgentMessage,
  controlplaneV1.ControllerMessage
>;

/** One connector control stream, bound to the certificate it was opened (or last re-authenticated) with. */
interface Session {
  connectorId: string;
  spiffeId: string;
  call: ConnectCall;
  closed: boolean;
  /** Serial of the certificate the stream is bound to. */
  serial: string;
  /** Unix milliseconds: the stream ends then unless re-authenticated. */
  notAfter: number;
  /** What the next Reauthenticate must sign. */
  nonce: Buffer;
  deadline?: NodeJS.Timeout;
  /** Re-authentications are handled one at a time, in order. */
  queue: Promise<void>;
  /** Unix milliseconds of the last list re-push after a mismatched tunneler heartbeat. */
  repushedAt: number;
  /** UpgradeRequired told on this stream, to the connector and its tunnelers. */
  upgrades: UpgradeNotices;
}

/** The connector control streams and the commands the controller pushes down them. */
export interface ControlPlane extends AgentNotifier, CaNotifier {
  implementation: controlplaneV1.ControlPlaneServiceServer;
  /** Sends every connected connector the current trust bundle. */
  broadcastBundle(): void;
  /** Sends Drain to every stream, ends them, and refuses new ones. */
  drain(reason: string, reconnectAfterMs: number): void;
  /** Number of open control streams. */
  size(): number;
  /** True when the connector has an open control stream on this replica. */
  hasStream(connectorId: string): boolean;
  /** RenewNow with a command id another replica chose (see agent-command-relay.ts); undefined without a stream. */
  deliverRenewal(connectorId: string, commandId: string): string | undefined;
  /** Sends the connector its data-plane policy; false when it has no open stream. */
  pushConnectorPolicy(connectorId: string, policy: controlplaneV1.ConnectorPolicy): boolean;
}

/** Options of {@link createControlPlane}. */
export interface ControlPlaneOptions {
  /** The connector's current data-plane policy, sent when its stream opens. */
  policy?: (connectorId: string) => controlplaneV1.ConnectorPolicy;
  /** Called when a tunneler enrolled under a connector (its labels may match label grants). */
  onTunnelerEnrolled?: () => void;
  /** Registration entries and workload signing (the SPIFFE Workload API's parent agents). */
  workloads?: WorkloadRegistry;
}

const REPUSH_INTERVAL_MS = 1000;

/**
 * ControlPlaneService: Connect (one stream per connector; a newer stream replaces the older),
 * Renew (identity from the caller's client certificate only) and GetTrustBundle. The
 * authentication interceptor has already refused callers without a runtime SVID; the handlers
 * re-derive the identity from the same certificate, never from the request, and ask the domain
 * layer whether it still counts. A stream lives until its certificate's notAfter, extended by
 * each in-band Reauthenticate with a renewed certificate.
 *
 * @example
 * ```ts
 * const plane = createControlPlane(ctx);
 * server.addService(controlplaneV1.ControlPlaneServiceService, plane.implementation);
 * ```
 */
export function createControlPlane(
  ctx: ControllerContext,
  options: ControlPlaneOptions = {},
): ControlPlane {
  const { workloads } = options;
  const sessions = new Map<string, Session>();
  let draining = false;

  const send = (session: Session, body: ControllerBody, commandId = ''): void => {
    if (session.closed) return;
    session.call.write({ commandId, body });
  };
  const command = (session: Session, body: ControllerBody, id: string = randomUUID()): string => {
    send(session, body, id);
    return id;
  };
  const tellUpgrade = (session: Session, kind: AgentKind, id: string, version: string): void => {
    const body = session.upgrades.next(kind, id, version);
    if (body !== undefined) command(session, body);
  };
  const approvedList = (connectorId: string): ControllerBody => ({
    $case: 'approvedTunnelers',
    approvedTunnelers: { tunnelerIds: ctx.registry.approvedTunnelers(connectorId) },
  });
  const denyList = (): ControllerBody => ({
    $case: 'revokedTunnelers',
    revokedTunnelers: { tunnelerIds: ctx.revocations.revokedTunnelerIds() },
  });

  const close = (session: Session, reason: string): void => {
    if (session.closed) return;
    session.closed = true;
    clearTimeout(session.deadline);
    if (sessions.get(session.connectorId) === session) {
      sessions.delete(session.connectorId);
      ctx.registry.setStreaming(session.connectorId, false);
    }
    ctx.logger.info(
      { event: 'controlplane.stream_closed', connectorId: session.connectorId, reason },
      'controlplane.stream_closed',
    );
  };
  /** Ends a stream with an error status (the peer sees its gRPC code and message). */
  const terminate = (session: Session, reason: string, error: SigilError): void => {
    if (session.closed) return;
    close(session, reason);
    session.call.emit('error', toGrpcError(error));
  };

  const scheduleDeadline = (session: Session): void => {
    clearTimeout(session.deadline);
    session.deadline = setTimeout(
      () => {
        // The clock may be the test's: end only once the controller's time is past notAfter.
        if (ctx.clock().getTime() < session.notAfter) return scheduleDeadline(session);
        ctx.metrics.refusals.inc({ reason: 'stream_expired' });
        void ctx.audit.record({
          action: 'controlplane.stream_expired',
          outcome: 'refused',
          actor: session.spiffeId,
          subject: session.spiffeId,
          details: {
            serial: session.serial,
            not_after: new Date(session.notAfter).toISOString(),
            peer: session.call.getPeer(),
          },
        });
        terminate(
          session,
          'certificate expired',
          new SigilError(
            'ERR_PEER_UNAUTHENTICATED',
            `the certificate this stream is bound to (serial ${session.serial}) expired at ${new Date(session.notAfter).toISOString()} and the stream was not re-authenticated with a renewed one`,
            { details: { reason: 'stream_expired', spiffeId: session.spiffeId } },
          ),
        );
      },
      Math.max(streamDeadlineDelayMs(session.notAfter, ctx.clock().getTime()), 50),
    );
    session.deadline.unref();
  };

  /** The authenticated agent, or the refusal to send (an ID the interceptor's prefix let through but no agent's). */
  const peerOf = (call: AuthContextCall): AgentPeer | grpc.ServerErrorResponse => {
    const peer = agentPeerOf(call);
    if (peer !== undefined) return peer;
    ctx.metrics.refusals.inc({ reason: 'svid_invalid' });
    return toGrpcError(
      new SigilError(
        'ERR_PEER_UNAUTHENTICATED',
        `the client certificate is not an agent identity (spiffe://${ctx.trustDomain}/connector/<id> or /tunneler/<id>)`,
        { details: { reason: 'svid_invalid' } },
      ),
    );
  };

  /** Any failure as the status the caller gets: refusals as decided, the rest as ERR_INTERNAL. */
  const statusOf = (err: unknown, what: string): grpc.ServerErrorResponse => {
    if (err instanceof AgentRefusal) return toGrpcError(err.error);
    if (isSigilError(err, 'ERR_STORE_UNAVAILABLE')) return storeUnavailableStatus(err);
    ctx.logger.error({ event: `${what}.failed`, err }, `${what}.failed`);
    return toGrpcError(
      new SigilError('ERR_INTERNAL', `${what} failed on the controller; see its log`, {
        cause: err,
      }),
    );
  };

  async function reauthenticate(
    session: Session,
    message: controlplaneV1.Reauthenticate,
  ): Promise<void> {
    const refuse = async (why: string, error: SigilError): Promise<void> => {
      ctx.metrics.refusals.inc({ reason: 'reauthentication_invalid' });
      await ctx.audit.record({
        action: 'controlplane.reauthentication_refused',
        outcome: 'refused',
        actor: session.spiffeId,
        subject: session.spiffeId,
        details: { reason: why, serial: session.serial, peer: session.call.getPeer() },
      });
      terminate(session, `re-authentication refused: ${why}`, error);
    };
    const invalid = (message: string): SigilError =>
      new SigilError('ERR_PEER_UNAUTHENTICATED', message, {
        details: { reason: 'reauthentication_invalid', spiffeId: session.spiffeId },
      });
    let svid: ReturnType<typeof validateX509Svid>;
    try {
      svid = validateX509Svid(message.certificateChainPem, ctx.runtime().bundlePem, {
        trustDomain: ctx.trustDomain,
        at: ctx.clock(),
      });
    } catch (err) {
      const why = isSigilError(err) ? err.message : String(err);
      return refuse(
        'svid_invalid',
        invalid(`the re-authentication certificate is not a valid runtime X509-SVID: ${why}`),
      );
    }
    if (svid.spiffeId !== session.spiffeId)
      return refuse(
        'spiffe_id_mismatch',
        invalid(
          `the re-authentication certificate is for ${svid.spiffeId}, the stream for ${session.spiffeId}`,
        ),
      );
    if (!Buffer.from(message.nonce).equals(session.nonce))
      return refuse(
        'nonce_mismatch',
        invalid('the re-authentication answers a nonce this stream did not send last'),
      );
    if (!verifyPossessionProof(svid.leaf, session.nonce, message.signature))
      return refuse(
        'proof_invalid',
        invalid(
          "the re-authentication signature does not verify with the presented certificate's key over the stream nonce",
        ),
      );
    const peer: AgentPeer = {
      spiffeId: svid.spiffeId,
      kind: 'connector',
      id: session.connectorId,
      notAfter: svid.notAfter,
      notBefore: svid.notBefore,
      serial: svid.leaf.serialNumber.toLowerCase(),
    };
    try {
      await authorizeAgent(ctx, peer, 'reauthenticate', 'controlplane.reauthentication_refused', {
        peer: session.call.getPeer(),
      });
    } catch (err) {
      if (!(err instanceof AgentRefusal)) throw err;
      return terminate(session, `re-authentication refused: ${err.reason}`, err.error);
    }
    if (session.closed) return;
    session.serial = peer.serial;
    session.notAfter = svid.notAfter.getTime();
    session.nonce = createStreamNonce();
    scheduleDeadline(session);
    ctx.metrics.reauthentications.inc({ kind: 'connector' });
    ctx.logger.info(
      {
        event: 'controlplane.stream_reauthenticated',
        connectorId: session.connectorId,
        serial: session.serial,
        notAfter: svid.notAfter.toISOString(),
      },
      'controlplane.stream_reauthenticated',
    );
    send(session, {
      $case: 'streamExtended',
      streamExtended: { notAfter: session.notAfter, nextNonce: session.nonce },
    });
  }

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
        recordClockSkew(ctx, 'connector', session.connectorId, hb.sentAt, receivedAt);
        tellUpgrade(session, 'connector', session.connectorId, cleanVersion(hb.version));
        ctx.reportBundleVersion('connector', session.connectorId, hb.bundleVersion);
        send(session, {
          $case: 'heartbeatAck',
          heartbeatAck: {
            sequence: hb.sequence,
            receivedAt,
            bundleVersion: ctx.runtime().bundleVersion,
          },
        });
        return;
      }
      case 'tunnelerHeartbeat': {
        const hb = body.tunnelerHeartbeat;
        const seen = ctx.registry.tunnelerSeen(hb.tunnelerId, session.connectorId, {
          version: cleanVersion(hb.version),
        });
        // Forwarded at once by the connector: the transit adds milliseconds.
        if (seen) {
          recordClockSkew(ctx, 'tunneler', hb.tunnelerId, hb.sentAt, ctx.clock().getTime());
          ctx.reportBundleVersion('tunneler', hb.tunnelerId, hb.bundleVersion);
          tellUpgrade(session, 'tunneler', hb.tunnelerId, cleanVersion(hb.version));
        }
        if (!seen) {
          ctx.logger.warn(
            {
              event: 'controlplane.tunneler_heartbeat_ignored',
              connectorId: session.connectorId,
              tunnelerId: hb.tunnelerId.slice(0, 140),
              enrolledUnder: ctx.registry.tunnelerConnector(hb.tunnelerId),
            },
            'controlplane.tunneler_heartbeat_ignored',
          );
          // The connector admits a tunneler it should not (re-enrolled elsewhere, revoked):
          // give it the lists again, at most once a second.
          const now = ctx.clock().getTime();
          if (now - session.repushedAt >= REPUSH_INTERVAL_MS) {
            session.repushedAt = now;
            command(session, approvedList(session.connectorId));
            command(session, denyList());
          }
        }
        return;
      }
      case 'tunnelReport':
        recordTunnelReport(ctx, session.spiffeId, body.tunnelReport);
        return;
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
      case 'reauthenticate': {
        const request = body.reauthenticate;
        session.queue = session.queue
          .then(() => reauthenticate(session, request))
          .catch((err: unknown) => {
            terminate(session, 're-authentication failed', statusOfError(err));
          });
        return;
      }
      default:
        return;
    }
  }

  const statusOfError = (err: unknown): SigilError => {
    ctx.logger.error(
      { event: 'controlplane.reauthentication_failed', err },
      'controlplane.reauthentication_failed',
    );
    return new SigilError(
      'ERR_INTERNAL',
      're-authentication failed on the controller; see its log',
      {
        cause: err,
      },
    );
  };

  function openSession(call: ConnectCall, peer: AgentPeer): void {
    const session: Session = {
      connectorId: peer.id,
      spiffeId: peer.spiffeId,
      call,
      closed: false,
      serial: peer.serial,
      notAfter: peer.notAfter.getTime(),
      nonce: createStreamNonce(),
      queue: Promise.resolve(),
      repushedAt: 0,
      upgrades: createUpgradeNotices(ctx),
    };
    const previous = sessions.get(peer.id);
    if (previous !== undefined) {
      ctx.metrics.streamConflicts.inc({ kind: 'connector' });
      void ctx.audit.record({
        action: 'controlplane.stream_conflict',
        outcome: 'success',
        actor: peer.spiffeId,
        subject: peer.spiffeId,
        details: {
          peer: call.getPeer(),
          serial: peer.serial,
          replaced_peer: previous.call.getPeer(),
          replaced_serial: previous.serial,
        },
      });
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
        serial: peer.serial,
        notAfter: peer.notAfter.toISOString(),
        replaced: previous !== undefined,
      },
      'controlplane.stream_opened',
    );

    call.on('data', (message: controlplaneV1.AgentMessage) => onMessage(session, message));
    call.on('end', () => {
      // A clean stop: OFFLINE now, not when the heartbeat deadline passes.
      if (sessions.get(session.connectorId) === session)
        ctx.registry.connectorStopped(session.connectorId);
      close(session, 'agent ended the stream');
      call.end();
    });
    call.on('cancelled', () => close(session, 'cancelled'));
    call.on('error', () => close(session, 'error'));
    call.on('close', () => close(session, 'closed'));

    send(session, { $case: 'challenge', challenge: { nonce: session.nonce } });
    send(session, approvedList(peer.id), randomUUID());
    send(session, denyList(), randomUUID());
    if (options.policy !== undefined)
      send(
        session,
        { $case: 'connectorPolicy', connectorPolicy: options.policy(peer.id) },
        randomUUID(),
      );
    send(session, { $case: 'bundleUpdate', bundleUpdate: trustBundleMessage(ctx) }, randomUUID());
    scheduleDeadline(session);
    if (workloads !== undefined) {
      send(session, { $case: 'jwtBundle', jwtBundle: workloads.jwtBundle() }, randomUUID());
      pushEntries(session);
    }
  }

  /** Sends the connector the registration entries it is the parent of. */
  function pushEntries(session: Session): void {
    workloads?.entriesOf(session.spiffeId).then(
      (workloadEntries) => command(session, { $case: 'workloadEntries', workloadEntries }),
      (err: unknown) =>
        ctx.logger.error(
          { event: 'controlplane.entries_push_failed', connectorId: session.connectorId, err },
          'controlplane.entries_push_failed',
        ),
    );
  }
  workloads?.onChanged((parentId) => {
    for (const session of sessions.values())
      if (session.spiffeId === parentId) pushEntries(session);
  });
  workloads?.onJwtBundleChanged(() => {
    for (const session of sessions.values())
      command(session, { $case: 'jwtBundle', jwtBundle: workloads.jwtBundle() });
  });

  /** A workload RPC: the caller must be a connector in good standing; the registry decides the rest. */
  const workloadCall = <T>(
    call: AuthContextCall & { getPeer(): string },
    what: string,
    work: (registry: WorkloadRegistry, peer: AgentPeer) => Promise<T>,
    callback: (err: grpc.ServerErrorResponse | null, value?: T) => void,
  ): void => {
    const peer = peerOf(call);
    if (peer instanceof Error) return callback(peer);
    if (workloads === undefined)
      return callback(
        toGrpcError(new SigilError('ERR_INTERNAL', 'this controller serves no workload entries')),
      );
    authorizeAgent(ctx, peer, 'call', 'controlplane.refused', { peer: call.getPeer() })
      .then(() => work(workloads, peer))
      .then(
        (value) => callback(null, value),
        (err: unknown) =>
          callback(
            isSigilError(err) && !(err instanceof AgentRefusal)
              ? toGrpcError(err)
              : statusOf(err, what),
          ),
      );
  };

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
      const draining_ = (): boolean => {
        if (!draining) return false;
        call.emit(
          'error',
          toGrpcError(
            new SigilError(
              'ERR_CONTROLLER_DRAINING',
              'the controller is shutting down; reconnect later',
            ),
          ),
        );
        return true;
      };
      if (draining_()) return;
      let gone = false;
      const markGone = (): void => void (gone = true);
      call.once('cancelled', markGone);
      call.once('close', markGone);
      authorizeAgent(ctx, peer, 'connect', 'controlplane.stream_refused', {
        peer: call.getPeer(),
      }).then(
        () => {
          call.off('cancelled', markGone);
          call.off('close', markGone);
          if (gone || draining_()) return;
          openSession(call, peer);
        },
        (err: unknown) => call.emit('error', statusOf(err, 'controlplane.connect')),
      );
    },

    renew(call, callback) {
      const peer = peerOf(call);
      if (peer instanceof Error) return callback(peer);
      renewAgentCertificate(ctx, peer, call.request.csrPem, { peer: call.getPeer() }).then(
        (issued) =>
          callback(null, {
            certificateChainPem: issued.chainPem,
            trustBundle: trustBundleMessage(ctx),
            notAfter: issued.notAfter.getTime(),
          }),
        (err: unknown) => callback(statusOf(err, 'renewal')),
      );
    },

    signWorkloadSvid(call, callback) {
      workloadCall(
        call,
        'controlplane.sign_workload_svid',
        (registry, peer) => registry.signSvid(peer, call.request.entryId, call.request.csrPem),
        callback,
      );
    },

    mintJwtSvid(call, callback) {
      workloadCall(
        call,
        'controlplane.mint_jwt_svid',
        (registry, peer) => registry.mintJwtSvid(peer, call.request.entryId, call.request.audience),
        callback,
      );
    },

    getTrustBundle(call, callback) {
      const peer = peerOf(call);
      if (peer instanceof Error) return callback(peer);
      authorizeAgent(ctx, peer, 'call', 'controlplane.refused', { peer: call.getPeer() }).then(
        () => callback(null, trustBundleMessage(ctx)),
        (err: unknown) => callback(statusOf(err, 'controlplane.get_trust_bundle')),
      );
    },
  };

  const revokedMessage = (revocation: RevocationRecord): ControllerBody => ({
    $case: 'revoked',
    revoked: {
      reason: revocation.reason,
      revokedAt: revocation.revokedAt,
      spiffeId: agentSpiffeId(ctx.trustDomain, revocation.kind, revocation.agentId),
    },
  });

  return {
    implementation,
    agentRevoked(revocation) {
      if (revocation.kind === 'connector') {
        const session = sessions.get(revocation.agentId);
        if (session === undefined) return;
        command(session, revokedMessage(revocation));
        terminate(
          session,
          'revoked',
          new SigilError(
            'ERR_AGENT_REVOKED',
            `${session.spiffeId} was revoked: ${revocation.reason}`,
            { details: { spiffeId: session.spiffeId, reason: revocation.reason } },
          ),
        );
        return;
      }
      for (const session of sessions.values()) {
        command(session, denyList());
        command(session, approvedList(session.connectorId));
      }
    },
    pushApprovedTunnelers(connectorId) {
      options.onTunnelerEnrolled?.();
      const session = sessions.get(connectorId);
      if (session !== undefined) command(session, approvedList(connectorId));
    },
    requestRenewal(connectorId) {
      const session = sessions.get(connectorId);
      return session === undefined
        ? undefined
        : command(session, { $case: 'renewNow', renewNow: {} });
    },
    deliverRenewal(connectorId, commandId) {
      const session = sessions.get(connectorId);
      return session === undefined
        ? undefined
        : command(session, { $case: 'renewNow', renewNow: {} }, commandId);
    },
    hasStream: (connectorId) => sessions.has(connectorId),
    requestTunnelerRenewal(connectorId, tunnelerIds) {
      const session = sessions.get(connectorId);
      if (session === undefined) return false;
      command(session, {
        $case: 'renewTunnelers',
        renewTunnelers: { tunnelerIds: [...tunnelerIds] },
      });
      return true;
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
    pushConnectorPolicy(connectorId, policy) {
      const session = sessions.get(connectorId);
      if (session === undefined || session.closed) return false;
      command(session, { $case: 'connectorPolicy', connectorPolicy: policy });
      return true;
    },
  };
}
