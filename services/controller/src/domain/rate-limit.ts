// A token bucket per key, on the controller's clock. Written here rather than taken from
// rate-limiter-flexible: its memory limiter reads Date.now(), so tests could not pin time with
// the controller's `clock`, and the policy is ten lines.

/** A bucket's size and refill rate. */
export interface RateLimitPolicy {
  /** Requests allowed at once after a quiet period. */
  burst: number;
  /** Requests regained per second. */
  perSecond: number;
}

/** One key's bucket. */
export interface TokenBucket {
  tokens: number;
  /** Unix milliseconds of the last refill. */
  at: number;
}

/** The verdict of {@link takeToken}. */
export interface RateLimitVerdict {
  allowed: boolean;
  bucket: TokenBucket;
  /** When refused: seconds until one request is allowed again (rounded up). */
  retryAfterSeconds: number;
}

/**
 * Refills `bucket` to `now` and takes one token if there is one. Pure.
 *
 * @example
 * ```ts
 * const verdict = takeToken(undefined, Date.now(), { burst: 10, perSecond: 0.2 });
 * verdict.allowed; // true: a new bucket starts full
 * ```
 */
export function takeToken(
  bucket: TokenBucket | undefined,
  now: number,
  policy: RateLimitPolicy,
): RateLimitVerdict {
  const start = bucket ?? { tokens: policy.burst, at: now };
  const elapsed = Math.max(0, now - start.at) / 1000;
  const tokens = Math.min(policy.burst, start.tokens + elapsed * policy.perSecond);
  if (tokens >= 1)
    return { allowed: true, bucket: { tokens: tokens - 1, at: now }, retryAfterSeconds: 0 };
  return {
    allowed: false,
    bucket: { tokens, at: now },
    retryAfterSeconds: Math.ceil((1 - tokens) / policy.perSecond),
  };
}

/** Buckets by key (one per agent identity). */
export interface RateLimiter {
  /** Takes a token for `key` at `now` (Unix milliseconds). */
  take(key: string, now: number): RateLimitVerdict;
  /** Forgets `key` (e.g. after revocation). */
  forget(key: string): void;
}

/**
 * A keyed {@link takeToken} limiter held in memory. Keys are authenticated agent identities,
 * so the map is bounded by the number of enrolled agents.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ burst: 10, perSecond: 0.2 });
 * if (!limiter.take(peer.spiffeId, Date.now()).allowed) refuse();
 * ```
 */
export function createRateLimiter(policy: RateLimitPolicy): RateLimiter {
  const buckets = new Map<string, TokenBucket>();
  return {
    take(key, now) {
      const verdict = takeToken(buckets.get(key), now, policy);
      buckets.set(key, verdict.bucket);
      return verdict;
    },
    forget(key) {
      buckets.delete(key);
    },
  };
}
