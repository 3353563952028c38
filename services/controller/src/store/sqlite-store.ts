import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SigilError } from '@sigil/errors';
import { createAdminAuthStore } from './admin-auth-store';
import { sqliteEntryMethods } from './entries-store';
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
import { createPolicyStore } from './policy-store';
import { createIssuedCertificateStatements, createTrustStore } from './trust-store';
import type { IssuedCertificateRecord } from './trust-store';
import { createWalDurability } from './wal-durability';
import type { WalDurability } from './wal-durability';
import { createReplicaStore } from './replica-store';
import type {
  ActivityBatch,
  AuditQuery,
  CertificateLineage,
  NewRevocation,
  AuditRecord,
  ControllerStore,
  EnrollmentTokenRecord,
  NewAuditRecord,
  NewEnrollmentToken,
  RedemptionResult,
  TokenRedemption,
} from './store';

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file (created 0600 if missing), e.g. `$DATA_DIR/controller.db`. */
  path: string;
  /** How long a write waits for another process's lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

type Row = Record<string, unknown>;

/**
 * Opens the embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a write whose
 * promise resolved survives `kill -9` and power loss. Call `migrate()` before use.
 *
 * @example
 * ```ts
 * const store = await createSqliteStore({ path: path.join(dataDir, 'controller.db') });
 * await store.migrate();
 * ```
 */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<ControllerStore> {
  const { path } = options;
  let db: Database.Database;
  let durability: WalDurability;
  try {
    // Create the file ourselves so it (and the -wal/-shm files SQLite derives from it) is 0600.
    closeSync(openSync(path, 'a', 0o600));
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    durability = createWalDurability(db, path);
  } catch (cause) {
    throw new SigilError(
      'ERR_STORE_UNAVAILABLE',
      `cannot open the embedded store ${path}: ${(cause as Error).message}`,
      { cause, details: { file: path } },
    );
  }
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
  );

  const stmt = {
    appliedVersions: db.prepare(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`),
    recordMigration: db.prepare(
      `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
    ),
  };
  // Statements on tables created by migrations are prepared once the schema exists.
  let lazy: ReturnType<typeof prepareSchemaStatements> | undefined;
  const s = (): ReturnType<typeof prepareSchemaStatements> =>
    (lazy ??= prepareSchemaStatements(db));

  const appendAuditSync = (record: NewAuditRecord): AuditRecord => {
    const row = s().appendAudit.get(
      record.at,
      record.action,
      record.outcome,
      record.actor,
      record.subject,
      JSON.stringify(record.details),
    ) as Row;
    return auditFromRow(row);
  };

  // The query texts are the code's own constants, so this holds a fixed handful of statements:
  // preparing one costs about as much as running it.
  const prepared = new Map<string, Database.Statement>();
  const querySync = (sql: string, params: readonly unknown[]): Row[] => {
    let statement = prepared.get(sql);
    if (statement === undefined) prepared.set(sql, (statement = db.prepare(sql)));
    if (statement.reader) return statement.all(...params) as Row[];
    statement.run(...params);
    return [];
  };
  const query = async (sql: string, params: readonly unknown[]): Promise<Row[]> =>
    querySync(sql, params);
  const issuedStatements = createIssuedCertificateStatements();
  const batch = db.transaction(
    (statements: ReadonlyArray<readonly [string, readonly unknown[]]>): Row[][] =>
      statements.map(([sql, params]) => querySync(sql, params)),
  );

  const redeem = db.transaction((r: TokenRedemption): RedemptionResult => {
    const won = s().redeem.get(
      r.now,
      r.publicKeySha256,
      r.certificateSerial,
      r.certificateChainPem,
      r.certificateNotAfter,
      r.tokenHash,
      r.kind,
      r.agentId,
      r.now,
    ) as Row | undefined;
    if (won === undefined) {
      const row = s().findToken.get(r.tokenHash) as Row | undefined;
      return outcomeOfLostRedemption(row === undefined ? undefined : tokenFromRow(row), r);
    }
    const token = tokenFromRow(won);
    if (r.kind === 'connector')
      s().upsertConnector.run(r.agentId, r.privateIp, r.version, r.now, r.now);
    else s().upsertTunneler.run(r.agentId, token.connectorId ?? '', r.version, r.now, r.now);
    if (r.kind === 'tunneler') s().copyTunnelerLabels.run(r.tokenHash, r.agentId);
    s().startLineage.run(r.kind, r.agentId, r.certificateSerial, r.certificateNotAfter, r.now);
    s().liftRevocations.run(r.now, r.kind, r.agentId);
    appendAuditSync(r.audit);
    return { outcome: 'redeemed', token };
  });

  const recordActivity = db.transaction((batch: ActivityBatch) => {
    for (const c of batch.connectors)
      s().touchConnector.run(c.lastSeen, c.version, c.privateIp, c.id);
    for (const t of batch.tunnelers) s().touchTunneler.run(t.lastSeen, t.version, t.id);
  });

  const replaceLineage = db.transaction(
    (
      next: CertificateLineage,
      expected: string | undefined,
      audit?: NewAuditRecord,
      issued?: IssuedCertificateRecord,
    ): boolean => {
      const row = s().getLineage.get(next.kind, next.agentId) as Row | undefined;
      const current = row === undefined ? undefined : String(row.current_serial);
      if (current !== expected) return false;
      s().putLineage.run(...lineageParams(next));
      if (audit !== undefined) appendAuditSync(audit);
      if (issued !== undefined)
        for (const [sql, params] of issuedStatements(issued)) querySync(sql, params);
      return true;
    },
  );

  const createToken = db.transaction((token: NewEnrollmentToken, audit?: NewAuditRecord) => {
    s().createToken.run(
      token.tokenHash,
      token.kind,
      token.agentId,
      token.connectorId ?? null,
      token.createdAt,
      token.expiresAt,
      JSON.stringify(token.labels ?? []),
    );
    if (audit !== undefined) appendAuditSync(audit);
  });

  const cancelToken = db.transaction(
    (
      fingerprint: string,
      audit?: (cancelled: EnrollmentTokenRecord) => NewAuditRecord,
    ): EnrollmentTokenRecord | undefined => {
      const row = s().cancelToken.get(fingerprint.length, fingerprint) as Row | undefined;
      if (row === undefined) return undefined;
      const cancelled = tokenFromRow(row);
      if (audit !== undefined) appendAuditSync(audit(cancelled));
      return cancelled;
    },
  );

  const revoke = db.transaction((r: NewRevocation) => {
    const row = s().revoke.get(r.kind, r.agentId, r.reason, r.revokedAt, r.actor) as Row;
    appendAuditSync(r.audit);
    return revocationFromRow(row);
  });

  let closed = false;
  return storeMethods(durability, {
    ...sqliteEntryMethods(db),
    ...createTrustStore('sqlite', query, issuedStatements),
    ...createReplicaStore(query),
    dialect: 'sqlite',
    location: path,
    async migrate() {
      const applied = new Set((stmt.appliedVersions.all() as Row[]).map((r) => Number(r.version)));
      const now: number[] = [];
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        db.transaction(() => {
          db.exec(migration.sqlite);
          stmt.recordMigration.run(migration.version, migration.name, Date.now());
        }).immediate();
        now.push(migration.version);
      }
      return now;
    },
    async schemaVersion() {
      const versions = (stmt.appliedVersions.all() as Row[]).map((r) => Number(r.version));
      return versions.length === 0 ? 0 : Math.max(...versions);
    },
    async getSetting(key) {
      const row = s().getSetting.get(key) as Row | undefined;
      return row === undefined ? undefined : String(row.value);
    },
    async setSetting(key, value) {
      s().setSetting.run(key, value);
    },
    async createToken(token, audit) {
      createToken.immediate(token, audit);
    },
    async findToken(tokenHash) {
      const row = s().findToken.get(tokenHash) as Row | undefined;
      return row === undefined ? undefined : tokenFromRow(row);
    },
    async redeemToken(redemption) {
      return redeem.immediate(redemption);
    },
    async isConnectorKnown(id, now) {
      return s().connectorKnown.get(id, id, now) !== undefined;
    },
    async getLineage(kind, agentId) {
      const row = s().getLineage.get(kind, agentId) as Row | undefined;
      return row === undefined ? undefined : lineageFromRow(row);
    },
    async replaceLineage(next, expectedCurrentSerial, audit, issued) {
      return replaceLineage.immediate(next, expectedCurrentSerial, audit, issued);
    },
    async markPresented(kind, agentId, serial) {
      s().markPresented.run(kind, agentId, serial);
    },
    async revokeAgent(revocation) {
      return revoke.immediate(revocation);
    },
    async activeRevocations() {
      return (s().activeRevocations.all() as Row[]).map(revocationFromRow);
    },
    async listRevocations(limit) {
      return (s().listRevocations.all(limit) as Row[]).map(revocationFromRow);
    },
    async listPendingTokens(now) {
      return (s().pendingTokens.all(now) as Row[]).map(tokenFromRow);
    },
    async cancelToken(fingerprint, audit) {
      return cancelToken.immediate(fingerprint, audit);
    },
    async listConnectors() {
      return (s().listConnectors.all() as Row[]).map(connectorFromRow);
    },
    async listTunnelers() {
      return (s().listTunnelers.all() as Row[]).map(tunnelerFromRow);
    },
    async recordActivity(batch) {
      if (batch.connectors.length + batch.tunnelers.length > 0) recordActivity.immediate(batch);
    },
    async appendAudit(record) {
      return appendAuditSync(record);
    },
    async listAudit(query: AuditQuery) {
      const rows = s().listAudit.all({
        before: query.beforeId ?? null,
        action: query.action ?? null,
        limit: query.limit,
      }) as Row[];
      return rows.map(auditFromRow);
    },
    async pruneAudit(before) {
      return db.prepare('DELETE FROM audit_log WHERE at < ?').run(before).changes;
    },
    async close() {
      if (closed) return;
      closed = true;
      // What is committed reaches the disk either way: SQLite checkpoints it when it closes.
      await durability.afterCommit().catch(() => undefined);
      db.close();
      durability.close();
    },
    policy: createPolicyStore(query),
    adminAuth: createAdminAuthStore(query, async (statements) => batch(statements)),
  });
}

