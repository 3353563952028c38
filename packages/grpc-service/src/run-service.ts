import type pino from 'pino';
import { createLogger, installShutdownHandlers, runMain, type LogLevel } from '@sigil/runtime';

/**
 * Options for {@link runService}.
 *
 * @example
 * ```ts
 * const options: RunServiceOptions<IdentityServiceConfig> = {
 *   loadConfig: () => loadIdentityServiceConfig(process.env),
 *   start: startIdentityService,
 * };
 * ```
 */
export interface RunServiceOptions<
  Config extends { name: string; logLevel: LogLevel; shutdownTimeoutMs: number },
> {
  /** Parses the environment (throwing one SigilError on bad input). */
  loadConfig: () => Config;
  /** Starts the service; the returned `close` drains it. */
  start: (config: Config, logger: pino.Logger) => Promise<{ close(): Promise<void> }>;
}

/**
 * The whole `main` of a Sigil service: parse the config, create the logger at `LOG_LEVEL`, start,
 * and drain on SIGTERM/SIGINT (the process is forced down 5 s after the drain timeout). A start-up
 * failure prints one `error CODE: message` line and exits 1 (see `runMain` of `@sigil/runtime`).
 *
 * @example
 * ```ts
 * // src/main.ts
 * runService({ loadConfig: () => loadIdentityServiceConfig(process.env), start: startIdentityService });
 * ```
 */
export function runService<
  Config extends { name: string; logLevel: LogLevel; shutdownTimeoutMs: number },
>(options: RunServiceOptions<Config>): void {
  runMain(async () => {
    const config = options.loadConfig();
    const logger = createLogger({ name: config.name, level: config.logLevel });
    const running = await options.start(config, logger);
    installShutdownHandlers({
      logger,
      timeoutMs: config.shutdownTimeoutMs + 5000,
      shutdown: () => running.close(),
    });
  });
}
