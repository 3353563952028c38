import type { IncomingMessage, Server } from 'node:http';
import { SigilError } from '@sigil/errors';
import { createRateLimiter } from './rate-limiter';

/** Limits of the admin HTTP listener, see docs/controller.md "Limits". */
export interface AdminLimits {
  /** Open connections to the admin port (`ADMIN_MAX_CONNECTIONS`); more are closed on accept. */
  maxConnections: number;
  /** Time to send a whole request, and the longest an idle connection stays open (`ADMIN_REQUEST_TIMEOUT`). */
  requestTimeoutMs: number;
  /** Failed admin authentications per minute per address before it gets 429 (`ADMIN_AUTH_FAILURES_PER_MINUTE`). */
  authFailuresPerMinute: number;
}

/**
 * Defaults of {@link AdminLimits}: with the gRPC listener's 700 connections, a 1024-descriptor
 * process keeps well over 200 descriptors for the store, CA files and the process itself.
 *
 * @example
 * ```ts
 * const limits: AdminLimits = { ...ADMIN_LIMIT_DEFAULTS, maxConnections: 16 };
 * ```
 */
export const ADMIN_LIMIT_DEFAULTS: AdminLimits = {
  maxConnections: 64,
  requestTimeoutMs: 10_000,
  authFailuresPerMinute: 10,
};

/**
 * Bounds an admin HTTP server: `maxConnections` (Node closes a connection beyond it at once, so
 * idle connections cannot hold descriptors the gRPC listener needs), a deadline for request
 * headers and the whole request, and an idle timeout for kept-alive connections.
 *
 * @example
 * ```ts
 * await startHttpEndpoint({ ...options, configureServer: (server) => applyAdminServerLimits(server, limits) });
 * ```
 */
export function applyAdminServerLimits(server: Server, limits: AdminLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.requestTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = Math.min(5000, limits.requestTimeoutMs);
  // A connection that sends nothing is closed by the socket's inactivity timeout (the request
  // timers are only checked every 30 s).
  server.setTimeout(limits.requestTimeoutMs);
}

/** Options of {@link createAdminGuard}. */
export interface AdminGuardOptions {
  limits: AdminLimits;
  clock: () => Date;
  /** Called for each request refused as throttled (for metrics and the audit summary). */
  onThrottled?: (address: string) => void;
}

/** What the admin handler asks first, see {@link createAdminGuard}. */
export interface AdminGuard {
  /**
   * Before authentication: the request target as a URL, or a throw of `ERR_REQUEST_INVALID` (400)
   * for a target that is not one, or `ERR_RATE_LIMITED` (429, `details.retryAfterSeconds`) for an
   * address that failed authentication too often.
   */
  admit(req: IncomingMessage): URL;
  /** After a failed authentication from `req`'s address. */
  failed(req: IncomingMessage): void;
}

/**
 * The admin API's first line: parses the request target without a 500 on nonsense, and throttles
 * token guessing per remote address (a token bucket of `authFailuresPerMinute` failures; an
 * address with none left is refused before its token is even compared, so guessing gains
 * nothing). A correct token from a throttled address waits like everyone else.
 *
 * @example
 * ```ts
 * const guard = createAdminGuard({ limits, clock });
 * const url = guard.admit(req); // may throw 400 / 429
 * if (!authenticated) { guard.failed(req); throw unauthorized; }
 * ```
 */
export function createAdminGuard(options: AdminGuardOptions): AdminGuard {
  const failures = createRateLimiter({
    perMinute: options.limits.authFailuresPerMinute,
    clock: options.clock,
  });
  const addressOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';
  return {
    admit(req) {
      const url = parseRequestTarget(req.url ?? '/');
      const decision = failures.peek(addressOf(req));
      if (!decision.allowed) {
        options.onThrottled?.(addressOf(req));
        throw new SigilError(
          'ERR_RATE_LIMITED',
          `too many failed admin authentications from this address; retry after ${decision.retryAfterSeconds} s`,
          { details: { retryAfterSeconds: decision.retryAfterSeconds } },
        );
      }
      return url;
    },
    failed(req) {
      failures.take(addressOf(req));
    },
  };
}

/**
 * The request target of an HTTP request as a URL, or `ERR_REQUEST_INVALID` (a 400) when it is not
 * one (`GET http://[bad/ HTTP/1.1` reaches the handler: Node's parser accepts it).
 *
 * @example
 * ```ts
 * parseRequestTarget('/api/admin/audit?limit=5').pathname; // '/api/admin/audit'
 * ```
 */
export function parseRequestTarget(target: string): URL {
  try {
    return new URL(target, 'http://admin');
  } catch {
    throw new SigilError(
      'ERR_REQUEST_INVALID',
      `the request target "${target.slice(0, 80)}" is not a valid URL`,
    );
  }
}

const MIN_ADMIN_TOKEN_BITS = 128;
const CHARACTER_CLASSES: ReadonlyArray<[RegExp, number]> = [
  [/[a-z]/, 26],
  [/[A-Z]/, 26],
  [/[0-9]/, 10],
  [/[^a-zA-Z0-9]/, 33],
];

/**
 * Why `token` is too weak to be the admin token, or undefined when it is strong enough. The rule
 * (docs/controller.md): the estimated entropy, length × log2(size of the character classes it
 * uses: lower case 26, upper case 26, digits 10, others 33), must be at least 128 bits, and no
 * character may make up more than a quarter of it. `openssl rand -hex 32` passes; 16 copies of
 * one letter do not.
 *
 * @example
 * ```ts
 * adminTokenWeakness('aaaaaaaaaaaaaaaa'); // 'is too predictable: ...'
 * adminTokenWeakness(randomBytes(32).toString('hex')); // undefined
 * ```
 */
export function adminTokenWeakness(token: string): string | undefined {
  const pool = CHARACTER_CLASSES.filter(([re]) => re.test(token)).reduce((n, [, s]) => n + s, 0);
  const bits = Math.floor(token.length * Math.log2(Math.max(pool, 1)));
  const counts = new Map<string, number>();
  for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
  const most = Math.max(0, ...counts.values());
  if (bits < MIN_ADMIN_TOKEN_BITS || most > token.length / 4)
    return `is too predictable (about ${bits} bits estimated${most > token.length / 4 ? ', one character repeats too often' : ''}; at least ${MIN_ADMIN_TOKEN_BITS} bits are required): use e.g. openssl rand -hex 32`;
  return undefined;
}