/*
 * better-sqlite3 registers its SqliteError constructor with the native addon once per process
 * (the addon is shared), so in a process with several VM contexts (Jest gives each test file its
 * own) its errors belong to whichever context loaded it first: not `instanceof Error` for the
 * caller, which then cannot tell them from a resolved value (`rejects.toThrow()` saw "did not
 * throw", and a rolled-back transaction looked like success). Every store method rethrows such an
 * error as an Error of this context, with its message, name, `code` (SQLITE_FULL, ...), stack,
 * and the original as `cause`.
 */
function asLocalError(err: unknown): unknown {
  if (err instanceof Error || err === null || typeof err !== 'object') return err;
  const { message, name, code, stack } = err as Record<string, unknown>;
  if (typeof message !== 'string') return err;
  const local = new Error(message, { cause: err }) as Error & { code?: string };
  if (typeof name === 'string') local.name = name;
  if (typeof code === 'string') local.code = code;
  if (typeof stack === 'string') local.stack = stack;
  return local;
}

/**
 * Wraps every method of `target` (and of its nested objects): an operation resolves only once what
 * it committed is durable ({@link WalDurability.afterCommit}), and rethrows with
 * {@link asLocalError}.
 */
function storeMethods<T extends object>(durability: WalDurability, target: T): T {
  const methods = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(methods)) {
    if (typeof value === 'function') {
      const method = value as (...args: unknown[]) => unknown;
      const durable = key !== 'close';
      methods[key] = function (this: unknown, ...args: unknown[]): unknown {
        try {
          const result = method.apply(this, args);
          if (typeof (result as Promise<unknown> | undefined)?.then !== 'function') return result;
          return (result as Promise<unknown>)
            .then(async (value: unknown) => {
              if (durable) await durability.afterCommit();
              return value;
            })
            .then(undefined, (err: unknown) => {
              throw asLocalError(err);
            });
        } catch (err) {
          throw asLocalError(err);
        }
      };
    } else if (value !== null && typeof value === 'object') storeMethods(durability, value);
  }
  return target;
}

