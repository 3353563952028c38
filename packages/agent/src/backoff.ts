/**
 * Options of `createBackoff`.
 *
 * @example
 * ```ts
 * const options: BackoffOptions = { initialMs: 500, maxMs: 30_000, multiplier: 2, random: () => 0.5 };
 * createBackoff(options).next(); // 250
 * ```
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in milliseconds. Default 500. */
  initialMs?: number;
  /** Cap of every delay, in milliseconds. Default 30 000. */
  maxMs?: number;
  /** Growth of the ceiling per failed attempt. Default 2. */
  multiplier?: number;
  /** Uniform random source in [0, 1); inject a fixed one in tests. Default `Math.random`. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter, see `createBackoff`.
 *
 * @example
 * ```ts
 * const backoff: Backoff = createBackoff({ initialMs: 500, maxMs: 30_000 });
 * const delay = backoff.next();
 * logger.warn({ event: 'stream.retry', attempt: backoff.attempts, retryInMs: delay }, 'stream.retry');
 * ```
 */
export interface Backoff {
  /** The delay before the next attempt, and counts the attempt. */
  next(): number;
  /** Back to the first ceiling; call once a connection has proved healthy. */
  reset(): void;
  /** Failed attempts since the last reset. */
  readonly attempts: number;
}

/**
 * Exponential backoff with FULL jitter ("Exponential Backoff And Jitter", AWS architecture
 * blog): attempt n waits a uniform random time in [0, min(maxMs, initialMs * multiplier^n)).
 * Full jitter spreads a fleet of agents that lost the same controller over the whole window, so
 * they do not reconnect in lockstep.
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ initialMs: 500, maxMs: 30_000 });
 * const retry = () => setTimeout(connect, backoff.next());
 * stream.on('data', () => backoff.reset());
 * ```
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 500;
  const maxMs = Math.max(options.maxMs ?? 30_000, initialMs);
  const multiplier = options.multiplier ?? 2;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, initialMs * multiplier ** attempts);
      attempts += 1;
      return Math.floor(random() * ceiling);
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
