import { Pool } from 'pg';
import type { PoolClient } from 'pg';
import { SigilError } from '@sigil/errors';
import { redactUrl } from '../config';
import { createAdminAuthStore } from './admin-auth-store';
import { postgresEntryMethods } from './entries-store';
import { MIGRATIONS, MIGRATIONS_TABLE } from './migrations';
import {
  auditFromRow,
  connectorFromRow,
  LINEAGE_COLUMNS,
  lineageFromRow,
  lineageParams,
  revocationFromRow,
  TOKEN_COLUMNS,
  tokenFromRow,
  tunnelerFromRow,
} from './rows';
import { outcomeOfLostRedemption } from './store';
import { createPolicyStore, toPostgresPlaceholders } from './policy-store';
import type {
  AuditRecord,
  CertificateLineage,
  ControllerStore,
  NewAuditRecord,
  RedemptionResult,
} from './store';
import { createIssuedCertificateStatements, createTrustStore } from './trust-store';
import { createReplicaStore } from './replica-store';
import { createPostgresReplicaLink } from './postgres-replica-link';

/** Options for {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:5432/database` (the `DATABASE_URL`). */
  connectionString: string;
  /** Use this schema (created if missing) instead of the connection's default search_path. */
  schema?: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection before failing, in ms. Default 5000. */
  connectTimeoutMs?: number;
}

/** Serialises migrations between controllers sharing one database. */
const MIGRATION_LOCK_KEY = 0x5_16_11;

