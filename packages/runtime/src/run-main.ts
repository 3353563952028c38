import type pino from 'pino';
import { SigilError } from '@sigil/errors';

/**
 * Options for {@link runMain}.
 *
 * @example
 * ```ts
 * const logger = createLogger({ name: 'identity-service' });
 * runMain(() => startIdentityService(config), { logger });
 * ```
 */
export interface RunMainOptions {
  /** Also logs the failure as a `main.failed` event (with the cause chain) when given. */
  logger?: pino.Logger;
}

function exitCodeOf(error: SigilError): number {
  const code = error.details.exitCode;
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
}

/**
 * Runs a process entry point. When `main` rejects, prints ONE line `error ERR_CODE: message` on
 * standard error (anything not a SigilError is reported as `ERR_INTERNAL`), logs a `main.failed`
 * event, and exits with code 1 (or the error's `details.exitCode`). Never a bare stack trace.
 * When `main` resolves the process keeps running for as long as its servers do.
 *
 * @example
 * ```ts
 * // src/main.ts
 * runMain(async () => {
 *   const config = loadConfig(process.env);
 *   await startIdentityService(config);
 * });
 * ```
 */
export function runMain(main: () => Promise<void>, options: RunMainOptions = {}): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      const error = SigilError.from(err);
      options.logger?.error(
        {
          event: 'main.failed',
          code: error.code,
          details: error.details,
          err: error.cause ?? error,
        },
        'main.failed',
      );
      process.stderr.write(`error ${error.code}: ${error.message}\n`);
      process.exit(exitCodeOf(error));
    });
}
