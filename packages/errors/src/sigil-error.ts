import type { ERROR_CATALOGUE } from './catalogue';

/**
 * A stable error code: one of the keys of {@link ERROR_CATALOGUE}, so a misspelt code does not
 * compile. docs/errors.md lists them all.
 *
 * @example
 * ```ts
 * const code: SigilErrorCode = 'ERR_PEM_MALFORMED';
 * if (isSigilError(err, code)) process.exitCode = 2;
 * ```
 */
export type SigilErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * Options accepted by the {@link SigilError} constructor.
 *
 * @example
 * ```ts
 * const options: SigilErrorOptions = { cause: err, details: { file: '/etc/grpc-tls/tls.key' } };
 * throw new SigilError('ERR_PEM_MALFORMED', '/etc/grpc-tls/tls.key: no PEM block found', options);
 * ```
 */
export interface SigilErrorOptions {
  /** The underlying error, kept for diagnostics. */
  cause?: unknown;
  /**
   * Structured context (the env var, file, SPIFFE ID or rule at fault). Never put secrets or
   * private keys here: details are logged.
   */
  details?: Record<string, unknown>;
}

/**
 * The one error class of Sigil. `code` is stable and safe to match on in scripts and tests;
 * `message` is for humans and names what is wrong and where.
 *
 * @example
 * ```ts
 * import { SigilError } from '@sigil/errors';
 *
 * throw new SigilError('ERR_TLS_ENV_MISSING', 'GRPC_SERVER_CERT_PATH is not set', {
 *   details: { variable: 'GRPC_SERVER_CERT_PATH' },
 * });
 * ```
 */
export class SigilError extends Error {
  override readonly name = 'SigilError';
  readonly code: SigilErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: SigilErrorCode, message: string, options: SigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  /**
   * Normalises anything thrown into a SigilError: a SigilError is returned as is, anything else
   * is wrapped with `code` (default `ERR_INTERNAL`) and its message kept.
   *
   * @example
   * ```ts
   * try {
   *   JSON.parse('{');
   * } catch (err) {
   *   const e = SigilError.from(err, 'ERR_CONFIG_INVALID');
   *   console.error(e.code, e.message);
   * }
   * ```
   */
  static from(err: unknown, code: SigilErrorCode = 'ERR_INTERNAL'): SigilError {
    if (err instanceof SigilError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new SigilError(code, message, { cause: err });
  }

  /** A plain object for structured logs and `--json` output. */
  toJSON(): { code: SigilErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: { ...this.details } };
  }
}

/**
 * True when `err` is a {@link SigilError}, optionally with the given code.
 *
 * @example
 * ```ts
 * if (isSigilError(err, 'ERR_PEM_MALFORMED')) process.exitCode = 2;
 * ```
 */
export function isSigilError(err: unknown, code?: SigilErrorCode): err is SigilError {
  return err instanceof SigilError && (code === undefined || err.code === code);
}
