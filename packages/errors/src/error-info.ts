import { ERROR_CATALOGUE } from './catalogue';
import type { ErrorCatalogueEntry } from './catalogue';
import type { SigilErrorCode } from './sigil-error';

/**
 * Where docs/errors.md is published; every code has an anchor there (its lower-cased name) and
 * HTTP problem bodies use `<ERRORS_DOCS_URL>#<anchor>` as their `type`.
 *
 * @example
 * ```ts
 * console.log(`${ERRORS_DOCS_URL}#err_tls_env_missing`);
 * ```
 */
export const ERRORS_DOCS_URL = 'https://github.com/sigil-dev/sigil/blob/main/docs/errors.md';

/**
 * A catalogue entry with its code and where it is documented.
 *
 * @example
 * ```ts
 * const info: ErrorInfo = errorInfo('ERR_CONFIG_MISSING');
 * console.error(`${info.meaning} Fix: ${info.fix} (${info.docsUrl})`);
 * ```
 */
export interface ErrorInfo extends ErrorCatalogueEntry {
  readonly code: SigilErrorCode;
  /** The anchor of the code in docs/errors.md: the code in lower case (`err_config_missing`). */
  readonly anchor: string;
  /** `ERRORS_DOCS_URL#anchor`. */
  readonly docsUrl: string;
}

/**
 * Everything the catalogue says about `code`.
 *
 * @example
 * ```ts
 * import { errorInfo } from '@sigil/errors';
 *
 * const { grpcStatus, httpStatus, exitCode } = errorInfo('ERR_PEM_MALFORMED');
 * ```
 */
export function errorInfo(code: SigilErrorCode): ErrorInfo {
  const entry: ErrorCatalogueEntry = ERROR_CATALOGUE[code];
  const anchor = code.toLowerCase();
  return { ...entry, code, anchor, docsUrl: `${ERRORS_DOCS_URL}#${anchor}` };
}

/**
 * Every code of the catalogue, sorted.
 *
 * @example
 * ```ts
 * for (const code of listErrorCodes()) console.log(code, errorInfo(code).meaning);
 * ```
 */
export function listErrorCodes(): SigilErrorCode[] {
  return (Object.keys(ERROR_CATALOGUE) as SigilErrorCode[]).sort();
}

/**
 * True when `value` is a code of the catalogue.
 *
 * @example
 * ```ts
 * if (isSigilErrorCode(json.error.code)) console.error(errorInfo(json.error.code).fix);
 * ```
 */
export function isSigilErrorCode(value: unknown): value is SigilErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}
