// A forced retire: agents whose certificates of hours still chain to the old root are told to
// renew first, then the root leaves the bundle and nothing chains to it any more.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resolveAgentConfig, startAgent, type RunningAgent } from '@sigil/agent';
import { validateX509Svid } from '@sigil/pki';
import { waitFor } from '@sigil/testing';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';
import {
  adminRequest,
  waitForRootAcknowledged,
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Fleet {
  connector: RunningConnector;
  tunneler: RunningAgent<TunnelerPart>;
}

async function startFleet(fx: ControlPlaneFixture): Promise<Fleet> {
  const connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
  const env = await fx.enrollEnv('tunneler', 'laptop-1', {
    connectorId: 'edge-1',
    env: { CONNECTOR_ADDR: `127.0.0.1:${connector.part.port}` },
  });
  const tunneler = fx.track(
    await startAgent(
      fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
      startTunnelerPart,
    ),
  );
  await waitFor('the control stream', () => connector.part.control.up);
  await waitFor('the tunnel', () => tunneler.part.tunnel.up);
  return { connector, tunneler };
}

const agentsOf = (fleet: Fleet) => [fleet.connector, fleet.tunneler];
const leafOf = (agent: { runtime: { session: { identity: { certificateChainPem: string } } } }) =>
  agent.runtime.session.identity.certificateChainPem;

async function admin(fx: ControlPlaneFixture, method: string, route: string, body?: unknown) {
  return adminRequest<Json>(fx, method, route, body);
}

/** Prepares with `body`, waits for every agent's acknowledgement, activates. */
async function prepareAndActivate(fx: ControlPlaneFixture, body?: unknown): Promise<Json> {
  const prepared = await admin(fx, 'POST', 'ca/prepare', body);
  expect(prepared.status).toBe(200);
  await waitForRootAcknowledged(fx, 30_000);
  const activated = await admin(fx, 'POST', 'ca/activate');
  expect(activated.status).toBe(200);
  return activated.body;
}

const liveOf = (status: Json, role: string): number => {
  const generation = status.generations.find((g: Json) => g.role === role);
  return generation.live_certificates.connector + generation.live_certificates.tunneler;
};

describe('forced retire', () => {
  let fx: ControlPlaneFixture;
  let fleet: Fleet;

  // Certificates of the default lifetime (hours): nobody renews on their own during the test.
  beforeAll(async () => {
    fx = await startControlPlane({ renewalsPerMinute: 60 });
    fleet = await startFleet(fx);
  }, 60_000);
  afterAll(() => fx.cleanup());

  it('tells the agents still under the old root to renew, then nothing chains to it', async () => {
    const oldRoot = readFileSync(path.join(fx.dataDir, 'runtime-ca.crt'), 'utf8');
    await prepareAndActivate(fx);
    expect(liveOf((await admin(fx, 'GET', 'ca')).body, 'previous')).toBe(2);

    const refused = await admin(fx, 'POST', 'ca/retire');
    expect(refused.status).toBe(409);
    expect(refused.body.reason).toContain('2 live certificate(s) still chain to generation 1');

    const forced = await admin(fx, 'POST', 'ca/retire', { force: true, wait_seconds: 60 });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ forced: true, previous: null, still_stranded: [] });
    expect([...forced.body.told_to_renew].sort()).toEqual([
      'connector edge-1',
      'tunneler laptop-1',
    ]);
    await waitFor('every agent holding the bundle without the old root', () =>
      agentsOf(fleet).every(
        (a) => a.runtime.session.identity.bundleVersion === forced.body.bundle_version,
      ),
    );
    const bundle = fx.controller.trustBundlePem;
    expect(bundle).not.toContain(oldRoot.trim());
    for (const agent of agentsOf(fleet)) {
      expect(() => validateX509Svid(leafOf(agent), oldRoot)).toThrow();
      expect(validateX509Svid(leafOf(agent), bundle).spiffeId).toContain('spiffe://e2e.sigil/');
    }
    expect(fleet.connector.part.control.up).toBe(true);
    expect(fleet.tunneler.part.tunnel.up).toBe(true);
    const audit = (await admin(fx, 'GET', 'audit?limit=200')).body as unknown as Json[];
    const retired = audit.find((r) => r.action === 'admin.ca_retired' && r.outcome === 'success');
    expect(retired?.details).toMatchObject({ forced: true, still_stranded: [] });
  }, 120_000);
});
