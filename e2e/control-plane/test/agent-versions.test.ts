// Agent version pinning end to end: a real controller, a connector and a tunneler reporting
// VERSION (0.1.0-test, a prerelease below 0.1.0), the pin set through the admin API, the flag in
// the lists, the UpgradeRequired command received and logged by both agents, the pin surviving a
// controller restart, and renewals refused once AGENT_UPGRADE_GRACE is over (the real connector
// bin then exits 5).
import { resolveAgentConfig, startAgent, type RunningAgent } from '@sigil/agent';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';
import { waitFor } from '@sigil/testing';
import {
  VERSION,
  adminRequest,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(90_000);

interface Listed {
  id: string;
  version: string;
  upgrade_required: boolean;
}
interface Pins {
  connector_min: string | null;
  tunneler_min: string | null;
  connector_min_set_at: string | null;
  tunneler_min_set_at: string | null;
  upgrade_grace_seconds: number | null;
  connector_deadline: string | null;
  tunneler_deadline: string | null;
  upgrade_required: { connectors: number; tunnelers: number };
}

const GRACE_SECONDS = 2;

describe('agent version pinning', () => {
  let fx: ControlPlaneFixture;
  let connector: RunningConnector;
  let laptop: RunningAgent<TunnelerPart>;

  const list = async (kind: 'connectors' | 'tunnelers', id: string): Promise<Listed> => {
    const { status, body } = await adminRequest<Listed[]>(fx, 'GET', kind);
    expect(status).toBe(200);
    return body.find((agent) => agent.id === id)!;
  };
  const agentRecords = (event: string) =>
    fx.agentLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.event === event);

  beforeAll(async () => {
    fx = await startControlPlane({ agentUpgradeGraceSeconds: GRACE_SECONDS });
    connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
    const env = await fx.enrollEnv('tunneler', 'laptop-1', {
      connectorId: 'edge-1',
      env: { CONNECTOR_ADDR: `127.0.0.1:${connector.part.port}` },
    });
    laptop = fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
        startTunnelerPart,
      ),
    );
    await waitFor('the tunnel', () => laptop.part.tunnel.up);
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('refuses a minimum that is not semver with a 400 naming the field', async () => {
    const bad = await adminRequest<{ error: string; field: string; reason: string }>(
      fx,
      'PUT',
      'agent-versions',
      { connector_min: '0.2.0', tunneler_min: 'latest' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'bad_request', field: 'tunneler_min' });
    expect(bad.body.reason).toMatch(/^tunneler_min "latest" is not a semantic version/);
    // Nothing was pinned: a refused request changes neither minimum.
    expect((await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body).toMatchObject({
      connector_min: null,
      tunneler_min: null,
      upgrade_grace_seconds: GRACE_SECONDS,
    });
    expect(await list('connectors', 'edge-1')).toMatchObject({
      version: VERSION,
      upgrade_required: false,
    });
  });

  it('flags agents below the minimum and tells them over their streams', async () => {
    const before = Date.now();
    // 0.1.0-test is a prerelease of 0.1.0, so below it (semver 11); 0.2.0 is simply higher.
    const put = await adminRequest<Pins>(fx, 'PUT', 'agent-versions', {
      connector_min: '0.1.0',
      tunneler_min: 'v0.2.0',
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ connector_min: '0.1.0', tunneler_min: '0.2.0' });
    const setAt = Date.parse(put.body.connector_min_set_at!);
    expect(setAt).toBeGreaterThanOrEqual(before);
    expect(Date.parse(put.body.connector_deadline!)).toBe(setAt + GRACE_SECONDS * 1000);

    expect(await list('connectors', 'edge-1')).toMatchObject({ upgrade_required: true });
    expect(await list('tunnelers', 'laptop-1')).toMatchObject({ upgrade_required: true });

    // Both agents hear it on their next heartbeat: the connector from the controller, the
    // tunneler from its connector.
    await waitFor(
      'both agents told',
      () =>
        connector.part.upgrade.minimumVersion === '0.1.0' &&
        laptop.part.upgrade.minimumVersion === '0.2.0',
    );
    const warned = agentRecords('agent.upgrade_required');
    expect(warned.map((r) => [r.kind, r.minimumVersion, r.version, r.level])).toEqual(
      expect.arrayContaining([
        ['connector', '0.1.0', VERSION, 40],
        ['tunneler', '0.2.0', VERSION, 40],
      ]),
    );
    expect(warned.find((r) => r.kind === 'tunneler')?.message).toMatch(
      /^this tunneler runs 0\.1\.0-test, below the minimum version 0\.2\.0 the controller pins for tunnelers: upgrade it; from \S+Z the controller refuses to renew its certificate$/,
    );
    expect(
      await metric(connector.runtime.session.metrics.registry, 'sigil_agent_upgrade_required', {
        minimum_version: '0.1.0',
      }),
    ).toBe(1);
    expect(
      await metric(laptop.runtime.session.metrics.registry, 'sigil_agent_upgrade_required', {
        minimum_version: '0.2.0',
      }),
    ).toBe(1);
    // Once per stream and requirement, not per heartbeat.
    const told = fx.lines.filter((line) => line.includes('"controlplane.upgrade_required"'));
    expect(told).toHaveLength(2);

    const audit = await adminRequest<Array<{ actor: string; details: Record<string, unknown> }>>(
      fx,
      'GET',
      'audit?action=admin.agent_versions_set',
    );
    expect(audit.body[0]).toMatchObject({
      actor: 'admin',
      details: {
        connector_min: '0.1.0',
        tunneler_min: '0.2.0',
        previous_connector_min: null,
        previous_tunneler_min: null,
      },
    });
    expect((await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body.upgrade_required).toEqual({
      connectors: 1,
      tunnelers: 1,
    });
  });

  it('keeps the pin across a controller restart, and tells the agents again', async () => {
    const pinned = (await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body;
    const toldBefore = connector.runtime.session.metrics.registry;
    await fx.restartController();
    const after = (await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body;
    expect(after).toEqual({ ...pinned, upgrade_required: after.upgrade_required });
    await waitFor('the connector back', () =>
      fx.controller.listConnectors().find((c) => c.id === 'edge-1' && c.connected),
    );
    expect(await list('connectors', 'edge-1')).toMatchObject({ upgrade_required: true });
    // The new controller's streams tell both agents again.
    await waitFor(
      'the agents told by the new controller',
      () =>
        fx.lines.filter((line) => line.includes('"controlplane.upgrade_required"')).length === 2,
    );
    expect(await metric(toldBefore, 'sigil_agent_upgrade_required')).toBe(1);
  });

  it('clears the flag and tells the agents when a minimum is lifted', async () => {
    const put = await adminRequest<Pins>(fx, 'PUT', 'agent-versions', { connector_min: '0.1.0' });
    expect(put.body).toMatchObject({ connector_min: '0.1.0', tunneler_min: null });
    // Re-applying the same connector minimum does not restart its grace period.
    expect(put.body.connector_min_set_at).toBe(
      (await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body.connector_min_set_at,
    );
    expect(await list('tunnelers', 'laptop-1')).toMatchObject({ upgrade_required: false });
    await waitFor('the tunneler cleared', () => laptop.part.upgrade.minimumVersion === undefined);
    expect(agentRecords('agent.upgrade_cleared').map((r) => r.kind)).toEqual(['tunneler']);
    expect(
      await metric(laptop.runtime.session.metrics.registry, 'sigil_agent_upgrade_required'),
    ).toBe(0);
  });

  it('refuses renewals after the grace period, naming the minimum', async () => {
    const { connector_deadline } = (await adminRequest<Pins>(fx, 'GET', 'agent-versions')).body;
    await waitFor('the grace period over', () => Date.now() > Date.parse(connector_deadline!));
    const stopped = connector.runtime.session.unusable;
    await fx.controller.requestRenewal('edge-1');
    const error = await stopped;
    expect(error.code).toBe('ERR_AGENT_UPGRADE_REQUIRED');
    expect(error.message).toMatch(
      /^the controller refused to renew spiffe:\/\/e2e\.sigil\/connector\/edge-1: spiffe:\/\/e2e\.sigil\/connector\/edge-1 runs connector 0\.1\.0-test, below the minimum version 0\.1\.0 pinned for connectors, and the grace period ended at \S+Z: upgrade the connector to 0\.1\.0 or later to renew its certificate$/,
    );
    const refused = await adminRequest<Array<{ details: Record<string, unknown> }>>(
      fx,
      'GET',
      'audit?action=renewal.refused',
    );
    expect(refused.body[0]?.details).toMatchObject({ reason: 'upgrade_required' });
    // The tunneler meets its (cleared) minimum: it still renews.
    await laptop.runtime.session.renewNow();
    expect(laptop.runtime.session.identity.renewals).toBe(1);
  });

  it('the real connector below the minimum exits 5 with ERR_AGENT_UPGRADE_REQUIRED', async () => {
    // The bin reports its package version, 0.1.0: pin connectors to 0.2.0.
    await adminRequest(fx, 'PUT', 'agent-versions', { connector_min: '0.2.0' });
    const env = await fx.enrollEnv('connector', 'edge-bin');
    const bin = spawnAgent('connector', ['run', '--ephemeral'], env);
    const warned = await bin.next('agent.upgrade_required');
    expect(warned).toMatchObject({ minimumVersion: '0.2.0', version: '0.1.0', level: 'warn' });
    await waitFor('the grace period over', async () => {
      const { body } = await adminRequest<Pins>(fx, 'GET', 'agent-versions');
      return Date.now() > Date.parse(body.connector_deadline!);
    });
    await fx.controller.requestRenewal('edge-bin');
    expect(await bin.exited).toEqual({ code: 5, signal: null });
    expect(bin.stderr.filter((line) => line.startsWith('error '))).toEqual([
      expect.stringMatching(
        /^error ERR_AGENT_UPGRADE_REQUIRED: the controller refused to renew spiffe:\/\/e2e\.sigil\/connector\/edge-bin: .* below the minimum version 0\.2\.0 pinned for connectors/,
      ),
    ]);
  });
});
