// What replicas share beyond the registry (migration 7), the same SQL for both dialects: the
// sealed JWT authority keys, and the commands one replica queues for the replica that holds the
// agent's control stream.
import type { SqlQuery } from './policy-store';

/** The stored JWT authority document and its compare-and-set revision. */
export interface StoredJwtAuthorityState {
  revision: number;
  /** JSON of the keys, each private key sealed (see internal/ca-key-sealing.ts). */
  document: string;
}

/** A command for one agent's control stream, queued by the replica the operator called. */
export interface AgentCommandRecord {
  /** The command id the agent sees (and the admin call answered with). */
  id: string;
  kind: 'connector' | 'tunneler';
  agentId: string;
  /** What to send, e.g. `renew_now`. */
  command: string;
  /** Unix milliseconds. */
  createdAt: number;
  /** After this (Unix ms) no replica delivers it. */
  expiresAt: number;
  /** When a replica took it to deliver (Unix ms), or null. */
  claimedAt: number | null;
  /** The replica that took it, or null. */
  claimedBy: string | null;
  /** When the replica that queued it gave up on it (Unix ms), or null. */
  withdrawnAt: number | null;
}

/** The replica-shared part of the controller store (schema 7). */
export interface ReplicaStore {
  /** The JWT authority keys, or undefined before the first start under schema 7. */
  getJwtAuthorityState(): Promise<StoredJwtAuthorityState | undefined>;
  /**
   * Writes the JWT authority document only if the stored revision is still `expectedRevision`
   * (undefined: only if none is stored yet). True when written; false when another replica won.
   */
  replaceJwtAuthorityState(
    next: StoredJwtAuthorityState,
    expectedRevision: number | undefined,
  ): Promise<boolean>;
  /** Queues a command (and forgets commands that expired a day before its creation). */
  queueAgentCommand(
    command: Omit<AgentCommandRecord, 'claimedAt' | 'claimedBy' | 'withdrawnAt'>,
  ): Promise<void>;
  /** The command, or undefined. */
  getAgentCommand(id: string): Promise<AgentCommandRecord | undefined>;
  /** Commands neither claimed nor withdrawn that have not expired at `now`, oldest first. */
  openAgentCommands(now: number): Promise<AgentCommandRecord[]>;
  /** Takes an open command for delivery; true for exactly one caller, and never after a withdrawal. */
  claimAgentCommand(id: string, replica: string, now: number): Promise<boolean>;
  /** Gives up an unclaimed command; true when withdrawn, false when a replica claimed it first. */
  withdrawAgentCommand(id: string, now: number): Promise<boolean>;
}

/** What a replica acts on when another replica (or this one) changed it, named by the triggers. */
export type ChangeTopic =
  'commands' | 'revocations' | 'trust' | 'jwt' | 'policy' | 'entries' | 'settings' | 'agents';

/** The replica's dedicated connection: notifications in, leadership held. */
export interface ReplicaLink {
  /** True while connected and listening: notifications arrive as they are committed. */
  readonly listening: boolean;
  /** True while this connection holds the leader lock. */
  readonly leading: boolean;
  /**
   * One round: connects (and LISTENs) when not connected, then takes the leader lock when it is
   * free, or checks the connection when it holds it. Resolves to `leading`; a failure drops the
   * connection (and with it the lock) and rejects, the next round reconnects.
   */
  tick(): Promise<boolean>;
  /** Closes the connection (releasing the lock). */
  close(): Promise<void>;
}

/** What a {@link ReplicaLink} reports. */
export interface ReplicaLinkEvents {
  /** A change to this replica's schema was committed (by any replica, this one too). */
  onChange: (topic: ChangeTopic) => void;
  /** The connection is (re-)established: changes made while it was down were not notified. */
  onConnected: () => void;
  /** The connection was lost (the lock with it). */
  onLost: (err: Error) => void;
}

const COMMAND_RETENTION_MS = 86_400_000;
const COMMAND_COLUMNS =
  'id, kind, agent_id, command, created_at, expires_at, claimed_at, claimed_by, withdrawn_at';

const nullableNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function commandFromRow(row: Record<string, unknown>): AgentCommandRecord {
  return {
    id: String(row.id),
    kind: row.kind as AgentCommandRecord['kind'],
    agentId: String(row.agent_id),
    command: String(row.command),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    claimedAt: nullableNumber(row.claimed_at),
    claimedBy:
      row.claimed_by === null || row.claimed_by === undefined ? null : String(row.claimed_by),
    withdrawnAt: nullableNumber(row.withdrawn_at),
  };
}

/**
 * The {@link ReplicaStore} over `query` (`?` placeholders): both stores spread it into theirs.
 *
 * @example
 * ```ts
 * const replicas = createReplicaStore(query);
 * const won = await replicas.claimAgentCommand(id, 'replica-a', Date.now());
 * ```
 */
export function createReplicaStore(query: SqlQuery): ReplicaStore {
  return {
    async getJwtAuthorityState() {
      const [row] = await query('SELECT revision, state FROM jwt_authority_state WHERE id = 1', []);
      return row === undefined
        ? undefined
        : { revision: Number(row.revision), document: String(row.state) };
    },
    async replaceJwtAuthorityState(next, expectedRevision) {
      const rows =
        expectedRevision === undefined
          ? await query(
              'INSERT INTO jwt_authority_state (id, revision, state, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING revision',
              [next.revision, next.document, Date.now()],
            )
          : await query(
              'UPDATE jwt_authority_state SET revision = ?, state = ?, updated_at = ? WHERE id = 1 AND revision = ? RETURNING revision',
              [next.revision, next.document, Date.now(), expectedRevision],
            );
      return rows.length === 1;
    },
    async queueAgentCommand(command) {
      await query(
        'INSERT INTO agent_commands (id, kind, agent_id, command, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        [
          command.id,
          command.kind,
          command.agentId,
          command.command,
          command.createdAt,
          command.expiresAt,
        ],
      );
      await query('DELETE FROM agent_commands WHERE expires_at < ?', [
        command.createdAt - COMMAND_RETENTION_MS,
      ]);
    },
    async getAgentCommand(id) {
      const [row] = await query(`SELECT ${COMMAND_COLUMNS} FROM agent_commands WHERE id = ?`, [id]);
      return row === undefined ? undefined : commandFromRow(row);
    },
    async openAgentCommands(now) {
      const rows = await query(
        `SELECT ${COMMAND_COLUMNS} FROM agent_commands
          WHERE claimed_at IS NULL AND withdrawn_at IS NULL AND expires_at > ?
          ORDER BY created_at, id`,
        [now],
      );
      return rows.map(commandFromRow);
    },
    async claimAgentCommand(id, replica, now) {
      const rows = await query(
        `UPDATE agent_commands SET claimed_at = ?, claimed_by = ?
          WHERE id = ? AND claimed_at IS NULL AND withdrawn_at IS NULL AND expires_at > ?
          RETURNING id`,
        [now, replica, id, now],
      );
      return rows.length === 1;
    },
    async withdrawAgentCommand(id, now) {
      const rows = await query(
        'UPDATE agent_commands SET withdrawn_at = ? WHERE id = ? AND claimed_at IS NULL AND withdrawn_at IS NULL RETURNING id',
        [now, id],
      );
      return rows.length === 1;
    },
  };
}
