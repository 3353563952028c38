import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, service as healthServiceDefinition } from 'grpc-health-check';

/**
 * The `grpc.health.v1.Health` service of a server, as `RunningGrpcService.health` exposes it.
 *
 * @example
 * ```ts
 * const { health }: { health: HealthService } = await startGrpcService({ config, logger, services });
 * health.setServing('sigil.user.v1.UserService', false);
 * ```
 */
export interface HealthService {
  /** The service definition, for `server.addService(definition, implementation)`. */
  definition: grpc.ServiceDefinition;
  /** Handlers for Check, Watch and List. */
  implementation: grpc.UntypedServiceImplementation;
  /**
   * Sets the status reported for `service` (`''` is the whole server) and notifies its watchers.
   * A service never set answers Check with NOT_FOUND, as the protocol requires.
   */
  setServing(service: string, serving: boolean): void;
  /**
   * Marks every known service NOT_SERVING, then ends the open Watch streams, so a draining server
   * does not wait on health watchers that would otherwise never finish.
   */
  shutdown(): void;
}

/**
 * Creates the standard gRPC health service (`grpc.health.v1.Health`, Check and Watch, from the
 * grpc-node `grpc-health-check` package). The whole server (`''`) starts SERVING.
 *
 * @example
 * ```ts
 * const health = createHealthService();
 * server.addService(health.definition, health.implementation);
 * health.setServing('sigil.identity.v1.IdentityService', true);
 * ```
 */
export function createHealthService(): HealthService {
  const health = new HealthImplementation({ '': 'SERVING' });
  const known = new Set<string>(['']);
  const watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  let implementation: grpc.UntypedServiceImplementation = {};
  // grpc-health-check only hands its handlers to a server; capture them to expose the pair.
  health.addToServer({
    addService: (_definition, handlers) => {
      implementation = handlers as grpc.UntypedServiceImplementation;
    },
  });
  const watch = implementation.watch as grpc.handleServerStreamingCall<unknown, unknown>;
  implementation = {
    ...implementation,
    watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      watches.add(call);
      call.once('cancelled', () => watches.delete(call));
      call.once('finish', () => watches.delete(call));
      watch(call);
    },
  };
  return {
    definition: healthServiceDefinition as unknown as grpc.ServiceDefinition,
    implementation,
    setServing(service, serving) {
      known.add(service);
      health.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
    },
    shutdown() {
      for (const service of known) health.setStatus(service, 'NOT_SERVING');
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
