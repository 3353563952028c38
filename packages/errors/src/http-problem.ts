import type { HttpErrorStatus } from './catalogue';
import { errorInfo } from './error-info';
import { SigilError } from './sigil-error';
import type { SigilErrorCode } from './sigil-error';

/**
 * The media type of an RFC 9457 problem body.
 *
 * @example
 * ```ts
 * res.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE });
 * ```
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `error` field per HTTP status: the names the admin API has always answered with. */
const ERROR_NAMES: Record<HttpErrorStatus, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
};

/**
 * An HTTP error body: the RFC 9457 members (`type`, `title`, `status`, `detail`, `instance`), the
 * Sigil `code`, and the fields Sigil's admin API has always sent (`error`, `reason`, `field`).
 *
 * @example
 * ```ts
 * const body: ProblemDetails = toProblemDetails(err, { instance: '/api/admin/tokens' });
 * console.log(body.status, body.error, body.reason, body.field);
 * ```
 */
export interface ProblemDetails {
  /** A short name of the HTTP status: `bad_request`, `unauthorized`, `not_found`, ... */
  error: string;
  /** What is wrong, for humans (the same text as `detail`). */
  reason: string;
  /** The request field at fault, when one is (`details.field` of the error). */
  field?: string;
  /** RFC 9457: the docs/errors.md anchor of the code. */
  type: string;
  /** RFC 9457: the catalogue's one-line meaning of the code, as plain text. */
  title: string;
  /** RFC 9457: the HTTP status. */
  status: HttpErrorStatus;
  /** RFC 9457: this occurrence (the error's message). */
  detail: string;
  /** RFC 9457: the request path, when given. */
  instance?: string;
  /** The Sigil error code. */
  code: SigilErrorCode;
}

/**
 * Options of {@link toProblemDetails}.
 *
 * @example
 * ```ts
 * const options: ProblemDetailsOptions = { instance: url.pathname };
 * ```
 */
export interface ProblemDetailsOptions {
  /** The request path, sent as `instance`. */
  instance?: string;
}

/**
 * The one mapping of errors to HTTP problem bodies (RFC 9457). A {@link SigilError} gets the
 * catalogue's HTTP status for its code, its message as `detail`/`reason` and `details.field` as
 * `field`; anything else becomes a 500 `ERR_INTERNAL` whose detail leaks nothing. Send it with
 * `Content-Type: application/problem+json` ({@link PROBLEM_CONTENT_TYPE}).
 *
 * @example
 * ```ts
 * import { PROBLEM_CONTENT_TYPE, SigilError, toProblemDetails } from '@sigil/errors';
 *
 * const problem = toProblemDetails(new SigilError('ERR_NOT_FOUND', 'no connector "edge-9"'), { instance: req.url });
 * res.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE });
 * res.end(JSON.stringify(problem));
 * ```
 */
export function toProblemDetails(
  err: unknown,
  options: ProblemDetailsOptions = {},
): ProblemDetails {
  const error = err instanceof SigilError ? err : new SigilError('ERR_INTERNAL', 'internal error');
  const info = errorInfo(error.code);
  const field = error.details.field;
  return {
    error: ERROR_NAMES[info.httpStatus],
    reason: error.message,
    ...(typeof field === 'string' ? { field } : {}),
    type: info.docsUrl,
    title: info.meaning.replace(/`/g, ''),
    status: info.httpStatus,
    detail: error.message,
    ...(options.instance === undefined ? {} : { instance: options.instance }),
    code: error.code,
  };
}
