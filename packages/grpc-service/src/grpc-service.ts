import * as grpc from '@grpc/grpc-js';
import { createServerCredentials } from '@sigil/grpc-tls';
import { createServerInterceptors } from '@sigil/interceptors';
import type pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { SigilError } from '@sigil/errors';
import type { GrpcServiceConfig } from './grpc-service-config';
import { createHealthService, type HealthService } from './health';
import { formatListenAddress, startHttpEndpoint, type HttpEndpoint } from '@sigil/runtime';
import { serviceNameOf } from './internal/service-name';

/**
 * One gRPC service a server hosts.
 *
 * @example
 * ```ts
 * const registration: GrpcServiceRegistration = { definition: identityV1.IdentityServiceService, implementation: handlers };
 * ```
 */
export interface GrpcServiceRegistration {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

/**
 * Options for {@link startGrpcService}.
 *
 * @example
 * ```ts
 * const options: StartGrpcServiceOptions = { config, logger, services: [registration], resources: [upstream] };
 * ```
 */
export interface StartGrpcServiceOptions {
  config: GrpcServiceConfig;
  logger: pino.Logger;
  services: GrpcServiceRegistration[];
  /** Where every metric goes (TLS, requests, authorization); default {@link createMetricsRegistry}. */
  registry?: Registry;
  /**
   * Called first when the server drains: end long-lived streams (watchers) so in-flight calls
   * can finish and the drain is not held up until the timeout.
   */
  onDrain?: () => void;
  /** Closed after the server has stopped (upstream channels, stores). */
  resources?: { close(): void | Promise<void> }[];
}

/**
 * A running service, from {@link startGrpcService}.
 *
 * @example
 * ```ts
 * const running: RunningGrpcService = await startGrpcService(options);
 * console.log(running.address, running.http.url);
 * await running.close();
 * ```
 */
export interface RunningGrpcService {
  /** The bound gRPC address (with the real port when 0 was asked for). */
  address: string;
  port: number;
  /** The health/metrics endpoint. */
  http: HttpEndpoint;
  health: HealthService;
  registry: Registry;
  /**
   * Drains: readiness and health go NOT_SERVING, `onDrain` runs, the server stops accepting
   * calls and waits for in-flight ones up to `config.shutdownTimeoutMs`, then cuts the rest;
   * finally closes resources, credentials and the HTTP endpoint. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts a Sigil gRPC service the one way every sample service does: server mTLS from
 * `@sigil/grpc-tls`, the interceptors of `@sigil/interceptors` (peer identity, request logging,
 * request metrics, authorization by SPIFFE ID under `config.authorization`), the standard
 * `grpc.health.v1.Health` service, and the /healthz, /readyz, /metrics endpoint. Logs
 * `service.started` with the bound addresses.
 *
 * @example
 * ```ts
 * const running = await startGrpcService({
 *   config, logger,
 *   services: [{ definition: identityV1.IdentityServiceService, implementation: handlers }],
 * });
 * installShutdownHandlers({ logger, shutdown: () => running.close() });
 * ```
 */
export async function startGrpcService(
  options: StartGrpcServiceOptions,
): Promise<RunningGrpcService> {
  const { config, logger } = options;
  const registry = options.registry ?? createMetricsRegistry();
  const closeGivenResources = async (): Promise<void> => {
    for (const resource of options.resources ?? []) await resource.close();
  };
  const tls = await createServerCredentials(config.tls, { logger, registry }).catch(
    async (err: unknown) => {
      await closeGivenResources();
      throw err;
    },
  );
  const health = createHealthService();
  const server = new grpc.Server({
    interceptors: createServerInterceptors({ policy: config.authorization, logger, registry }),
  });
  server.addService(health.definition, health.implementation);
  for (const service of options.services)
    server.addService(service.definition, service.implementation);

  const closeAllResources = async (): Promise<void> => {
    await closeGivenResources();
    tls.close();
  };
  const requested = formatListenAddress(config.listen);
  let serving = true;
  let port: number;
  let http: HttpEndpoint;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(requested, tls.credentials, (err, bound) =>
        err
          ? reject(
              new SigilError(
                'ERR_LISTEN_FAILED',
                `cannot listen for gRPC on ${requested} (GRPC_LISTEN_ADDR): ${err.message}`,
                {
                  cause: err,
                  details: { variable: 'GRPC_LISTEN_ADDR', address: requested },
                },
              ),
            )
          : resolve(bound),
      ),
    );
    http = await startHttpEndpoint({
      ...config.metricsListen,
      variable: 'METRICS_LISTEN_ADDR',
      registry,
      logger,
      isReady: () => serving,
    });
  } catch (err) {
    server.forceShutdown();
    await closeAllResources();
    throw err;
  }
  for (const service of options.services)
    health.setServing(serviceNameOf(service.definition), true);
  const address = formatListenAddress({ host: config.listen.host, port });
  logger.info(
    {
      event: 'service.started',
      service: config.name,
      address,
      port,
      metricsUrl: http.url,
      trustDomain: config.trustDomain,
      tlsMode: config.tls.mode,
      policy: config.authorization.source,
    },
    'service.started',
  );

  let closing: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    serving = false;
    health.shutdown();
    options.onDrain?.();
    const drained = new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true)));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs);
    });
    const clean = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (!clean) {
      logger.warn(
        {
          event: 'service.drain_timeout',
          service: config.name,
          timeoutMs: config.shutdownTimeoutMs,
        },
        'service.drain_timeout',
      );
      server.forceShutdown();
    }
    await closeAllResources();
    await http.close();
    logger.info(
      { event: 'service.stopped', service: config.name, drained: clean },
      'service.stopped',
    );
  };

  return {
    address,
    port,
    http,
    health,
    registry,
    close: () => (closing ??= drain()),
  };
}

/**
 * A prom-client registry with the process metrics (CPU, memory, event loop) already registered:
 * the one registry a service shares between its server, its upstream clients and /metrics.
 *
 * @example
 * ```ts
 * const registry = createMetricsRegistry();
 * const identity = await createUpstream(identityV1.IdentityServiceClient, { config: config.identity, logger, registry });
 * await startGrpcService({ config, logger, registry, services });
 * ```
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
