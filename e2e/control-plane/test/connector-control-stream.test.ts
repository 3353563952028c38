import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { enrollFromConfig } from '@sigil/agent';
import { createCertificateAuthority } from '@sigil/pki';
import { waitFor } from '@sigil/testing';
import {
  metric,
  startControlPlane,
  VERSION,
  type ControlPlaneFixture,
} from './support/control-plane';

async function get(url: string): Promise<number> {
  return (await fetch(url)).status;
}

describe('a running connector', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    // Connector certificates live 8 s: renewals come every ~5 s while the tests watch. Not
    // shorter: a 4 s certificate leaves its renewal ~1 s, which a stalled runner can miss
    // (support/ca-fleet.ts, CA_SUITE_CONTROLLER).
    fx = await startControlPlane({ connectorCertTtlSeconds: 8 });
  });
  afterAll(() => fx.cleanup());

  it('keeps one control stream across renewals without losing a single heartbeat', async () => {
    const env = await fx.enrollEnv('connector', 'edge-renew');
    await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
    const runEnv = { ...env, ENROLLMENT_TOKEN: undefined };
    const connector = await fx.startConnector(runEnv);
    const { registry } = connector.runtime.session.metrics;
    const firstCertificate = connector.runtime.session.identity.certificateChainPem;

    await waitFor(
      'two renewals',
      async () =>
        (await metric(registry, 'sigil_agent_renewals_total', { result: 'success' })) >= 2,
      30_000,
    );
    // Let a few more heartbeats flow on the renewed certificate.
    const acksAfterRenewals = await metric(registry, 'sigil_agent_heartbeat_acks_total');
    await waitFor(
      'heartbeats after the renewals',
      async () =>
        (await metric(registry, 'sigil_agent_heartbeat_acks_total')) >= acksAfterRenewals + 5,
    );
    await connector.part.control.stop();

    const sent = await metric(registry, 'sigil_agent_heartbeats_sent_total');
    // The controller acknowledged sequence numbers 1..N, each once: no gap, no duplicate (the ack
    // of the last heartbeat may still be landing as the stream closes, so read until both agree;
    // a gap or a duplicate never agrees) ...
    let acked = 0;
    let lastAcked = -1;
    await waitFor(
      'the acknowledgement count to match the last acknowledged sequence',
      async () => {
        acked = await metric(registry, 'sigil_agent_heartbeat_acks_total');
        lastAcked = await metric(registry, 'sigil_agent_last_acked_sequence');
        return acked === lastAcked;
      },
      5_000,
    );
    expect(acked).toBe(lastAcked);
    // ... and received exactly those (its own count of heartbeats).
    expect(await metric(fx.controller.metrics, 'sigil_controller_heartbeat_latency_seconds')).toBe(
      acked,
    );
    // At most the last heartbeat, written as the stream closed, went unacknowledged.
    expect(sent - acked).toBeLessThanOrEqual(1);
    expect(acked).toBeGreaterThan(20);
    // One stream for the whole run: renewals did not tear it down.
    expect(await metric(registry, 'sigil_agent_stream_connects_total')).toBe(1);
    expect(await metric(registry, 'sigil_agent_reconnects_total')).toBe(0);
    expect(
      fx.lines.filter(
        (line) => line.includes('"controlplane.stream_opened"') && line.includes('edge-renew'),
      ),
    ).toHaveLength(1);
    // The renewed identity replaced the old one in memory and on disk.
    const current = connector.runtime.session.identity;
    expect(current.certificateChainPem).not.toBe(firstCertificate);
    expect(current.renewals).toBeGreaterThanOrEqual(2);
    expect(readFileSync(path.join(env.STATE_DIR!, 'tls.crt'), 'utf8')).toBe(
      current.certificateChainPem,
    );
    expect(readFileSync(path.join(env.STATE_DIR!, 'tls.key'), 'utf8')).toBe(current.privateKeyPem);
    const audit = await fx.controller.store.listAudit({ limit: 100, action: 'renewal.succeeded' });
    expect(
      audit.filter((a) => a.subject === 'spiffe://e2e.sigil/connector/edge-renew').length,
    ).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('reports its version on every heartbeat, answers /healthz /readyz /metrics, and renews on RenewNow', async () => {
    const env = await fx.enrollEnv('connector', 'edge-probe', {
      env: { HEARTBEAT_INTERVAL: '10s' },
    });
    const connector = await fx.startConnector(env, true);
    const { http, session } = connector.runtime;
    await waitFor('the stream to come up', () => connector.part.control.up);
    // --ephemeral: enrolled and running, nothing written to STATE_DIR.
    expect(existsSync(env.STATE_DIR!)).toBe(false);
    expect(await get(`${http.url}/healthz`)).toBe(200);
    expect(await get(`${http.url}/readyz`)).toBe(200);
    const text = await (await fetch(`${http.url}/metrics`)).text();
    expect(text).toContain('sigil_agent_heartbeats_sent_total');
    expect(text).toMatch(/sigil_agent_certificate_expiry_seconds [1-8]\b/);
    expect(text).toContain(
      `sigil_agent_info{kind="connector",id="edge-probe",version="${VERSION}"} 1`,
    );
    expect(fx.controller.listConnectors().find((c) => c.id === 'edge-probe')).toMatchObject({
      version: VERSION,
      status: 'ONLINE',
      connected: true,
    });

    const before = await metric(session.metrics.registry, 'sigil_agent_renewals_total', {
      result: 'success',
    });
    expect(fx.controller.requestRenewal('edge-probe')).toBeDefined();
    await waitFor(
      'the RenewNow renewal',
      async () =>
        (await metric(session.metrics.registry, 'sigil_agent_renewals_total', {
          result: 'success',
        })) > before,
    );
    await waitFor('the command ack', () =>
      fx.lines.some(
        (line) => line.includes('controlplane.command_ack') && line.includes('"ok":true'),
      ),
    );
  });

  it('applies a newer trust bundle (CA rotation) in memory and in STATE_DIR, and ignores an older one', async () => {
    const env = await fx.enrollEnv('connector', 'edge-bundle');
    await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
    const connector = await fx.startConnector({ ...env, ENROLLMENT_TOKEN: undefined });
    const { session } = connector.runtime;
    const next = await createCertificateAuthority({
      trustDomain: 'e2e.sigil',
      commonName: 'next runtime CA',
    });
    const rotated = `${fx.controller.trustBundlePem.trim()}\n${next.certificatePem.trim()}\n`;
    await session.applyBundle({ trustDomain: 'e2e.sigil', rootsPem: rotated, version: 2 });
    expect(session.identity.bundleVersion).toBe(2);
    expect(readFileSync(path.join(env.STATE_DIR!, 'ca.crt'), 'utf8')).toBe(rotated);
    await session.applyBundle({
      trustDomain: 'e2e.sigil',
      rootsPem: fx.controller.trustBundlePem,
      version: 1,
    });
    expect(session.identity.bundlePem).toBe(rotated);
    expect(await metric(session.metrics.registry, 'sigil_agent_bundle_updates_total')).toBe(1);
    // Renewal keeps working under the rotated bundle.
    await session.renewNow();
    expect(session.identity.bundleVersion).toBe(2);
  });

  it('fails over to the next controller address', async () => {
    const env = await fx.enrollEnv('connector', 'edge-two-addrs', {
      env: { HEARTBEAT_INTERVAL: '100ms' },
    });
    const connector = await fx.startConnector(
      { ...env, CONTROLLER_ADDR: `127.0.0.1:1,${fx.controller.grpcAddress}` },
      true,
    );
    await waitFor('the stream on the second address', () => connector.part.control.up);
    expect(connector.part.control.address).toBe(fx.controller.grpcAddress);
  });
});

