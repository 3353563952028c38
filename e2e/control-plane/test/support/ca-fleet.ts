// What the CA suites share: a connector with tunnelers behind it, and the figures a rotation must
// keep at zero (failed handshakes and validations, refused tunnels, lost heartbeats).
import { resolveAgentConfig, startAgent, type RunningAgent } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';
import type { Registry } from 'prom-client';
import { metric, type ControlPlaneFixture, type RunningConnector } from './control-plane';

/**
 * The controller options of the CA suites: lifetimes short enough that a rotation completes in
 * seconds, long enough that a renewal due while the machine stalls (a loaded CI runner, a
 * controller restart that takes 2 s) still lands before expiry. X.509 times are whole seconds:
 * a 4 s certificate may live 3 s and leave its renewal about 1 s, too little on a shared runner.
 */
export const CA_SUITE_CONTROLLER = {
  connectorCertTtlSeconds: 12,
  tunnelerCertTtlSeconds: 10,
  renewalsPerMinute: 60,
} as const;

/** A connector `edge-1` and tunnelers that connect through it. */
export interface Fleet {
  connector: RunningConnector;
  tunnelers: RunningAgent<TunnelerPart>[];
}

/** Enrolls and starts `edge-1` and one tunneler per id (ephemeral), and waits until all are up. */
export async function startFleet(
  fx: ControlPlaneFixture,
  tunnelerIds: readonly string[] = ['laptop-1', 'laptop-2'],
): Promise<Fleet> {
  const connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
  const connectorAddr = `127.0.0.1:${connector.part.port}`;
  const tunnelers: RunningAgent<TunnelerPart>[] = [];
  for (const id of tunnelerIds) {
    const env = await fx.enrollEnv('tunneler', id, {
      connectorId: 'edge-1',
      env: { CONNECTOR_ADDR: connectorAddr },
    });
    tunnelers.push(
      fx.track(
        await startAgent(
          fx.runtime(
            resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true }),
          ),
          startTunnelerPart,
        ),
      ),
    );
  }
  await waitFor('the control stream', () => connector.part.control.up);
  for (const t of tunnelers) await waitFor('the tunnel', () => t.part.tunnel.up);
  return { connector, tunnelers };
}

/** The connector and every tunneler. */
export const agentsOf = (fleet: Fleet) => [fleet.connector, ...fleet.tunnelers];

/** Every agent's metrics registry. */
export const registriesOf = (fleet: Fleet): Registry[] =>
  agentsOf(fleet).map((a) => a.runtime.session.metrics.registry);

/** Failed TLS handshakes and validations at the controller and every agent, and refused tunnels. */
export async function failuresOf(fx: ControlPlaneFixture, fleet: Fleet): Promise<number> {
  let total = 0;
  for (const registry of [fx.controller.metrics, ...registriesOf(fleet)]) {
    for (const name of [
      'grpc_tls_handshake_errors_total',
      'grpc_tls_cert_validation_failures_total',
    ])
      if (registry.getSingleMetric(name) !== undefined) total += await metric(registry, name);
  }
  total += await metric(
    fleet.connector.runtime.session.metrics.registry,
    'sigil_connector_tunnelers_refused_total',
  );
  return total;
}

/** Successful renewals of each agent, in {@link agentsOf} order. */
export async function renewalsOf(fleet: Fleet): Promise<number[]> {
  return Promise.all(
    registriesOf(fleet).map((r) => metric(r, 'sigil_agent_renewals_total', { result: 'success' })),
  );
}

/**
 * Every heartbeat sent so far is acknowledged, in sequence, on the stream first opened (no
 * reconnect); the totals.
 */
export async function expectNoLostHeartbeats(
  fleet: Fleet,
): Promise<{ sent: number; acked: number }> {
  let sent = 0;
  let acked = 0;
  for (const registry of registriesOf(fleet)) {
    const upTo = await metric(registry, 'sigil_agent_heartbeats_sent_total');
    await waitFor('the acks of every heartbeat sent', async () =>
      (await metric(registry, 'sigil_agent_heartbeat_acks_total')) >= upTo ? true : undefined,
    );
    const acks = await metric(registry, 'sigil_agent_heartbeat_acks_total');
    expect(acks).toBe(await metric(registry, 'sigil_agent_last_acked_sequence'));
    expect(await metric(registry, 'sigil_agent_stream_connects_total')).toBe(1);
    expect(await metric(registry, 'sigil_agent_reconnects_total')).toBe(0);
    sent += upTo;
    acked += acks;
  }
  return { sent, acked };
}
