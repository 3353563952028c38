import { dirname } from 'node:path';
import type pino from 'pino';
import { identityV1, userV1 } from '@sigil/proto';
import {
  reflectionServices,
  createMetricsRegistry,
  createUpstream,
  startGrpcService,
  type RunningGrpcService,
} from '@sigil/grpc-service';
import type { UserServiceConfig } from './config';
import { createUserHandlers } from './user-handlers';
import { createUserStore } from './user-store';

// @sigil/proto ships its .proto files: gRPC server reflection serves them (grpcurl ... list).
const PROTO_ROOT = dirname(require.resolve('@sigil/proto/package.json'));

/**
 * Starts user-service: UserService and grpc.health.v1 over mTLS, calling identity-service over
 * mTLS to validate session tokens. `close()` drains it and closes the upstream channel.
 *
 * @example
 * ```ts
 * const running = await startUserService(loadUserServiceConfig(process.env), logger);
 * ```
 */
export async function startUserService(
  config: UserServiceConfig,
  logger: pino.Logger,
): Promise<RunningGrpcService> {
  const registry = createMetricsRegistry();
  const identity = await createUpstream(identityV1.IdentityServiceClient, {
    config: config.identity,
    logger,
    registry,
  });
  return startGrpcService({
    config,
    logger,
    registry,
    services: [
      {
        definition: userV1.UserServiceService,
        implementation: createUserHandlers({ users: createUserStore(), identity, logger }),
      },
      ...reflectionServices(PROTO_ROOT, ['sigil/user/v1/user.proto']),
    ],
    resources: [identity],
  });
}
