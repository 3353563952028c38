/** A data-plane resource: something a connector can reach that its tunnelers may be granted. */
export interface ResourceRecord {
  /** Unique name, e.g. `pg-main` (what `--forward 127.0.0.1:15432=pg-main` names). */
  name: string;
  /** `host:port`, `CIDR:port` or `CIDR:first-last` (see @sigil/runtime parseResourceAddress). */
  address: string;
  /** The connector that dials it. */
  connectorId: string;
  /** Unix milliseconds. */
  createdAt: number;
}

/** An access grant: one tunneler (by id) or every tunneler enrolled with a label, to one resource. */
export interface GrantRecord {
  id: string;
  resource: string;
  /** Set for a grant by tunneler id (then `label` is null). */
  tunnelerId: string | null;
  /** Set for a grant by label (then `tunnelerId` is null). */
  label: string | null;
  /** Unix milliseconds. */
  createdAt: number;
}

/** An enrolled tunneler's connector and the labels its enrollment token carried. */
export interface TunnelerLabels {
  id: string;
  connectorId: string;
  labels: string[];
}

/**
 * Resources, grants and tunneler labels (schema version 4), the same for SQLite and PostgreSQL:
 * `ControllerStore.policy`. Each write is one statement, durable when its promise resolves.
 *
 * @example
 * ```ts
 * const created = await store.policy.createResource({ name: 'pg-main', address: '10.0.0.5:5432', connectorId: 'edge-1', createdAt: Date.now() });
 * ```
 */
export interface PolicyStore {
  /** Stores a new resource; undefined when the name is taken. */
  createResource(resource: ResourceRecord): Promise<ResourceRecord | undefined>;
  /** Deletes a resource and its grants; the deleted resource, or undefined. */
  deleteResource(name: string): Promise<ResourceRecord | undefined>;
  /** Every resource, by name. */
  listResources(): Promise<ResourceRecord[]>;
  /** Stores a grant; undefined when its resource does not exist. */
  createGrant(grant: GrantRecord): Promise<GrantRecord | undefined>;
  /** Deletes a grant; the deleted grant, or undefined. */
  deleteGrant(id: string): Promise<GrantRecord | undefined>;
  /** Every grant, oldest first. */
  listGrants(): Promise<GrantRecord[]>;
  /** Every enrolled tunneler with its labels. */
  listTunnelerLabels(): Promise<TunnelerLabels[]>;
}

/** Runs one statement written with `?` placeholders; resolves to the rows it returned. */
export type SqlQuery = (
  sql: string,
  params: readonly unknown[],
) => Promise<Array<Record<string, unknown>>>;

type Row = Record<string, unknown>;

const resourceFromRow = (row: Row): ResourceRecord => ({
  name: String(row.name),
  address: String(row.address),
  connectorId: String(row.connector_id),
  createdAt: Number(row.created_at),
});

const grantFromRow = (row: Row): GrantRecord => ({
  id: String(row.id),
  resource: String(row.resource),
  tunnelerId: row.tunneler_id === null ? null : String(row.tunneler_id),
  label: row.label === null ? null : String(row.label),
  createdAt: Number(row.created_at),
});

function labelsFromText(text: unknown): string[] {
  try {
    const parsed: unknown = JSON.parse(String(text));
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * The policy store over one SQL connection (both dialects: the statements are portable SQL).
 *
 * @example
 * ```ts
 * const policy = createPolicyStore((sql, params) => pool.query(toPostgres(sql), params).then((r) => r.rows));
 * ```
 */
export function createPolicyStore(query: SqlQuery): PolicyStore {
  const first = async <T>(rows: Promise<Row[]>, map: (row: Row) => T): Promise<T | undefined> => {
    const row = (await rows)[0];
    return row === undefined ? undefined : map(row);
  };
  return {
    createResource: (r) =>
      first(
        query(
          'INSERT INTO resources (name, address, connector_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *',
          [r.name, r.address, r.connectorId, r.createdAt],
        ),
        resourceFromRow,
      ),
    async deleteResource(name) {
      // Explicit, so the grants go even where foreign keys are not enforced.
      const deleted = await first(
        query('DELETE FROM resources WHERE name = ? RETURNING *', [name]),
        resourceFromRow,
      );
      if (deleted !== undefined) await query('DELETE FROM grants WHERE resource = ?', [name]);
      return deleted;
    },
    listResources: async () =>
      (await query('SELECT * FROM resources ORDER BY name', [])).map(resourceFromRow),
    createGrant: (g) =>
      first(
        query(
          'INSERT INTO grants (id, resource, tunneler_id, label, created_at) SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM resources WHERE name = ?) RETURNING *',
          [g.id, g.resource, g.tunnelerId, g.label, g.createdAt, g.resource],
        ),
        grantFromRow,
      ),
    deleteGrant: (id) =>
      first(query('DELETE FROM grants WHERE id = ? RETURNING *', [id]), grantFromRow),
    listGrants: async () =>
      (await query('SELECT * FROM grants ORDER BY created_at, id', [])).map(grantFromRow),
    listTunnelerLabels: async () =>
      (await query('SELECT id, connector_id, labels FROM tunnelers ORDER BY id', [])).map(
        (row) => ({
          id: String(row.id),
          connectorId: String(row.connector_id),
          labels: labelsFromText(row.labels),
        }),
      ),
  };
}

/**
 * Rewrites `?` placeholders as PostgreSQL's `$1, $2, ...` (the policy statements hold no `?`
 * inside literals).
 *
 * @example
 * ```ts
 * toPostgresPlaceholders('SELECT * FROM grants WHERE id = ?'); // 'SELECT * FROM grants WHERE id = $1'
 * ```
 */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
