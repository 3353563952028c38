import { createBackoff } from './backoff';

/**
 * Default fraction of the lifetime left when a certificate is renewed.
 *
 * @example
 * ```ts
 * renewalTime(validity, { remainingFraction: DEFAULT_RENEW_REMAINING_FRACTION, jitterFraction: 0 });
 * ```
 */
export const DEFAULT_RENEW_REMAINING_FRACTION = 0.3;
/**
 * Default extra fraction of the lifetime by which renewal may come earlier, at random.
 *
 * @example
 * ```ts
 * const earliest = DEFAULT_RENEW_REMAINING_FRACTION + DEFAULT_RENEW_JITTER_FRACTION; // renew with 30-40% left
 * ```
 */
export const DEFAULT_RENEW_JITTER_FRACTION = 0.1;

/**
 * The validity a renewal decision is based on.
 *
 * @example
 * ```ts
 * const validity: CertificateValidity = { notBefore: identity.notBefore, notAfter: identity.notAfter, obtainedAt: identity.obtainedAt };
 * const at = renewalTime(validity);
 * ```
 */
export interface CertificateValidity {
  notBefore: Date;
  notAfter: Date;
  /**
   * When this agent obtained the certificate. Issuers back-date notBefore for clock skew, which
   * would make a short certificate look older than it is; the lifetime counts from the later of
   * the two.
   */
  obtainedAt?: Date;
}

/**
 * Options of {@link renewalTime}.
 *
 * @example
 * ```ts
 * const options: RenewalTimeOptions = { remainingFraction: 0.5, jitterFraction: 0, random: () => 0 };
 * renewalTime({ notBefore, notAfter }, options); // exactly half-way through the lifetime
 * ```
 */
export interface RenewalTimeOptions {
  /** Renew when this fraction of the lifetime is left. Default 0.3. */
  remainingFraction?: number;
  /** Up to this further fraction earlier, uniformly at random. Default 0.1. */
  jitterFraction?: number;
  /** Uniform random source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * When to renew a certificate: once `remainingFraction` (30%) of its lifetime is left, minus a
 * random jitter of up to `jitterFraction` (10%) of the lifetime, so a fleet issued at the same
 * moment does not renew in the same second. Never later than the 30% mark.
 *
 * @example
 * ```ts
 * const at = renewalTime({ notBefore, notAfter, obtainedAt: new Date() });
 * setTimeout(renew, at.getTime() - Date.now());
 * ```
 */
export function renewalTime(validity: CertificateValidity, options: RenewalTimeOptions = {}): Date {
  const remainingFraction = options.remainingFraction ?? DEFAULT_RENEW_REMAINING_FRACTION;
  const jitterFraction = options.jitterFraction ?? DEFAULT_RENEW_JITTER_FRACTION;
  const random = options.random ?? Math.random;
  const end = validity.notAfter.getTime();
  const start = Math.min(
    end,
    Math.max(validity.notBefore.getTime(), validity.obtainedAt?.getTime() ?? -Infinity),
  );
  const lifetime = end - start;
  const remaining = lifetime * (remainingFraction + jitterFraction * random());
  return new Date(end - remaining);
}

/**
 * Why a renewal ran.
 *
 * @example
 * ```ts
 * const renew = async (reason: RenewalReason): Promise<void> => {
 *   logger.info({ event: 'renewal.started', reason }, 'renewal.started');
 *   await renewOnce();
 * };
 * ```
 */
export type RenewalReason = 'scheduled' | 'requested' | 'retry';

/**
 * Options of {@link createRenewalScheduler}.
 *
 * @example
 * ```ts
 * const options: RenewalSchedulerOptions = {
 *   current: () => identity, renew, retryInitialMs: 1_000, retryMaxMs: 60_000,
 *   onError: (err, retryInMs) => logger.warn({ event: 'renewal.failed', reason: (err as Error).message, retryInMs }, 'renewal.failed'),
 * };
 * const scheduler = createRenewalScheduler(options);
 * ```
 */
export interface RenewalSchedulerOptions extends RenewalTimeOptions {
  /** The certificate currently in use. */
  current: () => CertificateValidity;
  /** Obtains and installs a new certificate; the scheduler then plans from `current()` again. */
  renew: (reason: RenewalReason) => Promise<void>;
  /** Called after a failed renewal with the delay until the next attempt. */
  onError?: (error: unknown, retryInMs: number) => void;
  /** Clock in unix milliseconds. Default `Date.now`. */
  now?: () => number;
  /** First retry ceiling after a failure (full-jitter backoff). Default 1 000 ms. */
  retryInitialMs?: number;
  /** Retry cap. Default 60 000 ms, and never more than a quarter of the time left (nor less than `retryInitialMs`). */
  retryMaxMs?: number;
  /**
   * Called once when a renewal is due or has failed and the certificate has already expired (the
   * process was stopped or suspended past `notAfter`): the scheduler stops, since an expired
   * certificate cannot authenticate a renewal. Without it the scheduler just stops.
   */
  onExpired?: (notAfter: Date) => void;
}

/**
 * Keeps one certificate renewed, see {@link createRenewalScheduler}.
 *
 * @example
 * ```ts
 * const scheduler: RenewalScheduler = createRenewalScheduler({ current: () => identity, renew });
 * scheduler.start();
 * logger.info({ event: 'renewal.scheduled', renewAt: scheduler.nextRenewalAt?.toISOString() }, 'renewal.scheduled');
 * scheduler.stop();
 * ```
 */
export interface RenewalScheduler {
  /** Plans the next renewal from the current certificate. */
  start(): void;
  /** Cancels the pending timer; a renewal in flight completes but plans nothing further. */
  stop(): void;
  /** Renews at once (a RenewNow command); joins a renewal already in flight. */
  renewNow(): Promise<void>;
  /** When the next renewal is due, if one is planned. */
  readonly nextRenewalAt: Date | undefined;
}

// setTimeout fires immediately for delays beyond 2^31-1 ms; long waits are chained.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Renews a certificate at {@link renewalTime}, on demand, and after failures with full-jitter
 * backoff (retrying faster as expiry approaches). Once the certificate has expired (the process
 * slept past `notAfter`) it stops and calls `onExpired` instead of retrying. Timers are unref'd: the agent's streams and
 * servers keep the process alive, not the scheduler.
 *
 * @example
 * ```ts
 * const scheduler = createRenewalScheduler({
 *   current: () => identity.validity,
 *   renew: async () => identity.install(await renewWithController()),
 *   onError: (err, retryInMs) => logger.warn({ event: 'renewal_failed', err, retryInMs }),
 * });
 * scheduler.start();
 * ```
 */
export function createRenewalScheduler(options: RenewalSchedulerOptions): RenewalScheduler {
  const now = options.now ?? Date.now;
  const retryInitialMs = options.retryInitialMs ?? 1_000;
  const retry = createBackoff({
    initialMs: retryInitialMs,
    maxMs: options.retryMaxMs ?? 60_000,
    random: options.random,
  });
  let timer: NodeJS.Timeout | undefined;
  let dueAt: number | undefined;
  let inFlight: Promise<void> | undefined;
  let running = false;

  const clear = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    dueAt = undefined;
  };

