import { dirname } from 'node:path';
import type pino from 'pino';
import { identityV1 } from '@sigil/proto';
import { reflectionServices, startGrpcService, type RunningGrpcService } from '@sigil/grpc-service';
import type { IdentityServiceConfig } from './config';
import { createIdentityHandlers } from './identity-handlers';
import { createTokenStore, type TokenStoreOptions } from './token-store';

// @sigil/proto ships its .proto files: gRPC server reflection serves them (grpcurl ... list).
const PROTO_ROOT = dirname(require.resolve('@sigil/proto/package.json'));

/**
 * Starts identity-service: IdentityService and grpc.health.v1 over mTLS, with its authorization
 * policy and the /healthz, /readyz, /metrics endpoint. `close()` drains it.
 *
 * @example
 * ```ts
 * const running = await startIdentityService(loadIdentityServiceConfig(process.env), logger);
 * await running.close();
 * ```
 */
export function startIdentityService(
  config: IdentityServiceConfig,
  logger: pino.Logger,
  tokens: TokenStoreOptions = {},
): Promise<RunningGrpcService> {
  return startGrpcService({
    config,
    logger,
    services: [
      {
        definition: identityV1.IdentityServiceService,
        implementation: createIdentityHandlers({ tokens: createTokenStore(tokens), logger }),
      },
      ...reflectionServices(PROTO_ROOT, ['sigil/identity/v1/identity.proto']),
    ],
  });
}
