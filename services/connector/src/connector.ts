import * as grpc from '@grpc/grpc-js';
import {
  createStreamSupervisor,
  createUpgradeNotice,
  type AgentStartContext,
  type RunningAgentPart,
  type StreamSupervisor,
  type UpgradeNotice,
} from '@sigil/agent';
import { SigilError } from '@sigil/errors';
import { controlplaneV1 } from '@sigil/proto';
import { formatListenAddress } from '@sigil/runtime';
import { Counter } from 'prom-client';
import { createTunnelService, type TunnelService } from './tunnel-service';
import {
  createForwardService,
  FORWARD_FLOW_CONTROL_OPTIONS,
  type ForwardService,
} from './forward-service';
import { startConnectorWorkloadApi, type ConnectorWorkloadApi } from './workload-api';

/** Tunnel reports kept while the control stream is down; older ones are dropped (and logged). */
const MAX_PENDING_REPORTS = 1000;

/** The connector-specific part of a running connector. */
export interface ConnectorPart extends RunningAgentPart {
  /** The control stream to the controller. */
  readonly control: StreamSupervisor<controlplaneV1.AgentMessage>;
  readonly tunnels: TunnelService;
  /** The data plane: tunneled connections (ConnectorService.Forward). */
  readonly forwards: ForwardService;
  /** The bound tunneler port (useful with CONNECTOR_LISTEN_ADDR port 0). */
  readonly port: number;
  /** The controller's minimum version for connectors, as far as this connector is below it. */
  readonly upgrade: UpgradeNotice;
  /** The SPIFFE Workload API, when SIGIL_WORKLOAD_API_SOCKET is set. */
  readonly workloadApi: ConnectorWorkloadApi | undefined;
}

/**
 * The connector on top of the shared agent runtime: ControlPlaneService.Connect with Hello and a
 * heartbeat every HEARTBEAT_INTERVAL (readiness follows the stream), the controller's commands
 * (RenewNow, BundleUpdate, ApprovedTunnelers, RevokedTunnelers, UpgradeRequired, Drain; each
 * acknowledged; a tunneler's UpgradeRequired is forwarded down its Tunnel stream), and
 * ConnectorService on CONNECTOR_LISTEN_ADDR for approved tunnelers, whose heartbeats go up the
 * control stream. After each renewal the control stream re-authenticates in-band; a `Revoked`
 * from the controller (or a refused renewal saying so) stops the connector for good.
 *
 * @example
 * ```ts
 * runAgentCli({ kind: 'connector', version, start: startConnectorPart });
 * ```
 */
