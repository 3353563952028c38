import { closeSync, fsync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';

/** Makes the SQLite store's commits durable off the event loop, see {@link createWalDurability}. */
export interface WalDurability {
  /**
   * Resolves once everything committed so far is on disk: after an fsync of the WAL that began
   * after the last change (at once when that one has already finished).
   */
  afterCommit(): Promise<void>;
  /** Closes the WAL file descriptor (after the last commit). */
  close(): void;
}

/**
 * Durable commits without an fsync on the event loop. The database runs `synchronous = NORMAL`
 * (in WAL mode a commit then writes its frames to the WAL but does not fsync it), and a store
 * operation that changed rows is answered only after `fsync` of the WAL file on libuv's
 * threadpool: what `synchronous = FULL` guarantees (a commit that was answered survives a power
 * cut), while the event loop goes on serving heartbeats during the disk's flush, and commits that
 * arrive during one fsync share the next (a group commit). Checkpoints, every 1,000 WAL pages,
 * still sync on the event loop, as SQLite does them itself.
 *
 * An fsync that fails rejects every operation waiting on it with code `SQLITE_IOERR_FSYNC`, as
 * SQLite reports its own, so the store is shown unavailable and callers are told to retry.
 *
 * @example
 * ```ts
 * db.pragma('journal_mode = WAL');
 * const durability = createWalDurability(db, path);
 * insert.run(row);
 * await durability.afterCommit(); // now answer the caller
 * ```
 */
export function createWalDurability(db: Database.Database, path: string): WalDurability {
  db.pragma('synchronous = NORMAL');
  const walPath = `${path}-wal`;
  // The WAL file exists from the first transaction in WAL mode; SQLite reuses it (same inode)
  // after each checkpoint and removes it only when the last connection closes.
  db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
  const wal = openSync(walPath, 'r');
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  let syncedUpTo = Number(totalChanges.get());
  // The fsync that covers every change counted so far (settled ones stay: awaiting them is free).
  let covering: Promise<void> = Promise.resolve();
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  const fsyncWal = (): Promise<void> =>
    new Promise((resolve, reject) =>
      fsync(wal, (err) => {
        if (err === null) return resolve();
        reject(
          Object.assign(new Error(`SQLITE_IOERR_FSYNC: cannot fsync ${walPath}: ${err.message}`), {
            code: 'SQLITE_IOERR_FSYNC',
            cause: err,
          }),
        );
      }),
    );

  /** An fsync that begins now, or the one queued behind the fsync in flight. */
  const sync = (): Promise<void> => {
    if (inFlight === undefined) {
      inFlight = fsyncWal().finally(() => (inFlight = undefined));
      return inFlight;
    }
    queued ??= inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return sync();
      });
    return queued;
  };

  return {
    afterCommit() {
      const changes = Number(totalChanges.get());
      if (changes !== syncedUpTo) {
        syncedUpTo = changes;
        const started = sync();
        covering = started;
        // After a failed fsync the next operation, whatever it is, tries again.
        started.catch(() => {
          if (covering !== started) return;
          covering = Promise.resolve();
          syncedUpTo = -1;
        });
      }
      return covering;
    },
    close: () => closeSync(wal),
  };
}
