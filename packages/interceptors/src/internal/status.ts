import { status } from '@grpc/grpc-js';

/** `PERMISSION_DENIED` for 7: the names grpc-js uses, for logs. */
export function statusName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}

/**
 * The `grpc_code` label values of go-grpc-prometheus (`codes.Code.String()` in Go), so the usual
 * gRPC dashboards and alerts work unchanged.
 */
const PROMETHEUS_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export function prometheusCodeName(code: number): string {
  return PROMETHEUS_CODE_NAMES[code] ?? `Code(${code})`;
}
