// Backing up the controller's store while it runs, losing it, and restoring it, as
// docs/operations.md tells: SQLite with `sqlite3 controller.db ".backup FILE"` (the online backup
// API), PostgreSQL with `pg_dump -Fc` and `pg_restore`. A connector enrolled before the backup
// and renewed after it carries on against the restored controller: it reconnects, is seen, and
// renews; what the backup held (a pending token) is back, what came after it is not.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { enrollFromConfig } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';

jest.setTimeout(120_000);

const POSTGRES_URL =
  process.env.SIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const database = `sigil_restore_${process.pid}_${randomBytes(4).toString('hex')}`;
const databaseUrl = (() => {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

/** Runs `sql` on the server's maintenance connection. */
async function onServer(sql: string): Promise<void> {
  const db = new Client({ connectionString: POSTGRES_URL });
  await db.connect();
  try {
    await db.query(sql);
  } finally {
    await db.end();
  }
}

interface Store {
  name: string;
  options: { databaseUrl?: string };
  setUp(): Promise<void>;
  /** Backs the store up while the controller runs. */
  backUp(fx: ControlPlaneFixture, file: string): void;
  /** Destroys the store (the controller is stopped). */
  destroy(fx: ControlPlaneFixture): Promise<void>;
  restore(fx: ControlPlaneFixture, file: string): Promise<void>;
  tearDown(): Promise<void>;
}

const sqliteFile = (fx: ControlPlaneFixture): string => path.join(fx.dataDir, 'controller.db');

const stores: Store[] = [
  {
    name: 'SQLite: sqlite3 .backup',
    options: {},
    setUp: async () => undefined,
    backUp: (fx, file) => execFileSync('sqlite3', [sqliteFile(fx), `.backup '${file}'`]),
    async destroy(fx) {
      for (const suffix of ['', '-wal', '-shm'])
        rmSync(`${sqliteFile(fx)}${suffix}`, { force: true });
    },
    restore: async (fx, file) => copyFileSync(file, sqliteFile(fx)),
    tearDown: async () => undefined,
  },
  ...(process.env.SIGIL_SKIP_POSTGRES === '1'
    ? []
    : [
        {
          name: 'PostgreSQL: pg_dump -Fc, pg_restore',
          options: { databaseUrl },
          setUp: () => onServer(`CREATE DATABASE ${database}`),
          backUp: (_fx: ControlPlaneFixture, file: string) =>
            execFileSync('pg_dump', ['--format=custom', `--file=${file}`, databaseUrl]),
          destroy: () => onServer(`DROP DATABASE ${database} WITH (FORCE)`),
          async restore(_fx: ControlPlaneFixture, file: string) {
            await onServer(`CREATE DATABASE ${database}`);
            execFileSync('pg_restore', ['--exit-on-error', `--dbname=${databaseUrl}`, file]);
          },
          tearDown: () => onServer(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
        },
      ]),
];

describe.each(stores.map((s) => [s.name, s] as const))(
  'backup and restore (%s)',
  (_name, store) => {
    let fx: ControlPlaneFixture | undefined;
    beforeAll(() => store.setUp());
    afterAll(async () => {
      await fx?.cleanup();
      await store.tearDown();
    });

    it('the connector carries on against the restored store', async () => {
      fx = await startControlPlane(store.options);
      const env = await fx.enrollEnv('connector', 'edge-1');
      await enrollFromConfig(fx.runtime(fx.config('connector', 'enroll', env)));
      const connector = await fx.startConnector({ ...env, ENROLLMENT_TOKEN: undefined });
      await waitFor('the connector connected', () =>
        fx!.controller.listConnectors().find((c) => c.id === 'edge-1' && c.connected),
      );
      await fx.controller.createEnrollmentToken({ kind: 'connector', id: 'in-backup' });

      const file = path.join(fx.scratch, 'controller.backup');
      store.backUp(fx, file);
      // After the backup: a token (lost by the restore) and a renewal (its lineage too).
      await fx.controller.createEnrollmentToken({ kind: 'connector', id: 'after-backup' });
      // Certificates carry whole seconds: renew once the stored lineage is two seconds old (in
      // practice a backup is hours older than the renewals after it).
      const { updatedAt } = (await fx.controller.store.getLineage('connector', 'edge-1'))!;
      await waitFor('the lineage two seconds old', () => Date.now() > updatedAt + 2000);
      await connector.runtime.session.renewNow();

      await fx.stopController();
      await store.destroy(fx);
      await store.restore(fx, file);
      const stoppedAt = Date.now();
      await fx.startControllerAgain();

      await waitFor('the connector connected to the restored controller', () =>
        fx!.controller
          .listConnectors()
          .find((c) => c.id === 'edge-1' && c.connected && (c.lastSeen ?? 0) > stoppedAt),
      );
      expect((await fx.controller.listEnrollmentTokens()).map((t) => t.agentId)).toEqual([
        'in-backup',
      ]);
      // Its certificate (issued after the backup) was adopted as the latest, and it renews.
      expect(
        await fx.controller.store.listAudit({ action: 'controlplane.lineage_restored', limit: 10 }),
      ).not.toEqual([]);
      const renewedBefore = (
        await fx.controller.store.listAudit({ action: 'renewal.succeeded', limit: 100 })
      ).length;
      await connector.runtime.session.renewNow();
      expect(
        (await fx.controller.store.listAudit({ action: 'renewal.succeeded', limit: 100 })).length,
      ).toBe(renewedBefore + 1);
    });
  },
);
