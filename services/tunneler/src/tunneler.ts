import {
  createStreamSupervisor,
  createUpgradeNotice,
  type AgentStartContext,
  type RunningAgentPart,
  type StreamSupervisor,
  type UpgradeNotice,
} from '@sigil/agent';
import { SigilError } from '@sigil/errors';
import { formatSpiffeId } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { startForwards, type Forwards } from './forwards';

const FLOW_CONTROL_WINDOW_BYTES = 1024 * 1024;
/**
 * HTTP/2 keepalive on the connection to the connector: a ping every 10 s, the connection dropped
 * when one is not answered within 5 s. A connector that froze or whose network went silent (no
 * FIN, no RST) then fails every Forward on that connection with UNAVAILABLE, so its local
 * sockets are reset instead of hanging until TCP gives up. The connector accepts pings every 5 s
 * or more (`grpc.http2.min_ping_interval_without_data_ms`).
 */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

/** The tunneler-specific part of a running tunneler. */
export interface TunnelerPart extends RunningAgentPart {
  /** The mTLS stream to the connector. */
  readonly tunnel: StreamSupervisor<controlplaneV1.TunnelerMessage>;
  /** CONNECTOR_ADDR in use. */
  readonly connectorAddress: string;
  /** The SPIFFE ID the connector must present. */
  readonly connectorSpiffeId: string;
  /** The controller's minimum version for tunnelers (forwarded by the connector), as far as this tunneler is below it. */
  readonly upgrade: UpgradeNotice;
  /** The local listeners of TUNNELER_FORWARDS / `--forward`. */
  readonly forwards: Forwards;
}

/**
 * The tunneler on top of the shared agent runtime: ConnectorService.Tunnel over mTLS to
 * CONNECTOR_ADDR (default: the address given at enrollment), verifying the connector as
 * `spiffe://<td>/connector/<connector_id>` against the runtime bundle, with a
 * `tunneler_heartbeat` every HEARTBEAT_INTERVAL; readiness follows the stream. After each
 * renewal the stream re-authenticates in-band, so the connector extends it; a `Revoked` from the
 * connector (or a refusal saying so, from it or the controller) stops the tunneler for good.
 *
 * @example
 * ```ts
 * runAgentCli({ kind: 'tunneler', version, start: startTunnelerPart });
 * ```
 */
export async function startTunnelerPart(context: AgentStartContext): Promise<TunnelerPart> {
  const { config, runtime, logger, version } = context;
  const { session } = runtime;
  const identity = session.identity;
  const connectorAddress = config.connectorAddress ?? identity.connectorAddress;
  if (connectorAddress === undefined) {
    throw new SigilError(
      'ERR_CONFIG_MISSING',
      'CONNECTOR_ADDR is not set and was not given at enrollment (env CONNECTOR_ADDR, flag --connector-addr or connector.addr in the config file)',
      {
        details: { variable: 'CONNECTOR_ADDR' },
      },
    );
  }
  const connectorSpiffeId = String(
    formatSpiffeId(identity.trustDomain, 'connector', identity.connectorId!),
  );
  const tls = await session.peerClientCredentials(connectorSpiffeId);
  const upgrade = createUpgradeNotice({
    kind: 'tunneler',
    version,
    logger,
    registry: session.metrics.registry,
  });
  const channelOptions = {
    ...tls.channelOptions,
    'grpc.use_local_subchannel_pool': 1,
    // A 1 MiB HTTP/2 receive window (stream and connection): downloads through a forward are not
    // held to one 64 KiB window per round trip; memory per stream stays bounded by it.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  };
  // The client of the current Tunnel stream: forwards open their calls on its connection.
  let current: controlplaneV1.ConnectorServiceClient | undefined;

  const tunnel = createStreamSupervisor<
    controlplaneV1.TunnelerMessage,
    controlplaneV1.ConnectorMessage
  >({
    name: 'tunnel',
    addresses: () => [connectorAddress],
    // A connection per stream: a reconnect handshakes with the certificate current at that time.
    open: (address) => {
      // The data-path client: Forward data frames skip the generated codec's copies.
      const client = new controlplaneV1.ConnectorServiceDataPathClient(
        address,
        tls.credentials,
        channelOptions,
      );
      current = client;
      return {
        stream: client.tunnel(),
        close: () => {
          if (current === client) current = undefined;
          client.close();
        },
      };
    },
    heartbeat: (sequence) => ({
      body: {
        $case: 'heartbeat',
        heartbeat: {
          tunnelerId: identity.agentId,
          sequence,
          version,
          sentAt: Date.now(),
          bundleVersion: session.identity.bundleVersion,
        },
      },
    }),
    reauthentication: {
      credential: () => session.identity,
      message: (reauthenticate) => ({ body: { $case: 'reauthenticate', reauthenticate } }),
    },
    onHeartbeatAck: (ack) => session.followBundleVersion(ack.bundleVersion ?? 0),
    // The connector relays the controller's UpgradeRequired for this tunneler, and its
    // RenewTunnelers (a root is about to be retired).
    onMessage: (message) => {
      if (message.body?.$case === 'upgradeRequired') upgrade.apply(message.body.upgradeRequired);
      else if (message.body?.$case === 'renewNow')
        session
          .renewNow()
          .catch((err: unknown) =>
            logger.warn(
              { event: 'command.renew_now_failed', reason: (err as Error).message },
              'command.renew_now_failed',
            ),
          );
    },
    onRevoked: (evidence) =>
      session.revoke({ peer: `connector ${connectorSpiffeId}`, ...evidence }),
    onStateChange: (up) => runtime.setReady(up),
    intervalMs: config.heartbeatIntervalMs,
    backoff: { initialMs: config.reconnect.initialMs, maxMs: config.reconnect.maxMs },
    metrics: session.metrics,
    logger,
  });
  session.onRenewed(() => tunnel.reauthenticate());
  const forwards = await startForwards({
    forwards: config.forwards,
    client: () => (tunnel.up ? current : undefined),
    registry: session.metrics.registry,
    logger,
  });
  tunnel.start();
  logger.info(
    { event: 'tunneler.connecting', connectorAddress, connectorSpiffeId },
    'tunneler.connecting',
  );
  return {
    tunnel,
    connectorAddress,
    connectorSpiffeId,
    upgrade,
    forwards,
    async stop() {
      await forwards.close();
      await tunnel.stop();
    },
  };
}