  const arm = (at: number, reason: RenewalReason): void => {
    clear();
    dueAt = at;
    const wait = (): void => {
      const delay = at - now();
      if (delay > MAX_TIMER_MS) {
        timer = setTimeout(wait, MAX_TIMER_MS);
      } else {
        timer = setTimeout(() => void run(reason).catch(() => undefined), Math.max(0, delay));
      }
      timer.unref();
    };
    wait();
  };

  const notAfter = (): Date => options.current().notAfter;
  // An expired certificate cannot authenticate a renewal: stop instead of retrying.
  const expired = (): boolean => {
    if (notAfter().getTime() > now()) return false;
    const wasRunning = running;
    running = false;
    clear();
    if (wasRunning) options.onExpired?.(notAfter());
    return true;
  };

  const plan = (): void => {
    arm(renewalTime(options.current(), options).getTime(), 'scheduled');
  };

  const run = (reason: RenewalReason): Promise<void> => {
    if (inFlight) return inFlight;
    clear();
    inFlight = (async () => {
      if (expired()) throw new Error(`the certificate expired at ${notAfter().toISOString()}`);
      try {
        await options.renew(reason);
        retry.reset();
        if (running) plan();
      } catch (error) {
        if (expired()) throw error;
        const left = notAfter().getTime() - now();
        // Exponential with full jitter; near expiry the cap shrinks, but never below the first ceiling.
        const delay = Math.min(retry.next(), Math.max(retryInitialMs, Math.floor(left / 4)));
        if (running) arm(now() + delay, 'retry');
        options.onError?.(error, delay);
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    start() {
      running = true;
      plan();
    },
    stop() {
      running = false;
      clear();
    },
    renewNow() {
      return run('requested');
    },
    get nextRenewalAt() {
      return dueAt === undefined ? undefined : new Date(dueAt);
    },
  };
}
