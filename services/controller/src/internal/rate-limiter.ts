/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Requests a key may make per minute on average; also the burst (a full bucket). */
  perMinute: number;
  /** The most keys remembered; beyond it the least recently used key is forgotten. Default 10 000. */
  maxKeys?: number;
  clock: () => Date;
}

/** The answer of {@link RateLimiter.take}. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Token buckets keyed by caller (an address, or `*` for everyone). */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket, or says how long until one is available. */
  take(key: string): RateDecision;
  /** What {@link RateLimiter.take} would answer, without taking. */
  peek(key: string): RateDecision;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token-bucket rate limiter: each key starts with `perMinute` tokens, refilled continuously at
 * `perMinute` per minute. Memory is bounded by `maxKeys` (a forgotten key starts full again,
 * which only errs towards allowing).
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ perMinute: 30, clock: () => new Date() });
 * const decision = limiter.take(remoteAddress);
 * if (!decision.allowed) refuse(decision.retryAfterSeconds);
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { perMinute, clock } = options;
  const maxKeys = options.maxKeys ?? 10_000;
  const perMs = perMinute / 60_000;
  // A Map iterates in insertion order: deleting and re-inserting on use keeps it LRU.
  const buckets = new Map<string, Bucket>();
  const level = (key: string, now: number): number => {
    const previous = buckets.get(key);
    return previous === undefined
      ? perMinute
      : Math.min(perMinute, previous.tokens + (now - previous.at) * perMs);
  };
  const decide = (tokens: number): RateDecision =>
    tokens >= 1
      ? { allowed: true }
      : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
  return {
    take(key) {
      const now = clock().getTime();
      const tokens = level(key, now);
      const decision = decide(tokens);
      buckets.delete(key);
      buckets.set(key, { tokens: decision.allowed ? tokens - 1 : tokens, at: now });
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      return decision;
    },
    peek: (key) => decide(level(key, clock().getTime())),
  };
}
