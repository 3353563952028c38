import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type {
  AdminApiTokenRecord,
  AdminAuthStore,
  AdminSessionRecord,
  AdminUserRecord,
} from '../store/admin-auth-store';

/** The console's session cookie. */
export const SESSION_COOKIE = 'sigil_session';
/** How every per-user admin API token starts (the SIGIL_ADMIN_TOKEN never does). */
export const API_TOKEN_PREFIX = 'sigil_at_';
/** The header a session-authenticated state-changing request carries (see {@link csrfTokenMatches}). */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Lower-case hex SHA-256 of a secret: how session cookies and API tokens are stored and looked up.
 *
 * @example
 * ```ts
 * const session = await store.touchSession(secretHash(cookie), now, idle);
 * ```
 */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** 256 random bits, base64url: a cookie value, a CSRF token, the body of an API token. */
function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The two ends of a new session: `idleExpiresAt` (`now + idleMs`, never past the absolute end) and
 * `expiresAt` (`now + maxAgeMs`), unix milliseconds.
 *
 * @example
 * ```ts
 * sessionExpiry(0, 1_800_000, 43_200_000); // { idleExpiresAt: 1_800_000, expiresAt: 43_200_000 }
 * ```
 */
export function sessionExpiry(
  now: number,
  idleMs: number,
  maxAgeMs: number,
): { idleExpiresAt: number; expiresAt: number } {
  const expiresAt = now + maxAgeMs;
  return { idleExpiresAt: Math.min(now + idleMs, expiresAt), expiresAt };
}

/**
 * True when a request's `X-CSRF-Token` value equals the session's token (constant time).
 *
 * @example
 * ```ts
 * if (!csrfTokenMatches(request.headers['x-csrf-token'], session.csrfToken)) refuse();
 * ```
 */
export function csrfTokenMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Options of {@link createAdminSessions}. */
export interface AdminSessionsOptions {
  store: AdminAuthStore;
  clock: () => Date;
  /** `ADMIN_SESSION_IDLE_TIMEOUT`, ms. */
  idleTimeoutMs: number;
  /** `ADMIN_SESSION_MAX_AGE`, ms. */
  maxAgeMs: number;
}

/** A session in use: the stored record (its `idleExpiresAt` capped by `expiresAt`) and its user. */
export interface ActiveSession {
  session: AdminSessionRecord;
  user: AdminUserRecord;
}

/** Console sessions and API tokens over the store, see {@link createAdminSessions}. */
export interface AdminSessions {
  /** Starts a session for `user` (already checked); the cookie value is only returned, never stored. */
  signIn(
    user: AdminUserRecord,
    from: { address: string; userAgent: string },
  ): Promise<ActiveSession & { cookie: string }>;
  /** The session of a cookie value, moved on (idle expiry), or undefined when gone or expired. */
  resume(cookie: string): Promise<ActiveSession | undefined>;
  /** Ends the session of a cookie value at once (every replica: it lives in the store). */
  signOut(cookie: string): Promise<AdminSessionRecord | undefined>;
  /** Creates an API token for `userName`; the token itself is only returned. */
  createApiToken(
    userName: string,
    name: string,
    expiresInSeconds: number,
  ): Promise<AdminApiTokenRecord & { token: string }>;
  /** The unrevoked, unexpired token and its user (recording its use), or undefined. */
  useApiToken(
    token: string,
  ): Promise<{ token: AdminApiTokenRecord; user: AdminUserRecord } | undefined>;
  /** Deletes expired sessions; how many. */
  sweep(): Promise<number>;
}

/**
 * Console sessions and per-user API tokens, stored server-side by the SHA-256 of their secret (the
 * cookie value, the `sigil_at_` token), so sign-out, a password change and a revocation apply on
 * every replica at once. A session ends after `idleTimeoutMs` unused or `maxAgeMs` after sign-in.
 *
 * @example
 * ```ts
 * const sessions = createAdminSessions({ store: store.adminAuth, clock, idleTimeoutMs: 1_800_000, maxAgeMs: 43_200_000 });
 * const { cookie } = await sessions.signIn(user, { address, userAgent });
 * ```
 */
export function createAdminSessions(options: AdminSessionsOptions): AdminSessions {
  const { store, clock, idleTimeoutMs, maxAgeMs } = options;
  const withUser = async <T extends { userName: string }>(
    record: T | undefined,
  ): Promise<{ record: T; user: AdminUserRecord } | undefined> => {
    if (record === undefined) return undefined;
    const user = await store.getUser(record.userName);
    return user === undefined ? undefined : { record, user };
  };
  return {
    async signIn(user, from) {
      const now = clock().getTime();
      const cookie = randomSecret();
      const session: AdminSessionRecord = {
        idHash: secretHash(cookie),
        userName: user.name,
        csrfToken: randomSecret(),
        createdAt: now,
        lastSeenAt: now,
        ...sessionExpiry(now, idleTimeoutMs, maxAgeMs),
        address: from.address,
        userAgent: from.userAgent,
      };
      await store.createSession(session);
      return { cookie, session, user };
    },
    async resume(cookie) {
      const now = clock().getTime();
      const found = await withUser(
        await store.touchSession(secretHash(cookie), now, now + idleTimeoutMs),
      );
      if (found === undefined) return undefined;
      const session = {
        ...found.record,
        idleExpiresAt: Math.min(found.record.idleExpiresAt, found.record.expiresAt),
      };
      return { session, user: found.user };
    },
    signOut: (cookie) => store.deleteSession(secretHash(cookie)),
    async createApiToken(userName, name, expiresInSeconds) {
      const now = clock().getTime();
      const token = `${API_TOKEN_PREFIX}${randomSecret()}`;
      const record: AdminApiTokenRecord = {
        id: randomUUID(),
        tokenHash: secretHash(token),
        userName,
        name,
        createdAt: now,
        expiresAt: now + expiresInSeconds * 1000,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.createApiToken(record);
      return { ...record, token };
    },
    async useApiToken(token) {
      const found = await withUser(await store.useApiToken(secretHash(token), clock().getTime()));
      return found === undefined ? undefined : { token: found.record, user: found.user };
    },
    sweep: () => store.deleteExpiredSessions(clock().getTime()),
  };
}
