import * as grpc from '@grpc/grpc-js';
import {
  createIdentityStore,
  enrollFromConfig,
  resolveAgentConfig,
  startAgent,
  type RunningAgent,
} from '@sigil/agent';
import {
  createClientCredentials,
  createRotatingIdentity,
  loadClientTlsConfig,
} from '@sigil/grpc-tls';
import { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import {
  metric,
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';

describe('tunnelers behind a connector', () => {
  let fx: ControlPlaneFixture;
  let connector: RunningConnector;
  let connectorAddr: string;

  beforeAll(async () => {
    // Tunneler certificates live 8 s so renewals happen while the stream runs (every ~5 s). Not
    // shorter: a 4 s certificate lives ~3 s in whole-second X.509 time and leaves its renewal ~1 s,
    // which a stalled runner can miss (support/ca-fleet.ts, CA_SUITE_CONTROLLER).
    fx = await startControlPlane({ tunnelerCertTtlSeconds: 8 });
    connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
    connectorAddr = `127.0.0.1:${connector.part.port}`;
    await fx.startConnector(await fx.enrollEnv('connector', 'edge-2'), true);
    await waitFor('the connector stream', () => connector.part.control.up);
  });
  afterAll(() => fx.cleanup());

  async function tunneler(
    id: string,
    connectorId: string,
    extra: Record<string, string> = {},
    ephemeral = true,
  ): Promise<RunningAgent<TunnelerPart>> {
    const env = await fx.enrollEnv('tunneler', id, {
      connectorId,
      env: { CONNECTOR_ADDR: connectorAddr, ...extra },
    });
    return fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral })),
        startTunnelerPart,
      ),
    );
  }

  it('sends tunneler heartbeats through the connector into the controller registry', async () => {
    const laptop = await tunneler('laptop-1', 'edge-1');
    await waitFor('the tunnel', () => laptop.part.tunnel.up);
    expect(laptop.part.connectorSpiffeId).toBe('spiffe://e2e.sigil/connector/edge-1');
    expect((await fetch(`${laptop.runtime.http.url}/readyz`)).status).toBe(200);
    const registry = connector.runtime.session.metrics.registry;
    await waitFor(
      'forwarded heartbeats',
      async () =>
        (await metric(registry, 'sigil_connector_tunneler_heartbeats_forwarded_total')) >= 3,
    );
    await fx.controller.flushRegistry();
    const view = await waitFor('the tunneler in the registry', () =>
      fx.controller.listTunnelers().find((t) => t.id === 'laptop-1' && t.lastSeen !== null),
    );
    expect(view).toMatchObject({ connectorId: 'edge-1', status: 'ONLINE', version: '0.1.0-test' });
    expect(await metric(registry, 'sigil_connector_tunnelers_connected')).toBeGreaterThanOrEqual(1);
  });

  it('keeps its tunnel across renewals with the controller, without a dropped heartbeat', async () => {
    const laptop = await tunneler('laptop-renew', 'edge-1');
    const { registry } = laptop.runtime.session.metrics;
    await waitFor(
      'two renewals',
      async () =>
        (await metric(registry, 'sigil_agent_renewals_total', { result: 'success' })) >= 2,
      30_000,
    );
    await laptop.part.tunnel.stop();
    const acked = await metric(registry, 'sigil_agent_heartbeat_acks_total');
    // Acks are contiguous from sequence 1: no heartbeat was lost across the renewals.
    expect(acked).toBe(await metric(registry, 'sigil_agent_last_acked_sequence'));
    // Only heartbeats still in flight when the tunnel stopped may lack an ack: at 100 ms intervals
    // on a loaded machine that is at most a few, never a renewal's worth of silence.
    expect(
      (await metric(registry, 'sigil_agent_heartbeats_sent_total')) - acked,
    ).toBeLessThanOrEqual(3);
    expect(await metric(registry, 'sigil_agent_stream_connects_total')).toBe(1);
    expect(laptop.runtime.session.identity.renewals).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('restarts from STATE_DIR without a token, remembering its connector', async () => {
    const env = await fx.enrollEnv('tunneler', 'laptop-restart', {
      connectorId: 'edge-1',
      env: { CONNECTOR_ADDR: connectorAddr },
    });
    await enrollFromConfig(
      fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'enroll', env })),
    );
    const runEnv = {
      STATE_DIR: env.STATE_DIR,
      AGENT_HTTP_ADDR: '127.0.0.1:0',
      HEARTBEAT_INTERVAL: '100ms',
    };
    for (let start = 0; start < 2; start += 1) {
      const laptop = await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env: runEnv })),
        startTunnelerPart,
      );
      try {
        expect(laptop.part.connectorAddress).toBe(connectorAddr);
        await waitFor('the tunnel', () => laptop.part.tunnel.up);
      } finally {
        await laptop.stop();
      }
    }
  });

  it('refuses to tunnel to a connector other than its own', async () => {
    // laptop-2 belongs to edge-2 but is pointed at edge-1, which presents spiffe://e2e.sigil/connector/edge-1.
    const misdirected = await tunneler('laptop-2', 'edge-2');
    await waitFor('the refused handshake', () =>
      fx.agentLines.some(
        (line) =>
          line.includes('"stream.disconnected"') &&
          line.includes('connector/edge-1') &&
          line.includes('connector/edge-2'),
      ),
    );
    expect(misdirected.part.tunnel.up).toBe(false);
    expect((await fetch(`${misdirected.runtime.http.url}/readyz`)).status).toBe(503);
  });

  it('refuses a tunneler the controller did not approve for the connector with PERMISSION_DENIED', async () => {
    // A genuine tunneler of edge-2 that knowingly dials edge-1: the connector must turn it away.
    const env = await fx.enrollEnv('tunneler', 'laptop-3', {
      connectorId: 'edge-2',
      env: { CONNECTOR_ADDR: connectorAddr },
    });
    await enrollFromConfig(
      fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'enroll', env })),
    );
    const identity = (await createIdentityStore({
      kind: 'tunneler',
      stateDir: env.STATE_DIR,
    }).load())!;
    const tls = await createClientCredentials(
      loadClientTlsConfig({
        env: {},
        configFile: false,
        expectedServerId: 'spiffe://e2e.sigil/connector/edge-1',
        identity: createRotatingIdentity({
          certificateChainPem: identity.certificateChainPem,
          privateKeyPem: identity.privateKeyPem,
          caPem: identity.bundlePem,
        }),
      }),
      { logger: fx.runtime(fx.config('tunneler', 'run', { STATE_DIR: env.STATE_DIR })).logger },
    );
    const client = new controlplaneV1.ConnectorServiceClient(connectorAddr, tls.credentials);
    try {
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        const call = client.tunnel();
        call.on('error', () => undefined);
        call.on('status', resolve);
        call.write({
          body: {
            $case: 'heartbeat',
            heartbeat: {
              tunnelerId: 'laptop-1',
              sequence: 1,
              version: 'x',
              sentAt: Date.now(),
              bundleVersion: 0,
            },
          },
        });
      });
      expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(status.details).toBe('tunneler laptop-3 is not approved for connector edge-1');
    } finally {
      client.close();
      tls.close();
    }
    expect(
      await metric(
        connector.runtime.session.metrics.registry,
        'sigil_connector_tunnelers_refused_total',
        { reason: 'not_approved' },
      ),
    ).toBeGreaterThanOrEqual(1);
  });
});
