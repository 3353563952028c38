// Agent version pinning at the controller's edges, with hand-driven agents: the admin API
// (`GET`/`PUT /api/admin/agent-versions`), the UpgradeRequired commands on a control stream (once
// per requirement, for the connector and for the tunnelers it forwards), the renewal refusal once
// AGENT_UPGRADE_GRACE is over, and a pin set on one replica applied by another.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import { createPostgresStore } from '../src/store/postgres-store';
import { agentClients, failure, heartbeat } from './support/agents';
import { admin, enrollNew, startController } from './support/fixtures';
import type { ControllerFixture, StreamRecorder } from './support/fixtures';
import { POSTGRES_URL, dropSchema, postgresSkipped, uniqueSchema } from './support/postgres';

const pin = (fx: ControllerFixture, body: unknown) =>
  admin(fx.controller, '/api/admin/agent-versions', { method: 'PUT', body });

function tunnelerHeartbeat(stream: StreamRecorder, tunnelerId: string, version: string): void {
  stream.call.write({
    body: {
      $case: 'tunnelerHeartbeat',
      tunnelerHeartbeat: { tunnelerId, sequence: 1, version, sentAt: 0, bundleVersion: 0 },
    },
  });
}

describe('agent version pinning at the controller', () => {
  let fx: ControllerFixture;
  beforeEach(async () => {
    fx = await startController({ agentUpgradeGraceSeconds: 0 });
  });
  afterEach(() => fx.cleanup());

  it('answers GET and PUT, refuses bad bodies naming the field, and audits the change', async () => {
    expect((await admin(fx.controller, '/api/admin/agent-versions')).json).toEqual({
      connector_min: null,
      tunneler_min: null,
      connector_min_set_at: null,
      tunneler_min_set_at: null,
      upgrade_grace_seconds: 0,
      connector_deadline: null,
      tunneler_deadline: null,
      upgrade_required: { connectors: 0, tunnelers: 0 },
    });
    const bad = await pin(fx, { connector_min: '1.0' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ field: 'connector_min', error: 'bad_request' });
    expect((await pin(fx, { tunneler_min: '1.0.0', extra: 1 })).json).toMatchObject({
      field: 'extra',
    });
    expect(
      (
        await admin(fx.controller, '/api/admin/agent-versions', {
          method: 'PUT',
          rawBody: '[1]',
        })
      ).status,
    ).toBe(400);
    expect(
      (await admin(fx.controller, '/api/admin/agent-versions', { method: 'POST' })).status,
    ).toBe(405);

    const put = await pin(fx, { connector_min: '2.0.0-rc.1' });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ connector_min: '2.0.0-rc.1', tunneler_min: null });
    const audit = await admin(fx.controller, '/api/admin/audit?action=admin.agent_versions_set');
    expect(audit.json).toEqual([
      expect.objectContaining({
        actor: 'admin',
        subject: 'agent-versions',
        details: {
          connector_min: '2.0.0-rc.1',
          tunneler_min: null,
          previous_connector_min: null,
          previous_tunneler_min: null,
          // Who asked, from where (the SIGIL_ADMIN_TOKEN bearer over loopback).
          address: '127.0.0.1',
          user_agent: 'node',
          via: 'admin-token',
        },
      }),
    ]);
  });

  it('tells the connector and its tunnelers once per requirement, and when it is lifted', async () => {
    const connector = await enrollNew(fx.controller, 'connector', 'edge-1');
    await enrollNew(fx.controller, 'tunneler', 'laptop-1', 'edge-1');
    const agents = agentClients(() => fx);
    try {
      const stream = agents.open(connector.identity);
      await stream.next('approvedTunnelers');
      heartbeat(stream, 1);
      await stream.next('heartbeatAck');
      expect(stream.count('upgradeRequired')).toBe(0);

      const put = await pin(fx, { connector_min: '1.0.1', tunneler_min: '1.0.0' });
      const setAt = Date.parse((put.json as { connector_min_set_at: string }).connector_min_set_at);
      heartbeat(stream, 2);
      const told = await stream.next('upgradeRequired');
      expect(told.commandId).not.toBe('');
      expect(told.body.upgradeRequired).toEqual({
        minimumVersion: '1.0.1',
        kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
        deadline: setAt,
        agentId: 'edge-1',
        currentVersion: '1.0.0',
      });
      heartbeat(stream, 3);
      heartbeat(stream, 4);
      await stream.until(() => stream.count('heartbeatAck') === 4, 'four acks');
      expect(stream.count('upgradeRequired')).toBe(1);

      // 1.0.0-beta is a prerelease of 1.0.0: below it.
      const after = stream.messages.length;
      tunnelerHeartbeat(stream, 'laptop-1', '1.0.0-beta');
      const forwarded = await stream.next('upgradeRequired', after);
      expect(forwarded.body.upgradeRequired).toMatchObject({
        minimumVersion: '1.0.0',
        kind: controlplaneV1.AgentKind.AGENT_KIND_TUNNELER,
        agentId: 'laptop-1',
        currentVersion: '1.0.0-beta',
      });
      expect(fx.controller.listTunnelers()[0]).toMatchObject({ upgradeRequired: true });

      await pin(fx, { tunneler_min: '1.0.0' });
      const cleared = stream.messages.length;
      heartbeat(stream, 5);
      const lifted = await stream.next('upgradeRequired', cleared);
      expect(lifted.body.upgradeRequired).toMatchObject({ minimumVersion: '', agentId: 'edge-1' });
      expect(fx.controller.listConnectors()[0]).toMatchObject({ upgradeRequired: false });
    } finally {
      agents.close();
    }
  });

  it('refuses renewals below the minimum once the grace period is over', async () => {
    const connector = await enrollNew(fx.controller, 'connector', 'edge-old');
    const agents = agentClients(() => fx);
    try {
      const renewed = await agents.renew(connector.identity);
      await pin(fx, { connector_min: '1.2.0' });
      const refused = await failure(agents.renew(renewed));
      expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(refused.details).toMatch(
        /^spiffe:\/\/test\.sigil\/connector\/edge-old runs connector 1\.0\.0, below the minimum version 1\.2\.0 pinned for connectors, and the grace period ended at \S+Z: upgrade the connector to 1\.2\.0 or later/,
      );
      const audit = await admin(fx.controller, '/api/admin/audit?action=renewal.refused');
      expect(audit.json).toEqual([
        expect.objectContaining({
          details: expect.objectContaining({ reason: 'upgrade_required' }),
        }),
      ]);
      expect(
        await fx.controller.metrics.getSingleMetricAsString('sigil_controller_refusals_total'),
      ).toMatch(/reason="upgrade_required"} 1/);
      // Lifting the pin lets it renew again.
      await pin(fx, {});
      await agents.renew(renewed);
    } finally {
      agents.close();
    }
  });
});

(postgresSkipped ? describe.skip : describe)('agent version pins on two replicas', () => {
  it('applies a pin set on one replica on the other', async () => {
    const schema = uniqueSchema('sigil_versions');
    const dataDir = mkdtempSync(join(tmpdir(), 'sigil-versions-'));
    const a = await startController({ dataDir, databaseUrl: POSTGRES_URL, postgresSchema: schema });
    await enrollNew(a.controller, 'connector', 'replicated-1');
    const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
    const b = await startController({ dataDir, store });
    try {
      await pin(a, { connector_min: '3.0.0' });
      await waitFor(
        'the pin on replica B',
        async () =>
          (
            (await admin(b.controller, '/api/admin/agent-versions')).json as {
              connector_min: string;
            }
          ).connector_min === '3.0.0',
      );
      expect(b.controller.listConnectors()[0]).toMatchObject({
        id: 'replicated-1',
        upgradeRequired: true,
      });
    } finally {
      await b.cleanup();
      await store.close();
      await a.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
      await dropSchema(schema);
    }
  }, 30_000);
});
