import type pino from 'pino';

/**
 * Options for {@link installShutdownHandlers}.
 *
 * @example
 * ```ts
 * const options: ShutdownOptions = { logger, timeoutMs: 15_000, shutdown: () => running.close() };
 * ```
 */
export interface ShutdownOptions {
  logger: pino.Logger;
  /** Drains the process (stop accepting, finish in-flight work, close resources). Called once. */
  shutdown: (signal: NodeJS.Signals) => Promise<void>;
  /** How long the drain may take before the process is forced down; default 10 000 ms. */
  timeoutMs?: number;
  /** Signals that start the drain; default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Ends the process; default `process.exit`. Tests inject a recorder. */
  exit?: (code: number) => void;
}

/**
 * On the first SIGTERM or SIGINT, runs `shutdown` once and exits 0 when it completes; exits 1 if it
 * rejects, if it is still running after `timeoutMs`, or on a second signal (an impatient operator).
 * Returns a function that removes the handlers.
 *
 * @example
 * ```ts
 * installShutdownHandlers({
 *   logger,
 *   timeoutMs: 10_000,
 *   shutdown: async () => { await grpcService.close(); },
 * });
 * ```
 */
export function installShutdownHandlers(options: ShutdownOptions): () => void {
  const { logger } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let timer: NodeJS.Timeout | undefined;
  let draining = false;
  let done = false;

  const finish = (code: number): void => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn({ event: 'shutdown.forced', signal }, 'shutdown.forced');
      finish(1);
      return;
    }
    draining = true;
    logger.info({ event: 'shutdown.started', signal, timeoutMs }, 'shutdown.started');
    timer = setTimeout(() => {
      logger.error({ event: 'shutdown.timeout', signal, timeoutMs }, 'shutdown.timeout');
      finish(1);
    }, timeoutMs);
    timer.unref();
    options.shutdown(signal).then(
      () => {
        logger.info({ event: 'shutdown.completed', signal }, 'shutdown.completed');
        finish(0);
      },
      (err: unknown) => {
        logger.error({ event: 'shutdown.failed', signal, err }, 'shutdown.failed');
        finish(1);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
    if (timer !== undefined) clearTimeout(timer);
  };
}
