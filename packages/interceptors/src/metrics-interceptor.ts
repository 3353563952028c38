import { performance } from 'node:perf_hooks';
import type { ServerInterceptor, ServerMethodDefinition } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { createObservingInterceptor } from './internal/observing-interceptor';
import type { CallObserver } from './internal/observing-interceptor';
import { methodName } from './internal/method-path';
import { counter, histogram } from './internal/metrics';
import { prometheusCodeName } from './internal/status';

/**
 * Options of {@link createMetricsInterceptor}.
 *
 * @example
 * ```ts
 * const options: MetricsInterceptorOptions = { registry: new Registry() };
 * ```
 */
export interface MetricsInterceptorOptions {
  /** Where the metrics are registered; default: prom-client's global registry. */
  registry?: Registry;
  /** Histogram buckets in seconds; default go-grpc-prometheus's (5 ms to 10 s). */
  buckets?: number[];
}

type Labels = 'grpc_type' | 'grpc_service' | 'grpc_method';

interface MethodLabels {
  readonly labels: Record<Labels, string>;
  /** Indexed by status code. */
  readonly handled: Record<Labels | 'grpc_code', string>[];
}

/**
 * A server interceptor recording request metrics with go-grpc-prometheus names and labels, so
 * existing gRPC dashboards and alerts work: `grpc_server_started_total` and
 * `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}` (`grpc_code` in Go
 * spelling: `OK`, `PermissionDenied`, `Unauthenticated`, ...), and the
 * `grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}` histogram.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const server = new grpc.Server({ interceptors: [createMetricsInterceptor({ registry })] });
 * // later: res.end(await registry.metrics());
 * ```
 */
export function createMetricsInterceptor(
  options: MetricsInterceptorOptions = {},
): ServerInterceptor {
  return createObservingInterceptor([requestMetrics(options)], { resolveIdentity: false });
}

/** The observer behind {@link createMetricsInterceptor}, for the fused standard chain. */
export function requestMetrics(options: MetricsInterceptorOptions): CallObserver {
  const started = counter(options.registry, {
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
  });
  const handled = counter(options.registry, {
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'] as const,
  });
  const seconds = histogram(options.registry, {
    name: 'grpc_server_handling_seconds',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'] as const,
    buckets: options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  // Label objects are built once per method (and code), not per call.
  const byPath = new Map<string, MethodLabels>();
  const labelsOf = (definition: ServerMethodDefinition<unknown, unknown>): MethodLabels => {
    let entry = byPath.get(definition.path);
    if (entry === undefined) {
      const name = methodName(definition.path);
      entry = {
        labels: {
          grpc_type: rpcType(definition),
          grpc_service: name.service,
          grpc_method: name.method,
        },
        handled: [],
      };
      byPath.set(definition.path, entry);
    }
    return entry;
  };
  return (methodDescriptor) => {
    const entry = labelsOf(methodDescriptor);
    started.inc(entry.labels);
    const startedAt = performance.now();
    return (code) => {
      seconds.observe(entry.labels, (performance.now() - startedAt) / 1000);
      handled.inc(
        (entry.handled[code] ??= { ...entry.labels, grpc_code: prometheusCodeName(code) }),
      );
    };
  };
}

function rpcType(definition: ServerMethodDefinition<unknown, unknown>): string {
  if (definition.requestStream) return definition.responseStream ? 'bidi_stream' : 'client_stream';
  return definition.responseStream ? 'server_stream' : 'unary';
}
