import { errorInfo } from './error-info';
import { SigilError } from './sigil-error';

/**
 * The one mapping of errors to process exit codes: the catalogue's exit code of a
 * {@link SigilError}'s code, and that of `ERR_INTERNAL` (70) for anything else.
 *
 * @example
 * ```ts
 * import { toExitCode } from '@sigil/errors';
 *
 * main().catch((err: unknown) => {
 *   console.error(String(err));
 *   process.exitCode = toExitCode(err);
 * });
 * ```
 */
export function toExitCode(err: unknown): number {
  return errorInfo(err instanceof SigilError ? err.code : 'ERR_INTERNAL').exitCode;
}