function prepareSchemaStatements(db: Database.Database) {
  return {
    getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
    setSetting: db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    createToken: db.prepare(
      'INSERT INTO enrollment_tokens (token_hash, kind, agent_id, connector_id, created_at, expires_at, labels) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    copyTunnelerLabels: db.prepare(
      'UPDATE tunnelers SET labels = (SELECT labels FROM enrollment_tokens WHERE token_hash = ?) WHERE id = ?',
    ),
    findToken: db.prepare(`SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE token_hash = ?`),
    redeem: db.prepare(
      `UPDATE enrollment_tokens
          SET used_at = ?, public_key_sha256 = ?, certificate_serial = ?, certificate_chain_pem = ?, certificate_not_after = ?
        WHERE token_hash = ? AND kind = ? AND agent_id = ? AND used_at IS NULL AND expires_at > ?
        RETURNING ${TOKEN_COLUMNS}`,
    ),
    upsertConnector: db.prepare(
      `INSERT INTO connectors (id, private_ip, version, last_seen, enrolled_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET private_ip = excluded.private_ip, version = excluded.version, last_seen = excluded.last_seen, enrolled_at = excluded.enrolled_at`,
    ),
    upsertTunneler: db.prepare(
      `INSERT INTO tunnelers (id, connector_id, version, last_seen, enrolled_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET connector_id = excluded.connector_id, version = excluded.version, last_seen = excluded.last_seen, enrolled_at = excluded.enrolled_at`,
    ),
    connectorKnown: db.prepare(
      `SELECT 1 FROM connectors WHERE id = ?
       UNION ALL SELECT 1 FROM enrollment_tokens WHERE kind = 'connector' AND agent_id = ? AND used_at IS NULL AND expires_at > ?
       LIMIT 1`,
    ),
    listConnectors: db.prepare(
      'SELECT id, private_ip, version, last_seen, enrolled_at FROM connectors ORDER BY id',
    ),
    listTunnelers: db.prepare(
      'SELECT id, connector_id, version, last_seen, enrolled_at FROM tunnelers ORDER BY id',
    ),
    touchConnector: db.prepare(
      'UPDATE connectors SET last_seen = MAX(COALESCE(last_seen, 0), ?), version = ?, private_ip = ? WHERE id = ?',
    ),
    touchTunneler: db.prepare(
      'UPDATE tunnelers SET last_seen = MAX(COALESCE(last_seen, 0), ?), version = ? WHERE id = ?',
    ),
    appendAudit: db.prepare(
      'INSERT INTO audit_log (at, action, outcome, actor, subject, details) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
    ),
    startLineage: db.prepare(
      `INSERT INTO agent_certificates (${LINEAGE_COLUMNS}) VALUES (?, ?, ?, ?, 0, NULL, NULL, ?)
       ON CONFLICT (kind, agent_id) DO UPDATE SET current_serial = excluded.current_serial, current_not_after = excluded.current_not_after,
         current_presented = 0, previous_serial = NULL, previous_until = NULL, updated_at = excluded.updated_at`,
    ),
    getLineage: db.prepare(
      `SELECT ${LINEAGE_COLUMNS} FROM agent_certificates WHERE kind = ? AND agent_id = ?`,
    ),
    putLineage: db.prepare(
      `INSERT OR REPLACE INTO agent_certificates (${LINEAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    markPresented: db.prepare(
      'UPDATE agent_certificates SET current_presented = 1 WHERE kind = ? AND agent_id = ? AND current_serial = ? AND current_presented = 0',
    ),
    liftRevocations: db.prepare(
      'UPDATE revocations SET lifted_at = ? WHERE kind = ? AND agent_id = ? AND lifted_at IS NULL',
    ),
    revoke: db.prepare(
      'INSERT INTO revocations (kind, agent_id, reason, revoked_at, actor) VALUES (?, ?, ?, ?, ?) RETURNING *',
    ),
    activeRevocations: db.prepare('SELECT * FROM revocations WHERE lifted_at IS NULL ORDER BY id'),
    listRevocations: db.prepare('SELECT * FROM revocations ORDER BY id DESC LIMIT ?'),
    pendingTokens: db.prepare(
      `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE used_at IS NULL AND expires_at > ? ORDER BY expires_at, token_hash`,
    ),
    cancelToken: db.prepare(
      `DELETE FROM enrollment_tokens WHERE used_at IS NULL AND substr(token_hash, 1, ?) = ? RETURNING ${TOKEN_COLUMNS}`,
    ),
    listAudit: db.prepare(
      `SELECT * FROM audit_log
        WHERE (@before IS NULL OR id < @before) AND (@action IS NULL OR action = @action)
        ORDER BY id DESC LIMIT @limit`,
    ),
  };
}
