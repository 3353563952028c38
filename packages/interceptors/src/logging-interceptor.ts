import { performance } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { createObservingInterceptor } from './internal/observing-interceptor';
import type { CallObserver } from './internal/observing-interceptor';
import { findCallState } from './internal/call-state';
import { methodName } from './internal/method-path';
import { resolvePeerIdentity } from './internal/resolve-peer-identity';
import { statusName } from './internal/status';

/**
 * Options of {@link createLoggingInterceptor}.
 *
 * @example
 * ```ts
 * const options: LoggingInterceptorOptions = { logger: pino({ name: 'identity-service' }) };
 * ```
 */
export interface LoggingInterceptorOptions {
  /** The pino logger that receives one `grpc.request` event per call. */
  logger: Logger;
}

const SERVER_FAULTS = new Set<number>([
  status.UNKNOWN,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
]);
const HEALTH_PACKAGE = 'grpc.health.v1.';

/**
 * A server interceptor that logs one structured `grpc.request` event when each call ends, with
 * `method`, `status` (grpc-js code name), `code`, `durationMs`, the caller's `spiffeId` (or
 * `peerSubject` for a certificate without one), `peerAddress`, the JWT `tokenHash` when a token
 * was verified, and `details` for failures. Level: `info` for OK (`debug` for health checks, which
 * probes call every few seconds), `error` for server faults (UNKNOWN, INTERNAL, UNAVAILABLE,
 * DATA_LOSS, UNIMPLEMENTED), `warn` otherwise. Tokens and request bodies are never logged.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ interceptors: [createIdentityInterceptor(), createLoggingInterceptor({ logger })] });
 * // {"level":30,"event":"grpc.request","method":"sigil.identity.v1.IdentityService/GetUser","status":"OK","code":0,"durationMs":1.2,"spiffeId":"spiffe://example.org/svc/user-service",...}
 * ```
 */
export function createLoggingInterceptor(options: LoggingInterceptorOptions): ServerInterceptor {
  return createObservingInterceptor([requestLogger(options.logger)], { resolveIdentity: false });
}

/** The observer behind {@link createLoggingInterceptor}, for the fused standard chain. */
export function requestLogger(logger: Logger): CallObserver {
  return (methodDescriptor, call) => {
    const startedAt = performance.now();
    return (code, details, requestMetadata) => {
      const name = methodName(methodDescriptor.path);
      const level =
        code === status.OK
          ? name.service.startsWith(HEALTH_PACKAGE)
            ? 'debug'
            : 'info'
          : SERVER_FAULTS.has(code)
            ? 'error'
            : 'warn';
      if (!logger.isLevelEnabled(level)) return;
      // Without request metadata the call never really started; do not touch its (closing) socket.
      const identity =
        requestMetadata === undefined ? undefined : resolvePeerIdentity(call, requestMetadata);
      logger[level](
        {
          event: 'grpc.request',
          method: name.fullName,
          status: statusName(code),
          code,
          durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
          spiffeId: identity?.spiffeId,
          peerSubject:
            identity !== undefined && identity.spiffeId === undefined
              ? identity.subject
              : undefined,
          peerAddress: call.getPeer(),
          tokenHash: findCallState(requestMetadata)?.tokenHash,
          details: code === status.OK ? undefined : details,
        },
        'grpc request',
      );
    };
  };
}
