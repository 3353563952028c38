/**
 * The gRPC status codes (the numbers of the gRPC wire protocol, the same as grpc-js's `status`
 * enum), so that `@sigil/errors` maps to gRPC without depending on a gRPC library.
 *
 * @example
 * ```ts
 * import { GrpcStatus } from '@sigil/errors';
 *
 * if (err.code === GrpcStatus.UNAUTHENTICATED) console.error('send a client certificate');
 * ```
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * One of the numbers of {@link GrpcStatus}.
 *
 * @example
 * ```ts
 * const code: GrpcStatusCode = GrpcStatus.NOT_FOUND;
 * ```
 */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(GrpcStatus).map(([name, code]) => [code, name]),
);

/**
 * The name of a gRPC status code (`PERMISSION_DENIED` for 7), or `CODE_<n>` for a number outside
 * the protocol.
 *
 * @example
 * ```ts
 * console.log(grpcStatusName(GrpcStatus.UNAVAILABLE)); // UNAVAILABLE
 * ```
 */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? `CODE_${code}`;
}

/**
 * True for 1..16: a gRPC status that ends a call with an error (OK is not one).
 *
 * @example
 * ```ts
 * if (isGrpcErrorStatus(err.code)) console.error(grpcStatusName(err.code), err.details);
 * ```
 */
export function isGrpcErrorStatus(code: unknown): code is GrpcStatusCode {
  return typeof code === 'number' && code !== GrpcStatus.OK && NAMES.has(code);
}
