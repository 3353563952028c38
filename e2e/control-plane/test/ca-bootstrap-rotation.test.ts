// Bootstrap CA rotation with live agents: a connector and a tunneler that enrolled under the first
// bootstrap CA keep running while `sigil-controller bootstrap-ca rotate` (the built bin, a real
// process) replaces it and the controller restarts; they reconnect (verifying the controller
// through their runtime bundle), heartbeat and renew with zero failed handshakes; a new agent
// enrolls with the new bootstrap CA, and one holding the old one is refused.
import { copyFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { enrollFromConfig } from '@sigil/agent';
import { isSigilError } from '@sigil/errors';
import { spawnBin, waitFor } from '@sigil/testing';
import {
  CA_SUITE_CONTROLLER,
  agentsOf,
  failuresOf,
  registriesOf,
  renewalsOf,
  startFleet,
} from './support/ca-fleet';
import type { Fleet } from './support/ca-fleet';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';

jest.setTimeout(180_000);

const CONTROLLER_MAIN = path.join(
  path.dirname(require.resolve('@sigil/controller/package.json')),
  'dist',
  'main.js',
);

/** Runs `sigil-controller bootstrap-ca rotate` on the fixture's DATA_DIR. */
async function rotateBootstrapCa(fx: ControlPlaneFixture): Promise<string> {
  const bin = spawnBin(CONTROLLER_MAIN, {
    args: ['bootstrap-ca', 'rotate'],
    env: { DATA_DIR: fx.dataDir, TRUST_DOMAIN: 'e2e.sigil', LOG_LEVEL: 'warn' },
  });
  const { code } = await bin.exited;
  const output = [...bin.stdout, ...bin.stderr].join('\n');
  if (code !== 0) throw new Error(`bootstrap-ca rotate exited ${code}:\n${output}`);
  return output;
}

/** The sum of `name` over every agent of the fleet. */
const total = async (fleet: Fleet, name: string): Promise<number> =>
  (await Promise.all(registriesOf(fleet).map((r) => metric(r, name)))).reduce((a, b) => a + b, 0);

describe('bootstrap CA rotation with live agents', () => {
  let fx: ControlPlaneFixture;
  afterAll(async () => {
    await fx?.cleanup();
  });

  it('keeps enrolled agents connected and renewing; new enrollments need the new bootstrap CA', async () => {
    fx = await startControlPlane(CA_SUITE_CONTROLLER);
    const oldCaFile = path.join(fx.scratch, 'old-bootstrap-ca.crt');
    copyFileSync(fx.controller.bootstrapCaPath, oldCaFile);
    const oldCaPem = fx.controller.bootstrapCaPem;
    const fleet = await startFleet(fx, ['laptop-1']);
    const renewalsBefore = await waitFor(
      'a renewal of every agent before the rotation',
      async () => {
        const now = await renewalsOf(fleet);
        return now.every((n) => n >= 1) ? now : undefined;
      },
      30_000,
    );
    const failuresBefore = await failuresOf(fx, fleet);

    const printed = await rotateBootstrapCa(fx);
    expect(printed).toMatch(/the bootstrap CA in .+ is new \(sha256 [0-9A-F:]+\)/i);
    const newCaPem = readFileSync(fx.controller.bootstrapCaPath, 'utf8');
    expect(newCaPem).not.toBe(oldCaPem);
    expect(readFileSync(path.join(fx.dataDir, 'bootstrap-ca.previous.crt'), 'utf8')).toBe(oldCaPem);

    const acksBefore = await total(fleet, 'sigil_agent_heartbeat_acks_total');
    const restartedAt = Date.now();
    await fx.restartController();
    expect(fx.controller.bootstrapCaPem).toBe(newCaPem);
    const served = await fetch(`${fx.controller.adminUrl}/api/admin/bootstrap-ca`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await served.text()).toBe(newCaPem);

    // The enrolled agents (holding only the old bootstrap CA) come back and keep going.
    // The connector's control stream comes back (a tunneler calls the controller only to renew).
    const connector = fleet.connector.runtime.session.metrics.registry;
    await waitFor(
      'the connector to reconnect',
      async () =>
        (await metric(connector, 'sigil_agent_stream_connects_total')) >= 2 &&
        fleet.connector.part.control.up
          ? true
          : undefined,
      30_000,
    );
    const reconnectMs = Date.now() - restartedAt;
    await waitFor('the tunnel', () => fleet.tunnelers[0]!.part.tunnel.up);
    const renewalsAfter = await waitFor(
      '2 renewals of every agent after the restart',
      async () => {
        const now = await renewalsOf(fleet);
        return now.every((n, i) => n >= renewalsBefore[i]! + 2) ? now : undefined;
      },
      40_000,
    );
    const acksAfter = await total(fleet, 'sigil_agent_heartbeat_acks_total');
    expect(acksAfter).toBeGreaterThan(acksBefore);
    for (const agent of agentsOf(fleet))
      expect(agent.runtime.session.identity.controllerCaPem.trim()).toBe(oldCaPem.trim());

    // A new agent enrolls with the new bootstrap CA (CONTROLLER_CA_PATH is DATA_DIR's file).
    const newcomer = await fx.startConnector(await fx.enrollEnv('connector', 'edge-2'), true);
    await waitFor('the new connector', () => newcomer.part.control.up);

    // One holding the old bootstrap CA is refused, naming the file.
    const stale = await fx.enrollEnv('connector', 'edge-3', {
      env: { CONTROLLER_CA_PATH: oldCaFile },
    });
    const refusal = await enrollFromConfig(
      fx.runtime(fx.config('connector', 'enroll', stale, true)),
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isSigilError(refusal, 'ERR_CONTROLLER_UNTRUSTED')).toBe(true);
    expect((refusal as Error).message).toContain(
      `does not verify against CONTROLLER_CA_PATH ${oldCaFile}`,
    );

    const failuresAfter = await failuresOf(fx, fleet);
    console.log(
      `bootstrap CA rotated with ${agentsOf(fleet).length} agents live: reconnected ${reconnectMs} ms after the restart began; ` +
        `renewals ${JSON.stringify(renewalsBefore)} -> ${JSON.stringify(renewalsAfter)}; ` +
        `heartbeat acks ${acksBefore} -> ${acksAfter}; failed handshakes/validations ${failuresBefore} before, ${failuresAfter} after`,
    );
    expect(failuresBefore).toBe(0);
    expect(failuresAfter).toBe(0);
  });
});
