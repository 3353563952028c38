// The registration-entry methods of both stores (schema 5), kept out of the dialect files.
import type Database from 'better-sqlite3';
import type { Pool } from 'pg';
import type { ControllerStore, RegistrationEntryRecord } from './store';

type Row = Record<string, unknown>;
type EntryMethods = Pick<ControllerStore, 'createEntry' | 'listEntries' | 'deleteEntry'>;

const COLUMNS =
  'id, spiffe_id, parent_id, selectors, x509_ttl_seconds, jwt_ttl_seconds, created_at';

function entryFromRow(row: Row): RegistrationEntryRecord {
  return {
    id: String(row.id),
    spiffeId: String(row.spiffe_id),
    parentId: String(row.parent_id),
    selectors: JSON.parse(String(row.selectors)) as string[],
    x509TtlSeconds: Number(row.x509_ttl_seconds),
    jwtTtlSeconds: Number(row.jwt_ttl_seconds),
    createdAt: Number(row.created_at),
  };
}

const params = (e: RegistrationEntryRecord): unknown[] => [
  e.id,
  e.spiffeId,
  e.parentId,
  JSON.stringify(e.selectors),
  e.x509TtlSeconds,
  e.jwtTtlSeconds,
  e.createdAt,
];

/**
 * The entry methods of the SQLite store (statements prepared per call: the table exists only
 * after migration 5).
 *
 * @example
 * ```ts
 * return { ...sqliteEntryMethods(db), dialect: 'sqlite', ... };
 * ```
 */
export function sqliteEntryMethods(db: Database.Database): EntryMethods {
  return {
    async createEntry(entry) {
      const result = db
        .prepare(
          `INSERT INTO registration_entries (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(...params(entry));
      return result.changes === 1;
    },
    async listEntries() {
      return (
        db
          .prepare(`SELECT ${COLUMNS} FROM registration_entries ORDER BY created_at, id`)
          .all() as Row[]
      ).map(entryFromRow);
    },
    async deleteEntry(id) {
      const row = db
        .prepare(`DELETE FROM registration_entries WHERE id = ? RETURNING ${COLUMNS}`)
        .get(id) as Row | undefined;
      return row === undefined ? undefined : entryFromRow(row);
    },
  };
}

/**
 * The entry methods of the PostgreSQL store.
 *
 * @example
 * ```ts
 * return { ...postgresEntryMethods(pool), dialect: 'postgres', ... };
 * ```
 */
export function postgresEntryMethods(pool: Pool): EntryMethods {
  return {
    async createEntry(entry) {
      const { rowCount } = await pool.query(
        `INSERT INTO registration_entries (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        params(entry),
      );
      return rowCount === 1;
    },
    async listEntries() {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM registration_entries ORDER BY created_at, id`,
      );
      return rows.map(entryFromRow);
    },
    async deleteEntry(id) {
      const { rows } = await pool.query(
        `DELETE FROM registration_entries WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      );
      return rows[0] === undefined ? undefined : entryFromRow(rows[0]);
    },
  };
}
