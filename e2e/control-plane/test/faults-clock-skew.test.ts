// Real sigil-connector and sigil-tunneler processes whose clock is minutes behind the
// controller's (libfaketime, `apt-get install faketime`): they enroll and run, because the
// controller back-dates what it issues and the agents tolerate skew checking it; the controller
// measures the skew and reports it in the admin API, as a metric and as a warning.
import { existsSync } from 'node:fs';
import { waitFor } from '@sigil/testing';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(120_000);

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** An agent clock 3 minutes behind the controller's. */
const BEHIND = { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-180s', FAKETIME_DONT_RESET: '1' };

async function adminList(fx: ControlPlaneFixture, kind: 'connectors' | 'tunnelers') {
  const response = await fetch(`${fx.controller.adminUrl}/api/admin/${kind}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as
    | Array<{ id: string; clock_skew_ms: number | null }>
    | Record<string, Array<{ id: string; clock_skew_ms: number | null }>>;
  return Array.isArray(body) ? body : Object.values(body).find(Array.isArray)!;
}

if (!existsSync(LIBFAKETIME) && process.env.CI === 'true') {
  // A CI machine without libfaketime must not pass by skipping the skew test.
  test('libfaketime is installed (bash scripts/ci-tools.sh installs Debian faketime)', () => {
    throw new Error(`${LIBFAKETIME} is missing: run bash scripts/ci-tools.sh`);
  });
}

(existsSync(LIBFAKETIME) ? describe : describe.skip)(
  'agents 3 minutes behind the controller',
  () => {
    let fx: ControlPlaneFixture;
    beforeAll(async () => {
      fx = await startControlPlane();
    });
    afterAll(async () => {
      await killAll();
      await fx.cleanup();
    });

    it('a connector and a tunneler 3 minutes behind enroll, run, and their skew is reported', async () => {
      const connector = spawnAgent('connector', ['run', '--ephemeral'], {
        ...(await fx.enrollEnv('connector', 'slow-clock')),
        ...BEHIND,
      });
      await connector.next('agent.enrolled', 30_000);
      await connector.next('stream.connected', 30_000);
      const { httpUrl } = connector.records.find((r) => r.event === 'agent.started')!;
      const ready = await fetch(`${String(httpUrl)}/readyz`);
      expect(ready.status).toBe(200);

      // Measured at enrollment and on each heartbeat: about -180 000 ms (behind), transit aside.
      await waitFor('the skew in the admin API', async () => {
        const row = (await adminList(fx, 'connectors')).find((c) => c.id === 'slow-clock');
        return row?.clock_skew_ms != null && row.clock_skew_ms < -170_000;
      });
      const row = (await adminList(fx, 'connectors')).find((c) => c.id === 'slow-clock')!;
      expect(row.clock_skew_ms).toBeGreaterThan(-200_000);
      expect(
        await metric(fx.controller.metrics, 'sigil_controller_agent_clock_skew_seconds', {
          kind: 'connector',
        }),
      ).toBeGreaterThan(0);
      const scrape = await (await fetch(`${fx.controller.adminUrl}/metrics`)).text();
      expect(scrape).toMatch(
        /sigil_controller_agent_clock_skew_seconds_bucket\{le="300",kind="connector"\} [1-9]/,
      );
      expect(scrape).toMatch(
        /sigil_controller_agent_clock_skew_seconds_bucket\{le="120",kind="connector"\} 0\n/,
      );
      // One warning when it crosses the threshold, not one per heartbeat.
      const warnings = fx.lines.filter(
        (l) => l.includes('"agent.clock_skew"') && l.includes('slow-clock'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/"clockSkewMs":-1[78]\d{4}/);
      expect(warnings[0]).toContain('behind the controller');

      const edge = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
      await waitFor('the connector stream', () => edge.part.control.up);
      const tunneler = spawnAgent('tunneler', ['run', '--ephemeral'], {
        ...(await fx.enrollEnv('tunneler', 'slow-laptop', {
          connectorId: 'edge-1',
          env: { CONNECTOR_ADDR: `127.0.0.1:${edge.part.port}` },
        })),
        ...BEHIND,
      });
      await tunneler.next('stream.connected', 30_000);
      await waitFor('the tunneler skew in the admin API', async () => {
        const t = (await adminList(fx, 'tunnelers')).find((x) => x.id === 'slow-laptop');
        return t?.clock_skew_ms != null && t.clock_skew_ms < -170_000 && t.clock_skew_ms > -200_000;
      });
      // An agent on time is measured too, close to zero.
      const onTime = (await adminList(fx, 'connectors')).find((c) => c.id === 'edge-1')!;
      expect(Math.abs(onTime.clock_skew_ms ?? Infinity)).toBeLessThan(10_000);
      connector.child.kill('SIGTERM');
      tunneler.child.kill('SIGTERM');
      expect((await connector.exited).code).toBe(0);
    });
  },
);
