import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import { isGrpcErrorStatus, toGrpcError } from '@sigil/errors';

/**
 * A gRPC status error a handler throws to answer with that status.
 *
 * @example
 * ```ts
 * const err: RpcError = rpcError(grpc.status.NOT_FOUND, 'user usr_1 not found');
 * console.log(err.code, err.details);
 * ```
 */
export interface RpcError extends Error {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/**
 * Creates the error a handler throws (or an upstream call rejects with) to end a call with a gRPC
 * status: `throw rpcError(grpc.status.NOT_FOUND, 'post post_42 does not exist')`.
 *
 * @example
 * ```ts
 * if (request.userId === '') throw rpcError(grpc.status.INVALID_ARGUMENT, 'user_id is required');
 * ```
 */
export function rpcError(code: grpc.status, details: string): RpcError {
  return Object.assign(toGrpcError({ code, details }), { metadata: new grpc.Metadata() });
}

/**
 * True when `err` carries a gRPC status (thrown by {@link rpcError} or received from a call),
 * optionally a given one.
 *
 * @example
 * ```ts
 * if (isRpcError(err, grpc.status.NOT_FOUND)) throw rpcError(grpc.status.NOT_FOUND, 'author does not exist');
 * ```
 */
export function isRpcError(err: unknown, code?: grpc.status): err is RpcError {
  if (typeof err !== 'object' || err === null) return false;
  const value = (err as { code?: unknown }).code;
  return isGrpcErrorStatus(value) && (code === undefined || value === code);
}

/**
 * Adapts an async function to a grpc-js unary handler. A rejection answers with the status of
 * `toGrpcError` from @sigil/errors: an {@link RpcError} with its status, a SigilError with its
 * code's status in the error catalogue and its message, anything else INTERNAL without leaking
 * the message. Every rejection that is not an RpcError is logged as `rpc.failed`.
 *
 * @example
 * ```ts
 * const handlers: identityV1.IdentityServiceServer = {
 *   validateToken: unaryHandler(logger, async (call) => tokens.validate(call.request.token)),
 *   issueToken: unaryHandler(logger, async (call) => tokens.issue(call.request)),
 * };
 * ```
 */
export function unaryHandler<Request, Response>(
  logger: pino.Logger,
  handle: (call: grpc.ServerUnaryCall<Request, Response>) => Promise<Response>,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    handle(call).then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!isRpcError(err))
          logger.error({ event: 'rpc.failed', method: call.getPath(), err }, 'rpc.failed');
        callback(toGrpcError(err));
      },
    );
  };
}

/**
 * Throws INVALID_ARGUMENT with `details` unless `condition` holds: request validation in one line.
 *
 * @example
 * ```ts
 * assertArgument(request.userId.trim() !== '', 'user_id is required');
 * ```
 */
export function assertArgument(condition: boolean, details: string): asserts condition {
  if (!condition) throw rpcError(grpc.status.INVALID_ARGUMENT, details);
}