export async function startConnectorPart(context: AgentStartContext): Promise<ConnectorPart> {
  const { config, runtime, logger, version } = context;
  const { session } = runtime;
  const identity = session.identity;
  const forwarded = new Counter({
    name: 'sigil_connector_tunneler_heartbeats_forwarded_total',
    help: 'Tunneler heartbeats sent up the control stream.',
    registers: [session.metrics.registry],
  });
  const upgrade = createUpgradeNotice({
    kind: 'connector',
    version,
    logger,
    registry: session.metrics.registry,
  });
  // The latest heartbeat of each tunneler waits here while the control stream is down.
  const pending = new Map<string, controlplaneV1.TunnelerHeartbeat>();

  const forward = (heartbeat: controlplaneV1.TunnelerHeartbeat): void => {
    if (
      control.up &&
      control.send({ body: { $case: 'tunnelerHeartbeat', tunnelerHeartbeat: heartbeat } })
    ) {
      forwarded.inc();
      return;
    }
    pending.set(heartbeat.tunnelerId, heartbeat);
  };

  const tunnels = createTunnelService({
    connectorId: identity.agentId,
    trustDomain: identity.trustDomain,
    trustBundle: () => session.identity.bundlePem,
    bundleVersion: () => session.identity.bundleVersion,
    forward,
    registry: session.metrics.registry,
    logger,
  });

  // Tunnel reports go up the control stream (the controller audits them); while it is down they
  // wait here, bounded. Each is also logged as forward.closed / forward.refused.
  const reports: controlplaneV1.TunnelReport[] = [];
  const report = (tunnelReport: controlplaneV1.TunnelReport): void => {
    if (control.up && control.send({ body: { $case: 'tunnelReport', tunnelReport } })) return;
    if (reports.length >= MAX_PENDING_REPORTS) {
      reports.shift();
      logger.warn({ event: 'forward.report_dropped' }, 'forward.report_dropped');
    }
    reports.push(tunnelReport);
  };
  const forwards = createForwardService({
    connectorId: identity.agentId,
    trustDomain: identity.trustDomain,
    admission: () => tunnels.admission(),
    connected: (tunnelerId) => tunnels.connected().includes(tunnelerId),
    limits: config.dataPlane!,
    report,
    registry: session.metrics.registry,
    logger,
  });

  const acknowledge = (commandId: string, work: Promise<void>): void => {
    work.then(
      () =>
        commandId !== '' &&
        control.send({ body: { $case: 'ack', ack: { commandId, ok: true, error: '' } } }),
      (err: unknown) => {
        logger.warn(
          { event: 'command.failed', commandId, reason: (err as Error).message },
          'command.failed',
        );
        if (commandId !== '')
          control.send({
            body: { $case: 'ack', ack: { commandId, ok: false, error: (err as Error).message } },
          });
      },
    );
  };

  const onCommand = (message: controlplaneV1.ControllerMessage): void => {
    const body = message.body;
    switch (body?.$case) {
      case 'renewNow':
        logger.info(
          { event: 'command.renew_now', commandId: message.commandId },
          'command.renew_now',
        );
        acknowledge(message.commandId, session.renewNow());
        return;
      case 'bundleUpdate':
        acknowledge(
          message.commandId,
          session.applyBundle(body.bundleUpdate).then(() => workloadApi?.bundleChanged()),
        );
        return;
      case 'workloadEntries':
        acknowledge(
          message.commandId,
          Promise.resolve(workloadApi?.setEntries(body.workloadEntries)),
        );
        return;
      case 'jwtBundle':
        acknowledge(message.commandId, Promise.resolve(workloadApi?.setJwtBundle(body.jwtBundle)));
        return;
      case 'approvedTunnelers':
        logger.info(
          { event: 'command.approved_tunnelers', count: body.approvedTunnelers.tunnelerIds.length },
          'command.approved_tunnelers',
        );
        acknowledge(
          message.commandId,
          Promise.resolve(tunnels.setApproved(body.approvedTunnelers.tunnelerIds)).then(() =>
            forwards.revalidate(),
          ),
        );
        return;
      case 'renewTunnelers':
        logger.info(
          { event: 'command.renew_tunnelers', count: body.renewTunnelers.tunnelerIds.length },
          'command.renew_tunnelers',
        );
        acknowledge(
          message.commandId,
          Promise.resolve(void tunnels.requestRenewal(body.renewTunnelers.tunnelerIds)),
        );
        return;
      case 'revokedTunnelers':
        logger.info(
          { event: 'command.revoked_tunnelers', count: body.revokedTunnelers.tunnelerIds.length },
          'command.revoked_tunnelers',
        );
        acknowledge(
          message.commandId,
          Promise.resolve(tunnels.setRevoked(body.revokedTunnelers.tunnelerIds)).then(() =>
            forwards.revalidate(),
          ),
        );
        return;
      case 'upgradeRequired': {
        const notice = body.upgradeRequired;
        // A tunneler's notice goes down its Tunnel stream (now, and again when it reconnects).
        if (notice.kind === controlplaneV1.AgentKind.AGENT_KIND_TUNNELER)
          tunnels.setUpgradeRequired(notice);
        else upgrade.apply(notice);
        acknowledge(message.commandId, Promise.resolve());
        return;
      }
      case 'connectorPolicy':
        logger.info(
          {
            event: 'command.connector_policy',
            resources: body.connectorPolicy.resources.map((r) => r.name),
          },
          'command.connector_policy',
        );
        acknowledge(message.commandId, Promise.resolve(forwards.setPolicy(body.connectorPolicy)));
        return;
      default:
        return;
    }
  };

  const workloadApi = await startConnectorWorkloadApi(context);

  const control = createStreamSupervisor<
    controlplaneV1.AgentMessage,
    controlplaneV1.ControllerMessage
  >({
    name: 'control',
    addresses: () => session.dialer.addresses,
    open: (address) => session.dialer.openConnect(address),
    greeting: () => ({ body: { $case: 'hello', hello: { version, privateIp: config.privateIp } } }),
    heartbeat: (sequence) => ({
      body: {
        $case: 'heartbeat',
        heartbeat: {
          sequence,
          version,
          privateIp: config.privateIp,
          sentAt: Date.now(),
          certificateNotAfter: session.identity.notAfter.getTime(),
          bundleVersion: session.identity.bundleVersion,
        },
      },
    }),
    onMessage: onCommand,
    reauthentication: {
      credential: () => session.identity,
      message: (reauthenticate) => ({ body: { $case: 'reauthenticate', reauthenticate } }),
    },
    onRevoked: (evidence) => session.revoke({ peer: 'the controller', ...evidence }),
    onStateChange: (up) => {
      runtime.setReady(up);
      if (!up) return;
      for (const heartbeat of pending.values()) forward(heartbeat);
      pending.clear();
      for (const tunnelReport of reports.splice(0)) report(tunnelReport);
    },
    intervalMs: config.heartbeatIntervalMs,
    backoff: { initialMs: config.reconnect.initialMs, maxMs: config.reconnect.maxMs },
    metrics: session.metrics,
    logger,
  });

  const tls = await session.peerServerCredentials();
  const server = new grpc.Server({
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
    ...FORWARD_FLOW_CONTROL_OPTIONS,
  });
  // The data-path definition: Forward data frames skip the generated codec's copies.
  server.addService(controlplaneV1.ConnectorServiceDataPathService, {
    ...tunnels.implementation,
    forward: forwards.handler,
  });
  const listen = formatListenAddress(config.connectorListenAddress!);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, tls.credentials, (err, bound) => {
      if (err === null) resolve(bound);
      else
        reject(
          new SigilError(
            'ERR_LISTEN_FAILED',
            `cannot listen for tunnelers on CONNECTOR_LISTEN_ADDR ${listen}: ${err.message}`,
            { cause: err, details: { variable: 'CONNECTOR_LISTEN_ADDR' } },
          ),
        );
    });
  });
  logger.info(
    {
      event: 'connector.listening',
      address: formatListenAddress({ host: config.connectorListenAddress!.host, port }),
    },
    'connector.listening',
  );
  session.onRenewed(() => {
    control.reauthenticate();
    workloadApi?.bundleChanged();
  });
  control.start();

  return {
    control,
    tunnels,
    forwards,
    port,
    upgrade,
    workloadApi,
    async stop() {
      await control.stop();
      forwards.closeAll();
      await workloadApi?.stop();
      tunnels.closeAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
