import type { SqlQuery } from './policy-store';

/** Runs `statements` (`?` placeholders) in one transaction; each statement's rows, in order. */
export type SqlBatch = (
  statements: ReadonlyArray<readonly [sql: string, params: readonly unknown[]]>,
) => Promise<Array<Array<Record<string, unknown>>>>;

/** An admin user's role (the same names as the admin server's `AdminRole`). */
export type AdminUserRole = 'viewer' | 'admin';

/** A console user as stored: the password only as its KDF hash (see admin-auth/password.ts). */
export interface AdminUserRecord {
  name: string;
  role: AdminUserRole;
  /** `scrypt$N$r$p$salt$hash` (base64url salt and hash). */
  passwordHash: string;
  /** Unix milliseconds. */
  createdAt: number;
  updatedAt: number;
}

/** A signed-in console session, stored by the SHA-256 of its cookie value (never the value). */
export interface AdminSessionRecord {
  /** Lower-case hex SHA-256 of the `sigil_session` cookie value. */
  idHash: string;
  userName: string;
  /** Sent back in `X-CSRF-Token` on every state-changing request. */
  csrfToken: string;
  /** Unix milliseconds. */
  createdAt: number;
  lastSeenAt: number;
  /** The session ends here unless used before (each use moves it on). */
  idleExpiresAt: number;
  /** The session ends here whatever happens (absolute expiry). */
  expiresAt: number;
  /** Source address and user agent at sign-in. */
  address: string;
  userAgent: string;
}

/** A per-user admin API token (`sigil_at_...`), stored by its SHA-256. */
export interface AdminApiTokenRecord {
  id: string;
  /** Lower-case hex SHA-256 of the token. */
  tokenHash: string;
  userName: string;
  name: string;
  /** Unix milliseconds. */
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/**
 * Admin users, sessions and API tokens (schema version 6), the same for SQLite and PostgreSQL:
 * `ControllerStore.adminAuth`. Each write is durable when its promise resolves; sessions live
 * here, not in memory, so sign-out and revocation apply at once on every replica.
 *
 * @example
 * ```ts
 * const created = await store.adminAuth.createUser({ name: 'alice', role: 'viewer', passwordHash, createdAt: now, updatedAt: now });
 * ```
 */
export interface AdminAuthStore {
  /** Stores a new user; false when the name is taken. */
  createUser(user: AdminUserRecord): Promise<boolean>;
  getUser(name: string): Promise<AdminUserRecord | undefined>;
  /** Every user, by name. */
  listUsers(): Promise<AdminUserRecord[]>;
  countUsers(): Promise<number>;
  /** Deletes the user with its sessions and API tokens; false when there was none. */
  deleteUser(name: string): Promise<boolean>;
  /** Replaces the password hash and deletes every session of the user; false when there is no such user. */
  setPassword(name: string, passwordHash: string, at: number): Promise<boolean>;
  createSession(session: AdminSessionRecord): Promise<void>;
  /**
   * Uses a session: when it exists and neither expiry has passed at `now`, moves `lastSeenAt` to
   * `now` and `idleExpiresAt` to `idleExpiresAt` (one conditional UPDATE) and returns it.
   */
  touchSession(
    idHash: string,
    now: number,
    idleExpiresAt: number,
  ): Promise<AdminSessionRecord | undefined>;
  /** Deletes one session; the deleted session, or undefined. */
  deleteSession(idHash: string): Promise<AdminSessionRecord | undefined>;
  /** Deletes sessions past either expiry at `now`; how many. */
  deleteExpiredSessions(now: number): Promise<number>;
  createApiToken(token: AdminApiTokenRecord): Promise<void>;
  /** The token with that hash, usable or not. */
  findApiToken(tokenHash: string): Promise<AdminApiTokenRecord | undefined>;
  /** Uses a token: when it is unrevoked and unexpired at `now`, records `lastUsedAt` and returns it. */
  useApiToken(tokenHash: string, now: number): Promise<AdminApiTokenRecord | undefined>;
  /** The tokens of one user, or of everyone; newest first. */
  listApiTokens(userName?: string): Promise<AdminApiTokenRecord[]>;
  /** Revokes an unrevoked token (only `userName`'s when given); the revoked token, or undefined. */
  revokeApiToken(
    id: string,
    at: number,
    userName?: string,
  ): Promise<AdminApiTokenRecord | undefined>;
}

type Row = Record<string, unknown>;
const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value));

