// The controller's store goes away under real agents: a private PostgreSQL really stopped and
// started (never the machine's shared one), and the embedded SQLite store on a full disk (a
// 1 MiB tmpfs). The admin API answers 503 with a reason and Retry-After, /readyz names the
// store, sigil_controller_store_up says 0, enrollment and renewal answer "unavailable, retry"
// (an agent enrolling meanwhile waits and succeeds, it never exits 2), and every certificate an
// agent received has its audit record once the store is back.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startPrivatePostgres, waitFor } from '@sigil/testing';
import type { BinProcess, PrivatePostgres } from '@sigil/testing';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(180_000);

const admin = (fx: ControlPlaneFixture, route: string, init: RequestInit = {}) =>
  fetch(`${fx.controller.adminUrl}/api/admin${route}`, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });

const createToken = (fx: ControlPlaneFixture, id: string) =>
  admin(fx, '/tokens', { method: 'POST', body: JSON.stringify({ kind: 'connector', id }) });

/** Every serial an agent process was handed (enrollment and renewals), from its log on either stream. */
const serialsOf = (agent: BinProcess): string[] =>
  [...agent.stdout, ...agent.stderr]
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === 'agent.enrolled' || r.event === 'renewal.completed')
    .map((r) => String(r.serial));

/** The admin API while the store is down: 503, a problem body naming the store, Retry-After. */
async function expectUnavailable(
  fx: ControlPlaneFixture,
  dialect: string,
  { readsFail }: { readsFail: boolean },
): Promise<void> {
  const created = await createToken(fx, 'during-outage');
  expect(created.status).toBe(503);
  expect(created.headers.get('retry-after')).toBe('5');
  expect(created.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await created.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status: 503, code: 'ERR_STORE_UNAVAILABLE' });
  expect(String(problem.reason)).toMatch(
    new RegExp(`^the controller's store \\(${dialect} at .+\\) is unavailable: .+; retry in 5 s$`),
  );
  // A database that is down serves nothing; a full disk still serves reads.
  for (const route of ['/audit', '/summary']) {
    const res = await admin(fx, route);
    expect([route, res.status]).toEqual([route, readsFail ? 503 : 200]);
    if (readsFail) expect(res.headers.get('retry-after')).toBe('5');
  }
  const ready = await fetch(`${fx.controller.adminUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({
    status: 'not ready',
    store: { dialect, up: false, reason: expect.any(String), downSince: expect.any(String) },
  });
  expect(await metric(fx.controller.metrics, 'sigil_controller_store_up', { dialect })).toBe(0);
  expect(fx.lines.filter((l) => l.includes('"event":"store.unavailable"'))).toHaveLength(1);
}

/** Back to normal: 200s, the gauge 1, `store.recovered` logged. */
async function expectRecovered(fx: ControlPlaneFixture, dialect: string): Promise<void> {
  await waitFor(
    'the store to be seen back',
    async () => (await fetch(`${fx.controller.adminUrl}/readyz`)).status === 200,
    30_000,
  );
  expect(await metric(fx.controller.metrics, 'sigil_controller_store_up', { dialect })).toBe(1);
  expect(fx.lines.some((l) => l.includes('"event":"store.recovered"'))).toBe(true);
  expect((await createToken(fx, 'after-outage')).status).toBe(201);
}

/** No certificate an agent holds lacks its audit record (enrollment.succeeded or renewal.succeeded). */
async function expectAudited(fx: ControlPlaneFixture, serials: string[]): Promise<void> {
  const records = await fx.controller.store.listAudit({ limit: 1000 });
  const audited = new Set(
    records
      .filter((r) => r.action === 'enrollment.succeeded' || r.action === 'renewal.succeeded')
      .map((r) => String(r.details.serial)),
  );
  expect(serials.length).toBeGreaterThan(0);
  expect(serials.filter((serial) => !audited.has(serial))).toEqual([]);
}

describe('the controller with its PostgreSQL stopped and started again', () => {
  let pg: PrivatePostgres;
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    fx = await startControlPlane({ databaseUrl: pg.url, postgresSchema: 'faults_outage' });
  });
  afterAll(async () => {
    await killAll();
    await fx?.cleanup();
    await pg?.close();
  });

  it('answers unavailable-retry throughout, loses no enrollment and audits every certificate', async () => {
    const running = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await fx.enrollEnv('connector', 'steady'),
    );
    await running.next('stream.connected', 60_000);
    // A token created before the outage, redeemed during it.
    const late = await fx.enrollEnv('connector', 'late');

    await pg.stop();
    const renewalsBefore = running.records.filter((r) => r.event === 'renewal.completed').length;
    await fx.controller.requestRenewal('steady').catch(() => undefined);
    const enrolling = spawnAgent('connector', ['enroll'], { ...late, LOG_LEVEL: 'info' });
    // `enroll` logs to standard error (standard output carries its result).
    await waitFor(
      'the enrolling agent to be told "unavailable, retry"',
      () => enrolling.stderr.some((l) => l.includes('"event":"enroll.controller_unavailable"')),
      60_000,
    );
    await running.next(
      (r) => r.event === 'renewal.failed' && /UNAVAILABLE/.test(String(r.reason)),
      60_000,
    );
    await expectUnavailable(fx, 'postgres', { readsFail: true });

    await pg.start();
    await expectRecovered(fx, 'postgres');
    expect(await enrolling.exited).toEqual({ code: 0, signal: null });
    await waitFor(
      'the renewal refused during the outage to succeed',
      () => running.records.filter((r) => r.event === 'renewal.completed').length > renewalsBefore,
      90_000,
    );
    await expectAudited(fx, [...serialsOf(running), ...serialsOf(enrolling)]);
  });
});

describe('the embedded SQLite store on a full disk', () => {
  let fx: ControlPlaneFixture | undefined;
  let mounted = false;
  afterAll(async () => {
    await killAll();
    await fx?.stopController();
    if (mounted) execFileSync('umount', [fx!.dataDir]);
    await fx?.cleanup();
  });

  it('answers 503 while DATA_DIR is full and recovers once space is freed', async () => {
    fx = await startControlPlane();
    // DATA_DIR moves onto a 1 MiB tmpfs: a real ENOSPC, not a mocked one.
    await fx.stopController();
    const saved = path.join(fx.scratch, 'saved-data');
    execFileSync('cp', ['-a', fx.dataDir, saved]);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', fx.dataDir]);
      mounted = true;
    } catch (err) {
      console.warn(`skipped: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    execFileSync('cp', ['-a', `${saved}/.`, fx.dataDir]);
    await fx.startControllerAgain();
    const running = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await fx.enrollEnv('connector', 'steady'),
    );
    await running.next('stream.connected', 60_000);

    // Fill the disk, then write until SQLite finds no room.
    const filler = path.join(fx.dataDir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
    } catch {
      // ENOSPC: the disk is full now (the partial file stays).
    }
    let status = 0;
    for (let i = 0; i < 500 && status !== 503; i += 1)
      status = (await createToken(fx, `filler-${i}`)).status;
    expect(status).toBe(503);
    await expectUnavailable(fx, 'sqlite', { readsFail: false });

    rmSync(filler);
    await expectRecovered(fx, 'sqlite');
    await fx.controller.requestRenewal('steady');
    await running.next('renewal.completed', 60_000);
    await expectAudited(fx, serialsOf(running));
  });
});
