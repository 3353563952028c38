import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/store/sqlite-store';
import type { ControllerStore } from '../src/store/store';
import Database from 'better-sqlite3';
import { describeStoreContract, expectAdminAuthWritesAtomic } from './support/store-contract';
import type { StoreFixture } from './support/store-contract';

async function sqliteFixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
  const path = join(dir, 'controller.db');
  let current: ControllerStore = await createSqliteStore({ path });
  return {
    store: current,
    async reopen() {
      await current.close();
      current = await createSqliteStore({ path });
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeStoreContract('SQLite (embedded, temp dir)', sqliteFixture);

describe('SQLite store specifics', () => {
  it('changes a password and removes a user in one transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
    const path = join(dir, 'controller.db');
    const store = await createSqliteStore({ path });
    const other = new Database(path);
    try {
      await store.migrate();
      await expectAdminAuthWritesAtomic(store, async (table) => {
        other.exec(
          `CREATE TRIGGER refuse_${table} BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, 'refused by test'); END`,
        );
      });
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the database file 0600, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
    const store = await createSqliteStore({ path: join(dir, 'controller.db') });
    try {
      await store.migrate();
      expect(statSync(join(dir, 'controller.db')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'controller.db-wal')).isFile()).toBe(true);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redeems atomically across two connections to the same file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
    const a = await createSqliteStore({ path: join(dir, 'controller.db') });
    const b = await createSqliteStore({ path: join(dir, 'controller.db') });
    try {
      await a.migrate();
      await a.createToken({
        tokenHash: 'h',
        kind: 'connector',
        agentId: 'c1',
        createdAt: 0,
        expiresAt: 10_000,
      });
      const base = {
        tokenHash: 'h',
        kind: 'connector' as const,
        agentId: 'c1',
        now: 1,
        certificateChainPem: 'C',
        certificateNotAfter: 5_000,
        privateIp: '',
        version: '',
      };
      const audit = {
        at: 1,
        action: 'enrollment.succeeded',
        outcome: 'success' as const,
        actor: 'a',
        subject: 's',
        details: {},
      };
      const results = await Promise.all([
        a.redeemToken({ ...base, publicKeySha256: 'k1', certificateSerial: 's1', audit }),
        b.redeemToken({ ...base, publicKeySha256: 'k2', certificateSerial: 's2', audit }),
      ]);
      expect(results.map((r) => r.outcome).sort()).toEqual(['redeemed', 'refused']);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file when it cannot be opened', async () => {
    await expect(
      createSqliteStore({ path: '/nonexistent-dir/controller.db' }),
    ).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: expect.stringContaining('/nonexistent-dir/controller.db'),
    });
  });
});
