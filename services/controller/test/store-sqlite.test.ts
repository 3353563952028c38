import fs, { mkdtempSync, rmSync, statSync } from 'node:fs';
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

  describe('durable commits without an fsync on the event loop', () => {
    // The real fs.fsync, watched: each call records the file and is held until the test lets it
    // finish (or fail), so what waits for it can be seen.
    let dir: string;
    let store: ControllerStore;
    let held: Array<{ path: string; release: (fail?: Error) => void }>;
    let fsync: jest.SpyInstance;
    const realFsync = fs.fsync;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sigil-store-'));
      store = await createSqliteStore({ path: join(dir, 'controller.db') });
      await store.migrate();
      held = [];
      fsync = jest.spyOn(fs, 'fsync').mockImplementation(((
        fd: number,
        callback: (err: NodeJS.ErrnoException | null) => void,
      ) => {
        const path = fs.readlinkSync(`/proc/self/fd/${fd}`);
        held.push({
          path,
          release: (fail) => (fail ? callback(fail) : realFsync(fd, callback)),
        });
      }) as typeof fs.fsync);
    });
    afterEach(async () => {
      fsync.mockRestore();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const settled = async (promise: Promise<unknown>): Promise<boolean> => {
      let done = false;
      void promise.then(
        () => (done = true),
        () => (done = true),
      );
      await new Promise((resolve) => setImmediate(resolve));
      return done;
    };

    it('answers a write only after an fsync of the WAL file, which runs after the commit', async () => {
      const other = new Database(join(dir, 'controller.db'), { readonly: true });
      try {
        const write = store.setSetting('k', 'v1');
        expect(await settled(write)).toBe(false);
        // Committed (another connection reads it) but not answered: the WAL's fsync is pending.
        expect(other.prepare("SELECT value FROM settings WHERE key = 'k'").pluck().get()).toBe(
          'v1',
        );
        expect(held.map((h) => h.path)).toEqual([join(dir, 'controller.db-wal')]);
        held[0]!.release();
        await expect(write).resolves.toBeUndefined();
      } finally {
        other.close();
      }
    });

    it('shares one fsync among the commits that arrive during another, and reads need none', async () => {
      const first = store.setSetting('k0', 'v');
      await settled(first);
      const rest = Array.from({ length: 20 }, (_, i) => store.setSetting(`k${i + 1}`, 'v'));
      await settled(Promise.all(rest));
      expect(held).toHaveLength(1);
      held[0]!.release();
      await first;
      await new Promise((resolve) => setImmediate(resolve));
      // The twenty committed while the first fsync ran: one more fsync covers them all.
      expect(held).toHaveLength(2);
      held[1]!.release();
      await Promise.all(rest);
      await expect(store.getSetting('k20')).resolves.toBe('v');
      expect(held).toHaveLength(2);
    });

    it('fails the writes a failed fsync covered as an I/O outage naming the WAL, and the next write syncs again', async () => {
      const write = store.setSetting('k', 'v');
      await settled(write);
      held[0]!.release(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
      await expect(write).rejects.toMatchObject({
        code: 'SQLITE_IOERR_FSYNC',
        message: expect.stringContaining(`${join(dir, 'controller.db-wal')}: EIO`),
      });
      const retry = store.setSetting('k', 'v2');
      await settled(retry);
      expect(held).toHaveLength(2);
      held[1]!.release();
      await expect(retry).resolves.toBeUndefined();
    });
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