/**
 * Opens the PostgreSQL store: a connection pool, checked with one query so an unreachable
 * database fails at start with `ERR_STORE_UNAVAILABLE` naming the (password-redacted) URL. Call
 * `migrate()` before use.
 *
 * @example
 * ```ts
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 * ```
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<ControllerStore> {
  const location = redactUrl(options.connectionString);
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `PostgreSQL schema "${options.schema}" must be a lower-case identifier`,
      { details: { schema: options.schema } },
    );
  }
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    if (options.schema !== undefined)
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new SigilError(
      'ERR_STORE_UNAVAILABLE',
      `cannot use PostgreSQL at ${location}: ${(cause as Error).message}`,
      { cause, details: { database: location } },
    );
  }

  async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A checked-out client has no pool listener: a connection lost mid-transaction (PostgreSQL
    // stopped) must fail the transaction, not crash the process, and the client is discarded.
    let lost: Error | undefined;
    const onError = (err: Error): void => {
      lost = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }

  async function appendAudit(
    client: Pick<PoolClient, 'query'>,
    record: NewAuditRecord,
  ): Promise<AuditRecord> {
    const { rows } = await client.query(
      'INSERT INTO audit_log (at, action, outcome, actor, subject, details) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [
        record.at,
        record.action,
        record.outcome,
        record.actor,
        record.subject,
        JSON.stringify(record.details),
      ],
    );
    return auditFromRow(rows[0]);
  }

  /** The compare-and-set of replaceLineage on `client` (the pool, or a transaction's client). */
  async function replaceLineageWith(
    client: Pick<PoolClient, 'query'>,
    next: CertificateLineage,
    expectedCurrentSerial: string | undefined,
  ): Promise<boolean> {
    const params = lineageParams(next);
    if (expectedCurrentSerial === undefined) {
      const inserted = await client.query(
        `INSERT INTO agent_certificates (${LINEAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (kind, agent_id) DO NOTHING`,
        params,
      );
      return inserted.rowCount === 1;
    }
    // One conditional UPDATE: of two racing renewals from the same certificate, one matches.
    const updated = await client.query(
      `UPDATE agent_certificates SET current_serial = $3, current_not_after = $4, current_presented = $5,
         previous_serial = $6, previous_until = $7, updated_at = $8
       WHERE kind = $1 AND agent_id = $2 AND current_serial = $9`,
      [...params, expectedCurrentSerial],
    );
    return updated.rowCount === 1;
  }

  async function appliedVersions(client: Pick<PoolClient, 'query'>): Promise<number[]> {
    const { rows } = await client.query(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`);
    return rows.map((r: { version: unknown }) => Number(r.version));
  }

  const query = async (sql: string, params: readonly unknown[]) =>
    (await pool.query(toPostgresPlaceholders(sql), [...params])).rows as Array<
      Record<string, unknown>
    >;

  const issuedStatements = createIssuedCertificateStatements();
  let closed = false;
  return {
    ...postgresEntryMethods(pool),
    ...createTrustStore('postgres', query, issuedStatements),
    ...createReplicaStore(query),
    dialect: 'postgres',
    location,
    replicaLink: (events) =>
      createPostgresReplicaLink({
        connectionString: options.connectionString,
        ...(options.schema === undefined ? {} : { schema: options.schema }),
        ...events,
      }),
    async migrate() {
      const now: number[] = [];
      for (const migration of MIGRATIONS) {
        const ran = await inTransaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
          if ((await appliedVersions(client)).includes(migration.version)) return false;
          await client.query(migration.postgres);
          await client.query(
            `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`,
            [migration.version, migration.name, Date.now()],
          );
          return true;
        });
        if (ran) now.push(migration.version);
      }
      return now;
    },
    async schemaVersion() {
      const versions = await appliedVersions(pool);
      return versions.length === 0 ? 0 : Math.max(...versions);
    },
    async getSetting(key) {
      const { rows } = await pool.query('SELECT value FROM settings WHERE key = $1', [key]);
      return rows[0] === undefined ? undefined : String(rows[0].value);
    },
    async setSetting(key, value) {
      await pool.query(
        'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, value],
      );
    },
    async createToken(token, audit) {
      const insert = (client: Pick<PoolClient, 'query'>) =>
        client.query(
          'INSERT INTO enrollment_tokens (token_hash, kind, agent_id, connector_id, created_at, expires_at, labels) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [
            token.tokenHash,
            token.kind,
            token.agentId,
            token.connectorId ?? null,
            token.createdAt,
            token.expiresAt,
            JSON.stringify(token.labels ?? []),
          ],
        );
      if (audit === undefined) {
        await insert(pool);
        return;
      }
      await inTransaction(async (client) => {
        await insert(client);
        await appendAudit(client, audit);
      });
    },
    async findToken(tokenHash) {
      const { rows } = await pool.query(
        `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE token_hash = $1`,
        [tokenHash],
      );
      return rows[0] === undefined ? undefined : tokenFromRow(rows[0]);
    },
    async redeemToken(r) {
      return inTransaction(async (client): Promise<RedemptionResult> => {
        // Under READ COMMITTED a concurrent redeemer blocks on the row lock, then re-checks
        // `used_at IS NULL` against the committed row: exactly one UPDATE matches.
        const won = await client.query(
          `UPDATE enrollment_tokens
              SET used_at = $1, public_key_sha256 = $2, certificate_serial = $3, certificate_chain_pem = $4, certificate_not_after = $5
            WHERE token_hash = $6 AND kind = $7 AND agent_id = $8 AND used_at IS NULL AND expires_at > $1
            RETURNING ${TOKEN_COLUMNS}`,
          [
            r.now,
            r.publicKeySha256,
            r.certificateSerial,
            r.certificateChainPem,
            r.certificateNotAfter,
            r.tokenHash,
            r.kind,
            r.agentId,
          ],
        );
        if (won.rowCount !== 1) {
          const { rows } = await client.query(
            `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE token_hash = $1`,
            [r.tokenHash],
          );
          return outcomeOfLostRedemption(
            rows[0] === undefined ? undefined : tokenFromRow(rows[0]),
            r,
          );
        }
        const token = tokenFromRow(won.rows[0]);
        if (r.kind === 'connector') {
          await client.query(
            `INSERT INTO connectors (id, private_ip, version, last_seen, enrolled_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (id) DO UPDATE SET private_ip = excluded.private_ip, version = excluded.version, last_seen = excluded.last_seen, enrolled_at = excluded.enrolled_at`,
            [r.agentId, r.privateIp, r.version, r.now],
          );
        } else {
          await client.query(
            `INSERT INTO tunnelers (id, connector_id, version, last_seen, enrolled_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (id) DO UPDATE SET connector_id = excluded.connector_id, version = excluded.version, last_seen = excluded.last_seen, enrolled_at = excluded.enrolled_at`,
            [r.agentId, token.connectorId ?? '', r.version, r.now],
          );
          await client.query(
            'UPDATE tunnelers SET labels = (SELECT labels FROM enrollment_tokens WHERE token_hash = $1) WHERE id = $2',
            [r.tokenHash, r.agentId],
          );
        }
        await client.query(
          `INSERT INTO agent_certificates (${LINEAGE_COLUMNS}) VALUES ($1, $2, $3, $4, 0, NULL, NULL, $5)
           ON CONFLICT (kind, agent_id) DO UPDATE SET current_serial = excluded.current_serial, current_not_after = excluded.current_not_after,
             current_presented = 0, previous_serial = NULL, previous_until = NULL, updated_at = excluded.updated_at`,
          [r.kind, r.agentId, r.certificateSerial, r.certificateNotAfter, r.now],
        );
        await client.query(
          'UPDATE revocations SET lifted_at = $1 WHERE kind = $2 AND agent_id = $3 AND lifted_at IS NULL',
          [r.now, r.kind, r.agentId],
        );
        await appendAudit(client, r.audit);
        return { outcome: 'redeemed', token };
      });
    },
    async isConnectorKnown(id, now) {
      const { rows } = await pool.query(
        `SELECT 1 FROM connectors WHERE id = $1
         UNION ALL SELECT 1 FROM enrollment_tokens WHERE kind = 'connector' AND agent_id = $1 AND used_at IS NULL AND expires_at > $2
         LIMIT 1`,
        [id, now],
      );
      return rows.length > 0;
    },
    async getLineage(kind, agentId) {
      const { rows } = await pool.query(
        `SELECT ${LINEAGE_COLUMNS} FROM agent_certificates WHERE kind = $1 AND agent_id = $2`,
        [kind, agentId],
      );
      return rows[0] === undefined ? undefined : lineageFromRow(rows[0]);
    },
    async replaceLineage(next, expectedCurrentSerial, audit, issued) {
      if (audit === undefined && issued === undefined)
        return replaceLineageWith(pool, next, expectedCurrentSerial);
      return inTransaction(async (client) => {
        const written = await replaceLineageWith(client, next, expectedCurrentSerial);
        if (written && audit !== undefined) await appendAudit(client, audit);
        if (written && issued !== undefined)
          for (const [sql, params] of issuedStatements(issued))
            await client.query(toPostgresPlaceholders(sql), [...params]);
        return written;
      });
    },
    async markPresented(kind, agentId, serial) {
      await pool.query(
        'UPDATE agent_certificates SET current_presented = 1 WHERE kind = $1 AND agent_id = $2 AND current_serial = $3 AND current_presented = 0',
        [kind, agentId, serial],
      );
    },
    async revokeAgent(r) {
      return inTransaction(async (client) => {
        const { rows } = await client.query(
          'INSERT INTO revocations (kind, agent_id, reason, revoked_at, actor) VALUES ($1, $2, $3, $4, $5) RETURNING *',
          [r.kind, r.agentId, r.reason, r.revokedAt, r.actor],
        );
        await appendAudit(client, r.audit);
        return revocationFromRow(rows[0]);
      });
    },
    async activeRevocations() {
      const { rows } = await pool.query(
        'SELECT * FROM revocations WHERE lifted_at IS NULL ORDER BY id',
      );
      return rows.map(revocationFromRow);
    },
    async listRevocations(limit) {
      const { rows } = await pool.query('SELECT * FROM revocations ORDER BY id DESC LIMIT $1', [
        limit,
      ]);
      return rows.map(revocationFromRow);
    },
    async listPendingTokens(now) {
      const { rows } = await pool.query(
        `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE used_at IS NULL AND expires_at > $1 ORDER BY expires_at, token_hash`,
        [now],
      );
      return rows.map(tokenFromRow);
    },
    async cancelToken(fingerprint, audit) {
      return inTransaction(async (client) => {
        const { rows } = await client.query(
          `DELETE FROM enrollment_tokens WHERE used_at IS NULL AND substr(token_hash, 1, $1) = $2 RETURNING ${TOKEN_COLUMNS}`,
          [fingerprint.length, fingerprint],
        );
        if (rows[0] === undefined) return undefined;
        const cancelled = tokenFromRow(rows[0]);
        if (audit !== undefined) await appendAudit(client, audit(cancelled));
        return cancelled;
      });
    },
    async listConnectors() {
      const { rows } = await pool.query(
        'SELECT id, private_ip, version, last_seen, enrolled_at FROM connectors ORDER BY id',
      );
      return rows.map(connectorFromRow);
    },
    async listTunnelers() {
      const { rows } = await pool.query(
        'SELECT id, connector_id, version, last_seen, enrolled_at FROM tunnelers ORDER BY id',
      );
      return rows.map(tunnelerFromRow);
    },
    async recordActivity(batch) {
      if (batch.connectors.length + batch.tunnelers.length === 0) return;
      await inTransaction(async (client) => {
        if (batch.connectors.length > 0) {
          await client.query(
            `UPDATE connectors c SET last_seen = GREATEST(COALESCE(c.last_seen, 0), u.last_seen), version = u.version, private_ip = u.private_ip
               FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[]) AS u(id, last_seen, version, private_ip)
              WHERE c.id = u.id`,
            [
              batch.connectors.map((c) => c.id),
              batch.connectors.map((c) => c.lastSeen),
              batch.connectors.map((c) => c.version),
              batch.connectors.map((c) => c.privateIp),
            ],
          );
        }
        if (batch.tunnelers.length > 0) {
          await client.query(
            `UPDATE tunnelers t SET last_seen = GREATEST(COALESCE(t.last_seen, 0), u.last_seen), version = u.version
               FROM UNNEST($1::text[], $2::bigint[], $3::text[]) AS u(id, last_seen, version)
              WHERE t.id = u.id`,
            [
              batch.tunnelers.map((t) => t.id),
              batch.tunnelers.map((t) => t.lastSeen),
              batch.tunnelers.map((t) => t.version),
            ],
          );
        }
      });
    },
    async appendAudit(record) {
      return appendAudit(pool, record);
    },
    async listAudit(query) {
      const { rows } = await pool.query(
        `SELECT * FROM audit_log
          WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2)
          ORDER BY id DESC LIMIT $3`,
        [query.beforeId ?? null, query.action ?? null, query.limit],
      );
      return rows.map(auditFromRow);
    },
    async pruneAudit(before) {
      const { rowCount } = await pool.query('DELETE FROM audit_log WHERE at < $1', [before]);
      return rowCount ?? 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
    policy: createPolicyStore(query),
    adminAuth: createAdminAuthStore(query, (statements) =>
      inTransaction(async (client) => {
        const results: Array<Array<Record<string, unknown>>> = [];
        for (const [sql, params] of statements)
          results.push((await client.query(toPostgresPlaceholders(sql), [...params])).rows);
        return results;
      }),
    ),
  };
}
