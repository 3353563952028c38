// One controller per DATA_DIR on the embedded SQLite store. The lock is SQLite's own: a small
// database `controller.lock` opened with `locking_mode=EXCLUSIVE` whose first write takes the
// EXCLUSIVE lock and keeps it until the connection closes. SQLite locks with POSIX advisory
// record locks (fcntl), which the kernel drops when the process dies however it dies (SIGKILL
// included), so a crashed controller never leaves a stale lock behind, and no pid or start time
// has to be trusted. SQLite also enforces the lock between connections of one process.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SigilError } from '@sigil/errors';
import { ensurePrivateDirectory } from '@sigil/pki';

/** The lock database under DATA_DIR. */
export const DATA_DIR_LOCK_FILE = 'controller.lock';

/** The held lock of {@link lockDataDir}. */
export interface DataDirLock {
  /** Where the lock is held. */
  readonly path: string;
  /** Releases the lock (the process exiting releases it too). */
  release(): void;
}

/**
 * Takes the exclusive lock on `dataDir` for this process's lifetime, or throws
 * `ERR_DATA_DIR_LOCKED` naming `DATA_DIR` when another controller holds it: the embedded SQLite
 * store serves one replica; replicas run on PostgreSQL (`DATABASE_URL`).
 *
 * @example
 * ```ts
 * const lock = lockDataDir('/var/lib/sigil');
 * // ... run the controller on $DATA_DIR/controller.db
 * lock.release();
 * ```
 */
export function lockDataDir(dataDir: string): DataDirLock {
  ensurePrivateDirectory(dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  let db: Database.Database | undefined;
  try {
    closeSync(openSync(path, 'a', 0o600));
    db = new Database(path, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = OFF');
    // The first write takes the EXCLUSIVE lock; in this locking mode it is never given back.
    db.exec('BEGIN EXCLUSIVE');
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY, pid INTEGER, since INTEGER)',
    );
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)').run(
      process.pid,
      Date.now(),
    );
    db.exec('COMMIT');
  } catch (cause) {
    db?.close();
    const busy = (cause as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
    if (busy)
      throw new SigilError(
        'ERR_DATA_DIR_LOCKED',
        `DATA_DIR ${dataDir} is in use by another controller (it holds ${path}): the embedded SQLite store serves one replica only; run replicas on PostgreSQL (DATABASE_URL), or give this controller its own DATA_DIR`,
        { cause, details: { file: path } },
      );
    throw new SigilError(
      'ERR_DATA_DIR_UNUSABLE',
      `cannot lock DATA_DIR ${dataDir} (${path}): ${(cause as Error).message}`,
      { cause, details: { file: path } },
    );
  }
  const held = db;
  return {
    path,
    release: () => {
      if (held.open) held.close();
    },
  };
}
