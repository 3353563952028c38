import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertFreshBuild,
  enrollConnector,
  openTcp,
  openTls,
  spawnController,
  startHeartbeats,
} from './support/hostile-peers';
import type { ControllerProcess } from './support/hostile-peers';

/** Milliseconds until `promise` settles, and its value. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await promise;
  return { ms: Date.now() - started, value };
}

describe('handshake admission control (CONTROLLER_MAX_CONCURRENT_HANDSHAKES, the built controller)', () => {
  let dataDir: string;
  let controller: ControllerProcess;

  beforeAll(async () => {
    assertFreshBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-hardening-handshakes-'));
    controller = await spawnController(dataDir, { CONTROLLER_MAX_CONCURRENT_HANDSHAKES: '2' });
  });
  afterAll(async () => {
    await controller?.bin.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('queues a handshake behind the two turns held by silent peers, and stalled peers delay it by about one turn (1 s), not the 10 s handshake timeout', async () => {
    const silent = await Promise.all([
      openTcp(controller.grpcPort, '127.0.0.21'),
      openTcp(controller.grpcPort, '127.0.0.21'),
    ]);
    const queued = await timed(openTls(controller.grpcPort, controller.caPem, '127.0.0.22'));
    // Without admission control the handshake takes milliseconds; without the one-second turn it
    // waits until the silent peers' handshake timeout (10 s) closes them.
    expect(queued.ms).toBeGreaterThanOrEqual(800);
    expect(queued.ms).toBeLessThan(5000);
    queued.value.destroy();
    for (const socket of silent) socket.destroy();
  }, 30_000);

  it('completes every handshake of a burst of 40, in turns, while an agent keeps heartbeating', async () => {
    const agent = startHeartbeats(controller, await enrollConnector(controller, 'burst-1'), 200);
    while (agent.acks() === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const before = agent.acks();
    const burst = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        openTls(controller.grpcPort, controller.caPem, `127.0.0.${30 + (i % 4)}`),
      ),
    );
    expect(burst.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const r of burst) if (r.status === 'fulfilled') r.value.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(agent.acks()).toBeGreaterThan(before + 2);
    expect(agent.longestGapMs()).toBeLessThan(3000);
    agent.stop();
  }, 60_000);

  it('resumes no TLS session: a connector offering its previous session gets a full handshake, its certificate verified again', async () => {
    const identity = await enrollConnector(controller, 'resume-1');
    const agent = { cert: identity.chainPem, key: identity.keyPem };
    const first = await openTls(controller.grpcPort, controller.caPem, '127.0.0.1', agent);
    let ticket: Buffer | undefined;
    first.on('session', (session: Buffer) => (ticket = session));
    // TLS 1.3 tickets follow the handshake; give them time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const offered = ticket ?? first.getSession();
    first.destroy();
    expect(offered).toBeDefined();
    const second = await openTls(controller.grpcPort, controller.caPem, '127.0.0.1', {
      ...agent,
      session: offered,
    });
    expect(second.isSessionReused()).toBe(false);
    expect(second.authorized).toBe(true);
    second.destroy();
  }, 30_000);
});
