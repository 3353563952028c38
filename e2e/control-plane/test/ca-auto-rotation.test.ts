// CA_AUTO_ROTATE with a runtime CA of seconds: the controller prepares the successor at half-life,
// activates once the live agents acknowledged it, retires the old root once their certificates
// renewed, twice over, with a connector and two tunnelers live and nothing failing.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { validateX509Svid } from '@sigil/pki';
import { waitFor } from '@sigil/testing';
import {
  adminRequest,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';
import {
  agentsOf,
  expectNoLostHeartbeats,
  failuresOf,
  renewalsOf,
  startFleet,
  type Fleet,
} from './support/ca-fleet';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CA_TTL_SECONDS = 20;

describe('automatic runtime CA rotation (CA_AUTO_ROTATE)', () => {
  let fx: ControlPlaneFixture;
  let fleet: Fleet;

  beforeAll(async () => {
    fx = await startControlPlane({
      connectorCertTtlSeconds: 6,
      tunnelerCertTtlSeconds: 4,
      renewalsPerMinute: 60,
      runtimeCaTtlSeconds: CA_TTL_SECONDS,
      caAutoRotate: true,
      caRotateAtFraction: 0.5,
      caAutoRotateIntervalSeconds: 1,
    });
    fleet = await startFleet(fx);
  }, 60_000);
  afterAll(() => fx.cleanup());

  it('prepares at half-life, activates on acknowledgement, retires once drained, twice, with live agents', async () => {
    const firstRoot = readFileSync(path.join(fx.dataDir, 'runtime-ca.crt'), 'utf8');
    const initial = (await adminRequest<Json>(fx, 'GET', 'ca')).body;
    const first = initial.generations[0];
    // The next rotation is due at half of generation 1's lifetime in the trust state.
    const due = await metric(
      fx.controller.metrics,
      'sigil_controller_ca_next_rotation_timestamp_seconds',
    );
    const lifetime = Date.parse(first.not_after) - Date.parse(first.created_at);
    expect(lifetime).toBeLessThanOrEqual(CA_TTL_SECONDS * 1000);
    expect(due).toBe(Math.floor((Date.parse(first.created_at) + lifetime / 2) / 1000));
    const start = await renewalsOf(fleet);

    // Generation 3 current and nothing else in the bundle: two full rotations.
    const done = await waitFor(
      'two automatic rotations',
      async () => {
        const { body } = await adminRequest<Json>(fx, 'GET', 'ca');
        return body.generations.length === 1 && body.generations[0].generation >= 3
          ? body
          : undefined;
      },
      90_000,
    );
    // Rotation goes on (generation 3 reaches its half-life 10 s later): hold agents to at least
    // the bundle that ended the second rotation, not to exactly it.
    await waitFor('every agent holding the latest bundle', () =>
      agentsOf(fleet).every((a) => a.runtime.session.identity.bundleVersion >= done.bundle_version),
    );
    const end = await renewalsOf(fleet);

    expect(await failuresOf(fx, fleet)).toBe(0);
    const heartbeats = await expectNoLostHeartbeats(fleet);
    const bundle = fx.controller.trustBundlePem;
    expect(bundle).not.toContain(firstRoot.trim());
    for (const agent of agentsOf(fleet)) {
      const chain = agent.runtime.session.identity.certificateChainPem;
      expect(() => validateX509Svid(chain, firstRoot)).toThrow();
      expect(validateX509Svid(chain, bundle).spiffeId).toContain('spiffe://e2e.sigil/');
    }
    expect(fleet.connector.part.control.up).toBe(true);
    for (const t of fleet.tunnelers) expect(t.part.tunnel.up).toBe(true);

    // Each step audited as the automatic rotation's, activation on acknowledgement.
    const audit = (await adminRequest<Json[]>(fx, 'GET', 'audit?limit=500')).body;
    const steps = audit
      .filter((r) => r.actor === 'auto-rotation' && r.outcome === 'success')
      .map((r) => r.action);
    for (const action of ['admin.ca_prepared', 'admin.ca_activated', 'admin.ca_retired'])
      expect(steps.filter((a) => a === action).length).toBeGreaterThanOrEqual(2);
    const activations = audit.filter(
      (r) => r.actor === 'auto-rotation' && r.action === 'admin.ca_activated',
    );
    for (const a of activations) expect(a.details.basis).toBe('acknowledged');
    expect(
      await metric(fx.controller.metrics, 'sigil_controller_ca_auto_rotation_steps_total', {
        step: 'retire',
      }),
    ).toBeGreaterThanOrEqual(2);
    // The gauge follows the current generation (read together, as a third rotation may be under way).
    const current = await waitFor(
      'the rotation gauge matching the current generation',
      async () => {
        const { body } = await adminRequest<Json>(fx, 'GET', 'ca');
        const gen = body.generations.find((g: Json) => g.role === 'current');
        const due = await metric(
          fx.controller.metrics,
          'sigil_controller_ca_next_rotation_timestamp_seconds',
        );
        const expected = Math.floor(
          (Date.parse(gen.created_at) +
            (Date.parse(gen.not_after) - Date.parse(gen.created_at)) / 2) /
            1000,
        );
        return due === expected ? gen : undefined;
      },
    );
    console.log(
      JSON.stringify({
        generation: current.generation,
        renewals: end.map((n, i) => n - start[i]!),
        heartbeats,
        failures: 0,
      }),
    );
  }, 150_000);
});