describe('a connector restarted from STATE_DIR', () => {
  // Certificates of the default lifetime: with the 4 s ones above, a restart on a loaded machine
  // can find the persisted certificate already expired (which the agent rightly refuses to use).
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(() => fx.cleanup());

  it('restarts from STATE_DIR without a token', async () => {
    const env = await fx.enrollEnv('connector', 'edge-restart');
    await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
    const runEnv = {
      STATE_DIR: env.STATE_DIR,
      AGENT_HTTP_ADDR: '127.0.0.1:0',
      CONNECTOR_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_WORKLOAD_API_SOCKET: 'off',
      HEARTBEAT_INTERVAL: '100ms',
    };
    const first = await fx.startConnector(runEnv);
    await waitFor('the first stream', () => first.part.control.up);
    const spiffeId = first.runtime.session.identity.spiffeId;
    await first.stop();
    const second = await fx.startConnector(runEnv);
    await waitFor('the stream after the restart', () => second.part.control.up);
    expect(second.runtime.session.identity.spiffeId).toBe(spiffeId);
    // The controller and CA came from the state dir: enrollment left them there.
    expect(second.runtime.session.dialer.addresses).toEqual([fx.controller.grpcAddress]);
  });
});

describe('a controller restart', () => {
  it('is ridden out: the connector reconnects with backoff and the controller kept its state', async () => {
    const fx = await startControlPlane();
    try {
      const env = await fx.enrollEnv('connector', 'edge-survivor');
      const connector = await fx.startConnector(env, true);
      const { registry } = connector.runtime.session.metrics;
      const ready = async (): Promise<number> =>
        (await fetch(`${connector.runtime.http.url}/readyz`)).status;
      await waitFor('the stream', () => connector.part.control.up);
      expect(await ready()).toBe(200);

      await fx.stopController();
      await waitFor('readyz to turn 503', async () => (await ready()) === 503);
      // A renewal while the controller is away fails, is counted (and retried), and leaves the identity alone.
      const before = connector.runtime.session.identity.certificateChainPem;
      await expect(connector.runtime.session.renewNow()).rejects.toMatchObject({
        code: 'ERR_CONTROLLER_UNREACHABLE',
      });
      expect(
        await metric(registry, 'sigil_agent_renewals_total', { result: 'failure' }),
      ).toBeGreaterThanOrEqual(1);
      expect(connector.runtime.session.identity.certificateChainPem).toBe(before);

      await fx.startControllerAgain();
      await waitFor(
        'the reconnect',
        async () => (await metric(registry, 'sigil_agent_stream_connects_total')) === 2,
      );
      await connector.runtime.session.renewNow();
      expect(
        await metric(registry, 'sigil_agent_renewals_total', { result: 'success' }),
      ).toBeGreaterThanOrEqual(1);
      expect(connector.runtime.session.identity.certificateChainPem).not.toBe(before);
      expect(await metric(registry, 'sigil_agent_reconnects_total')).toBeGreaterThanOrEqual(1);
      expect(await ready()).toBe(200);
      // Enrolled before the restart, still known and online after it.
      await waitFor('the connector online in the new controller', () =>
        fx.controller.listConnectors().find((c) => c.id === 'edge-survivor' && c.connected),
      );
      expect(
        fx.agentLines.some(
          (line) => line.includes('"stream.disconnected"') && line.includes('retryInMs'),
        ),
      ).toBe(true);
    } finally {
      await fx.cleanup();
    }
  });
});
