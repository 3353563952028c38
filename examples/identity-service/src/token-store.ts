import { randomBytes } from 'node:crypto';
import { tokenHash } from '@sigil/pki';
import { assertArgument } from '@sigil/grpc-service';

/**
 * Options for {@link createTokenStore}.
 *
 * @example
 * ```ts
 * const options: TokenStoreOptions = { now: () => fakeClock, defaultTtlSeconds: 900 };
 * ```
 */
export interface TokenStoreOptions {
  /** Clock in Unix milliseconds; default `Date.now`. Tests inject a fake one. */
  now?: () => number;
  /** Lifetime when a request asks for 0 seconds; default 3600. */
  defaultTtlSeconds?: number;
  /** Longest lifetime a request may ask for; default 86 400 (one day). */
  maxTtlSeconds?: number;
}

/**
 * A freshly issued session token.
 *
 * @example
 * ```ts
 * const { token, expiresAt }: IssuedToken = tokens.issue({ userId: 'usr_1', tenantId: 'acme', ttlSeconds: 60 });
 * ```
 */
export interface IssuedToken {
  /** The bearer secret; only its hash is kept by the store. */
  token: string;
  /** Unix milliseconds. */
  expiresAt: number;
}

/**
 * What a token stands for, from {@link TokenStore.validate}.
 *
 * @example
 * ```ts
 * const result: TokenValidation = tokens.validate(token);
 * if (result.valid) console.log(result.userId, result.tenantId);
 * ```
 */
export type TokenValidation =
  | { valid: true; userId: string; tenantId: string; expiresAt: number }
  | { valid: false; reason: 'unknown' | 'expired' };

/**
 * The in-memory session-token store of identity-service.
 *
 * @example
 * ```ts
 * const tokens: TokenStore = createTokenStore();
 * ```
 */
export interface TokenStore {
  /** Issues a token; a bad request throws INVALID_ARGUMENT naming the field. */
  issue(request: { userId: string; tenantId: string; ttlSeconds: number }): IssuedToken;
  /** Looks a token up; an expired token is forgotten. */
  validate(token: string): TokenValidation;
  /** Number of tokens held (expired ones not yet swept included). */
  size(): number;
}

interface Session {
  userId: string;
  tenantId: string;
  expiresAt: number;
}

const TOKEN_PREFIX = 'sgt_';

/**
 * Creates the session-token store: random 256-bit bearer tokens, kept only as hashes, each bound
 * to one user of one tenant until it expires. Expired tokens are swept as new ones are issued.
 *
 * @example
 * ```ts
 * const tokens = createTokenStore({ defaultTtlSeconds: 900 });
 * const issued = tokens.issue({ userId: 'usr_1', tenantId: 'acme', ttlSeconds: 0 });
 * tokens.validate(issued.token); // { valid: true, userId: 'usr_1', tenantId: 'acme', expiresAt: ... }
 * ```
 */
export function createTokenStore(options: TokenStoreOptions = {}): TokenStore {
  const now = options.now ?? Date.now;
  const defaultTtlSeconds = options.defaultTtlSeconds ?? 3600;
  const maxTtlSeconds = options.maxTtlSeconds ?? 86_400;
  // Insertion-ordered, so the sweep can stop at the first live session of the default lifetime.
  const sessions = new Map<string, Session>();

  const sweep = (at: number): void => {
    for (const [hash, session] of sessions) {
      if (session.expiresAt > at) break;
      sessions.delete(hash);
    }
  };

  return {
    issue({ userId, tenantId, ttlSeconds }) {
      assertArgument(userId.trim() !== '', 'user_id is required');
      assertArgument(tenantId.trim() !== '', 'tenant_id is required');
      assertArgument(ttlSeconds >= 0, `ttl_seconds must not be negative (got ${ttlSeconds})`);
      assertArgument(
        ttlSeconds <= maxTtlSeconds,
        `ttl_seconds must be at most ${maxTtlSeconds} (got ${ttlSeconds})`,
      );
      const at = now();
      sweep(at);
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const expiresAt = at + (ttlSeconds === 0 ? defaultTtlSeconds : ttlSeconds) * 1000;
      sessions.set(tokenHash(token), { userId, tenantId, expiresAt });
      return { token, expiresAt };
    },
    validate(token) {
      const hash = tokenHash(token);
      const session = sessions.get(hash);
      if (session === undefined) return { valid: false, reason: 'unknown' };
      if (session.expiresAt <= now()) {
        sessions.delete(hash);
        return { valid: false, reason: 'expired' };
      }
      return { valid: true, ...session };
    },
    size: () => sessions.size,
  };
}
