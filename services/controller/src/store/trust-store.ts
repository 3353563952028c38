// The runtime trust state (migration 3) for both dialects: one SQL text per query, `?`
// placeholders (numbered for PostgreSQL), run through the dialect's own executor.

/** `connector` or `tunneler` (store.ts's AgentKind; spelled out here because store.ts extends this file's interface). */
type AgentKind = 'connector' | 'tunneler';

/** The stored trust document and its compare-and-set revision. */
export interface StoredTrustState {
  revision: number;
  /** JSON of the state, CA keys encrypted (see internal/ca-key-sealing.ts). */
  document: string;
}

/** A certificate the runtime CA signed, with the generation that signed it. */
export interface IssuedCertificateRecord {
  serial: string;
  kind: AgentKind;
  agentId: string;
  generation: number;
  /** Unix milliseconds. */
  notAfter: number;
}

/** The highest bundle version an agent reported on its heartbeats. */
export interface BundleVersionReport {
  kind: AgentKind;
  agentId: string;
  bundleVersion: number;
  /** Unix milliseconds of the report that raised it. */
  reportedAt: number;
}

/** The certificates the controller still honours (lineages), with the generation that signed each. */
export interface LiveCertificateRecord {
  kind: AgentKind;
  agentId: string;
  serial: string;
  notAfter: number;
  generation: number;
}

/** The trust-lifecycle part of the controller store (schema 3). */
export interface TrustStore {
  /** The trust state, or undefined before the first start under schema 3. */
  getTrustState(): Promise<StoredTrustState | undefined>;
  /**
   * Writes the trust state only if the stored revision is still `expectedRevision` (undefined:
   * only if none is stored yet). True when written; false when another replica won.
   */
  replaceTrustState(next: StoredTrustState, expectedRevision: number | undefined): Promise<boolean>;
  /** Records which generation signed a certificate (and, at most once a minute, forgets records expired a day ago). */
  recordIssuedCertificate(record: IssuedCertificateRecord): Promise<void>;
  /** Raises the agent's reported bundle version (never lowers it). */
  recordBundleVersion(report: BundleVersionReport): Promise<void>;
  /** Every agent's reported bundle version. */
  listBundleVersions(): Promise<BundleVersionReport[]>;
  /**
   * The latest unexpired certificate of every agent at `now`, with its generation: 1 for a
   * certificate signed before generations were recorded. (The one it replaced is honoured only to
   * retry a renewal whose answer was lost, never for a handshake with the new root's peers.)
   */
  listLiveCertificates(now: number): Promise<LiveCertificateRecord[]>;
}

type Row = Record<string, unknown>;

/**
 * Runs one statement written with `?` placeholders (the store numbers them as its dialect wants);
 * resolves to the rows it returned (none for a write without RETURNING).
 */
export type TrustQuery = (sql: string, params: readonly unknown[]) => Promise<Row[]>;

const EXPIRED_RECORD_RETENTION_MS = 86_400_000;
/**
 * Expired records are pruned by the first recording after this much time, not by every one: a
 * second statement per certificate was a second commit (an fsync on SQLite) on the renewal path.
 */
const PRUNE_INTERVAL_MS = 60_000;

/** The statements, SQL text with `?` placeholders and parameters, that record one issued certificate. */
export type IssuedCertificateStatements = (
  record: IssuedCertificateRecord,
) => ReadonlyArray<readonly [string, readonly unknown[]]>;

/**
 * What recording an issued certificate runs: its insert and, at most once a minute, the prune of
 * records expired two days before it. A store runs them alone (recordIssuedCertificate) or inside
 * the transaction that hands the certificate out (a renewal's lineage write), so that renewal
 * costs one commit, one fsync on SQLite, not two.
 *
 * @example
 * ```ts
 * const issued = createIssuedCertificateStatements();
 * for (const [sql, params] of issued(record)) db.prepare(sql).run(...params);
 * ```
 */
export function createIssuedCertificateStatements(): IssuedCertificateStatements {
  const insert =
    'INSERT INTO issued_certificates (serial, kind, agent_id, generation, not_after) VALUES (?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING';
  const prune = 'DELETE FROM issued_certificates WHERE not_after < ?';
  let prunedAt = -Infinity;
  return (record) => {
    const statements: Array<readonly [string, readonly unknown[]]> = [
      [insert, [record.serial, record.kind, record.agentId, record.generation, record.notAfter]],
    ];
    const now = Date.now();
    if (now - prunedAt >= PRUNE_INTERVAL_MS) {
      prunedAt = now;
      statements.push([prune, [record.notAfter - EXPIRED_RECORD_RETENTION_MS * 2]]);
    }
    return statements;
  };
}

/**
 * The {@link TrustStore} over `query` for `dialect`: both stores spread it into theirs.
 *
 * @example
 * ```ts
 * const trust = createTrustStore('postgres', query, createIssuedCertificateStatements());
 * ```
 */
export function createTrustStore(
  dialect: 'sqlite' | 'postgres',
  query: TrustQuery,
  issuedStatements: IssuedCertificateStatements,
): TrustStore {
  const q = (sql: string, params: readonly unknown[] = []): Promise<Row[]> => query(sql, params);
  const greatest = dialect === 'postgres' ? 'GREATEST' : 'MAX';
  return {
    async getTrustState() {
      const [row] = await q('SELECT revision, state FROM trust_state WHERE id = 1');
      return row === undefined
        ? undefined
        : { revision: Number(row.revision), document: String(row.state) };
    },
    async replaceTrustState(next, expectedRevision) {
      const rows =
        expectedRevision === undefined
          ? await q(
              'INSERT INTO trust_state (id, revision, state, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING revision',
              [next.revision, next.document, Date.now()],
            )
          : await q(
              'UPDATE trust_state SET revision = ?, state = ?, updated_at = ? WHERE id = 1 AND revision = ? RETURNING revision',
              [next.revision, next.document, Date.now(), expectedRevision],
            );
      return rows.length === 1;
    },
    async recordIssuedCertificate(record) {
      for (const [sql, params] of issuedStatements(record)) await query(sql, params);
    },
    async recordBundleVersion(report) {
      await q(
        `INSERT INTO agent_bundle_versions (kind, agent_id, bundle_version, reported_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, agent_id) DO UPDATE
           SET bundle_version = ${greatest}(agent_bundle_versions.bundle_version, excluded.bundle_version),
               reported_at = excluded.reported_at`,
        [report.kind, report.agentId, report.bundleVersion, report.reportedAt],
      );
    },
    async listBundleVersions() {
      const rows = await q(
        'SELECT kind, agent_id, bundle_version, reported_at FROM agent_bundle_versions ORDER BY kind, agent_id',
      );
      return rows.map((r) => ({
        kind: r.kind as AgentKind,
        agentId: String(r.agent_id),
        bundleVersion: Number(r.bundle_version),
        reportedAt: Number(r.reported_at),
      }));
    },
    async listLiveCertificates(now) {
      const rows = await q(
        `SELECT a.kind, a.agent_id, a.current_serial AS serial, a.current_not_after AS not_after,
                COALESCE(i.generation, 1) AS generation
           FROM agent_certificates a LEFT JOIN issued_certificates i ON i.serial = a.current_serial
          WHERE a.current_not_after > ?
          ORDER BY a.kind, a.agent_id`,
        [now],
      );
      return rows.map((r) => ({
        kind: r.kind as AgentKind,
        agentId: String(r.agent_id),
        serial: String(r.serial),
        notAfter: Number(r.not_after),
        generation: Number(r.generation),
      }));
    },
  };
}
