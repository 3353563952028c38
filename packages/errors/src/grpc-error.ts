import { errorInfo } from './error-info';
import { GrpcStatus, grpcStatusName, isGrpcErrorStatus } from './grpc-status';
import type { GrpcStatusCode } from './grpc-status';
import { SigilError } from './sigil-error';

/**
 * The error a gRPC server answers a call with: grpc-js takes it as a `ServerErrorResponse` (pass
 * it to a unary callback, `call.emit('error', ...)` it, or throw it from an async handler). It
 * carries no metadata.
 *
 * @example
 * ```ts
 * const err: GrpcStatusError = toGrpcError(new SigilError('ERR_REQUEST_INVALID', 'csr_pem is required'));
 * console.log(err.code, err.details); // 3 'csr_pem is required'
 * ```
 */
export interface GrpcStatusError extends Error {
  readonly code: GrpcStatusCode;
  readonly details: string;
}

/**
 * The one mapping of errors to gRPC statuses. A {@link SigilError} gets the catalogue's status for
 * its code and its message as details; an error that already carries a gRPC status (a grpc-js
 * `ServiceError`, or one made by this function) keeps its code and details; anything else becomes
 * `INTERNAL` with the details `internal error`, so nothing unexpected leaks to the caller (log it).
 *
 * @example
 * ```ts
 * import { SigilError, toGrpcError } from '@sigil/errors';
 *
 * handle(call).then(
 *   (response) => callback(null, response),
 *   (err: unknown) => callback(toGrpcError(err)),
 * );
 * ```
 */
export function toGrpcError(err: unknown): GrpcStatusError {
  if (err instanceof SigilError)
    return statusError(errorInfo(err.code).grpcStatus, err.message, err);
  if (typeof err === 'object' && err !== null) {
    const { code, details } = err as { code?: unknown; details?: unknown };
    if (isGrpcErrorStatus(code))
      return statusError(code, typeof details === 'string' ? details : '', err);
  }
  return statusError(GrpcStatus.INTERNAL, 'internal error', err);
}

function statusError(code: GrpcStatusCode, details: string, cause: unknown): GrpcStatusError {
  return Object.assign(new Error(`${grpcStatusName(code)}: ${details}`, { cause }), {
    code,
    details,
  });
}
