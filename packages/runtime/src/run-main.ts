import type pino from 'pino';
import { SigilError, toExitCode } from '@sigil/errors';

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

/**
 * The catalogue's exit code (`toExitCode`), except that `ERR_INTERNAL`, the code of anything that
 * is not a SigilError, exits 1: long-running processes document 1 for every start-up failure, and
 * 70 is the `sigil` command's "bug" exit (docs/errors.md, "Exit codes").
 */
function exitCodeOf(error: SigilError): number {
  return error.code === 'ERR_INTERNAL' ? 1 : toExitCode(error);
}

/**
 * Runs a process entry point. When `main` rejects, prints ONE line `error ERR_CODE: message` on
 * standard error (anything not a SigilError is reported as `ERR_INTERNAL`), logs a `main.failed`
 * event, and exits with the error code's exit code in the catalogue of @sigil/errors (1 for most,
 * 2 for `ERR_ENROLLMENT_REFUSED`, 3 for `ERR_CONTROLLER_UNREACHABLE`), and 1 for anything that is
 * not a SigilError. Never a bare stack trace.
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