const userFromRow = (row: Row): AdminUserRecord => ({
  name: String(row.name),
  role: row.role === 'admin' ? 'admin' : 'viewer',
  passwordHash: String(row.password_hash),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const sessionFromRow = (row: Row): AdminSessionRecord => ({
  idHash: String(row.id_hash),
  userName: String(row.user_name),
  csrfToken: String(row.csrf_token),
  createdAt: Number(row.created_at),
  lastSeenAt: Number(row.last_seen_at),
  idleExpiresAt: Number(row.idle_expires_at),
  expiresAt: Number(row.expires_at),
  address: String(row.address),
  userAgent: String(row.user_agent),
});

const apiTokenFromRow = (row: Row): AdminApiTokenRecord => ({
  id: String(row.id),
  tokenHash: String(row.token_hash),
  userName: String(row.user_name),
  name: String(row.name),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  revokedAt: nullableNumber(row.revoked_at),
  lastUsedAt: nullableNumber(row.last_used_at),
});

/**
 * The admin-auth store over one SQL connection (both dialects: the statements are portable SQL
 * with `?` placeholders); `batch` runs the writes that must happen together (a password change
 * and the end of the user's sessions) in one transaction.
 *
 * @example
 * ```ts
 * const adminAuth = createAdminAuthStore(query, (statements) => inTransaction(...));
 * ```
 */
export function createAdminAuthStore(query: SqlQuery, batch: SqlBatch): AdminAuthStore {
  const first = async <T>(rows: Promise<Row[]>, map: (row: Row) => T): Promise<T | undefined> => {
    const row = (await rows)[0];
    return row === undefined ? undefined : map(row);
  };
  return {
    async createUser(u) {
      const rows = await query(
        'INSERT INTO admin_users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING name',
        [u.name, u.role, u.passwordHash, u.createdAt, u.updatedAt],
      );
      return rows.length === 1;
    },
    getUser: (name) =>
      first(query('SELECT * FROM admin_users WHERE name = ?', [name]), userFromRow),
    listUsers: async () =>
      (await query('SELECT * FROM admin_users ORDER BY name', [])).map(userFromRow),
    countUsers: async () =>
      Number((await query('SELECT COUNT(*) AS n FROM admin_users', []))[0]?.n ?? 0),
    async deleteUser(name) {
      // Explicit, so sessions and tokens go even where foreign keys are not enforced.
      const [, , users] = await batch([
        ['DELETE FROM admin_sessions WHERE user_name = ?', [name]],
        ['DELETE FROM admin_api_tokens WHERE user_name = ?', [name]],
        ['DELETE FROM admin_users WHERE name = ? RETURNING name', [name]],
      ]);
      return users!.length === 1;
    },
    async setPassword(name, passwordHash, at) {
      const [users] = await batch([
        [
          'UPDATE admin_users SET password_hash = ?, updated_at = ? WHERE name = ? RETURNING name',
          [passwordHash, at, name],
        ],
        ['DELETE FROM admin_sessions WHERE user_name = ?', [name]],
      ]);
      return users!.length === 1;
    },
    async createSession(s) {
      await query(
        'INSERT INTO admin_sessions (id_hash, user_name, csrf_token, created_at, last_seen_at, idle_expires_at, expires_at, address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          s.idHash,
          s.userName,
          s.csrfToken,
          s.createdAt,
          s.lastSeenAt,
          s.idleExpiresAt,
          s.expiresAt,
          s.address,
          s.userAgent,
        ],
      );
    },
    touchSession: (idHash, now, idleExpiresAt) =>
      first(
        query(
          'UPDATE admin_sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id_hash = ? AND idle_expires_at > ? AND expires_at > ? RETURNING *',
          [now, idleExpiresAt, idHash, now, now],
        ),
        sessionFromRow,
      ),
    deleteSession: (idHash) =>
      first(
        query('DELETE FROM admin_sessions WHERE id_hash = ? RETURNING *', [idHash]),
        sessionFromRow,
      ),
    deleteExpiredSessions: async (now) =>
      (
        await query(
          'DELETE FROM admin_sessions WHERE idle_expires_at <= ? OR expires_at <= ? RETURNING id_hash',
          [now, now],
        )
      ).length,
    async createApiToken(t) {
      await query(
        'INSERT INTO admin_api_tokens (id, token_hash, user_name, name, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          t.id,
          t.tokenHash,
          t.userName,
          t.name,
          t.createdAt,
          t.expiresAt,
          t.revokedAt,
          t.lastUsedAt,
        ],
      );
    },
    findApiToken: (tokenHash) =>
      first(
        query('SELECT * FROM admin_api_tokens WHERE token_hash = ?', [tokenHash]),
        apiTokenFromRow,
      ),
    useApiToken: (tokenHash, now) =>
      first(
        query(
          'UPDATE admin_api_tokens SET last_used_at = ? WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ? RETURNING *',
          [now, tokenHash, now],
        ),
        apiTokenFromRow,
      ),
    listApiTokens: async (userName) =>
      (userName === undefined
        ? await query('SELECT * FROM admin_api_tokens ORDER BY created_at DESC, id', [])
        : await query(
            'SELECT * FROM admin_api_tokens WHERE user_name = ? ORDER BY created_at DESC, id',
            [userName],
          )
      ).map(apiTokenFromRow),
    revokeApiToken: (id, at, userName) =>
      first(
        userName === undefined
          ? query(
              'UPDATE admin_api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING *',
              [at, id],
            )
          : query(
              'UPDATE admin_api_tokens SET revoked_at = ? WHERE id = ? AND user_name = ? AND revoked_at IS NULL RETURNING *',
              [at, id, userName],
            ),
        apiTokenFromRow,
      ),
  };
}
