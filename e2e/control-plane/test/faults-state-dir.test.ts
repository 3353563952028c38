// A real connector whose STATE_DIR stops taking writes: a 64 KiB tmpfs filled up, then the same
// disk remounted read-only. The renewed identity is used at once, the failed write is counted
// (sigil_agent_state_write_failures_total), shown (sigil_agent_identity_persisted 0, /readyz 503
// naming the identity) and retried with backoff until it lands; a restart then runs from it.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readMetric, waitFor } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent, spawnAgent } from './support/processes';

jest.setTimeout(180_000);

/** The serial of the certificate STATE_DIR holds. */
const serialOnDisk = (stateDir: string): string =>
  new X509Certificate(readFileSync(path.join(stateDir, 'tls.crt'))).serialNumber.toLowerCase();

const lastRenewedSerial = (agent: BinProcess): string =>
  String(agent.records.filter((r) => r.event === 'renewal.completed').at(-1)!.serial);

/** Renews now and waits until the agent says it could not write the result. */
async function renewIntoFailure(fx: ControlPlaneFixture, agent: BinProcess): Promise<string> {
  const seen = agent.records.length;
  await fx.controller.requestRenewal('disk');
  await waitFor(
    'a renewal whose write failed',
    () => agent.records.slice(seen).some((r) => r.event === 'identity.persist_failed'),
    60_000,
  );
  return lastRenewedSerial(agent);
}

/** What the agent's own endpoint says while STATE_DIR is behind. */
async function expectNotPersisted(url: string, stateDir: string, reason: RegExp): Promise<void> {
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({
    status: 'not ready',
    identity: { persisted: false, stateDir, reason: expect.stringMatching(reason) },
  });
  expect(await readMetric(url, 'sigil_agent_identity_persisted')).toBe(0);
  expect(await readMetric(url, 'sigil_agent_state_write_failures_total')).toBeGreaterThan(0);
}

describe('a connector whose STATE_DIR fills up or turns read-only', () => {
  let fx: ControlPlaneFixture;
  let disk: string | undefined;
  beforeAll(async () => {
    fx = await startControlPlane();
  });
  afterAll(async () => {
    await killAll();
    if (disk !== undefined) execFileSync('umount', [disk]);
    await fx.cleanup();
  });

  it('keeps the renewed identity in use, reports it, and writes it once the disk takes writes', async () => {
    disk = path.join(fx.scratch, 'state-disk');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', disk]);
    } catch (err) {
      const why = (err as Error).message.split('\n')[0];
      disk = undefined;
      console.warn(`skipped: cannot mount a tmpfs (${why})`);
      return;
    }
    const env = { ...(await fx.enrollEnv('connector', 'disk')), STATE_DIR: disk };
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const agent = spawnAgent('connector', ['run'], { ...env, ENROLLMENT_TOKEN: undefined });
    const started = await agent.next('agent.started', 60_000);
    const url = String(started.httpUrl);
    await agent.next('stream.connected', 60_000);

    // Full: ENOSPC.
    const filler = path.join(disk, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(128 * 1024));
    } catch {
      // The disk is full now (the partial file stays).
    }
    const renewedOnFull = await renewIntoFailure(fx, agent);
    expect(serialOnDisk(disk)).not.toBe(renewedOnFull);
    await expectNotPersisted(url, disk, /ENOSPC|no space/i);
    rmSync(filler);
    await agent.next('identity.persisted', 90_000);
    expect(serialOnDisk(disk)).toBe(renewedOnFull);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await readMetric(url, 'sigil_agent_identity_persisted')).toBe(1);

    // Read-only: EROFS (root ignores file modes, a read-only mount it cannot).
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const renewedOnReadOnly = await renewIntoFailure(fx, agent);
    await expectNotPersisted(url, disk, /EROFS|read-only/i);
    execFileSync('mount', ['-o', 'remount,rw', disk]);
    await waitFor(
      'the second failed write to land',
      () => agent.records.filter((r) => r.event === 'identity.persisted').length === 2,
      90_000,
    );
    expect(serialOnDisk(disk)).toBe(renewedOnReadOnly);

    // A restart runs from what STATE_DIR holds: the identity the controller honours.
    await agent.stop();
    const again = spawnAgent('connector', ['run'], { ...env, ENROLLMENT_TOKEN: undefined });
    await again.next('stream.connected', 60_000);
  });
});
