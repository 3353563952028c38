import { dirname } from 'node:path';
import type pino from 'pino';
import { contentV1, userV1 } from '@sigil/proto';
import {
  createMetricsRegistry,
  createUpstream,
  reflectionServices,
  startGrpcService,
  type RunningGrpcService,
} from '@sigil/grpc-service';
import type { ContentServiceConfig } from './config';
import { createContentHandlers } from './content-handlers';
import { createPostStore } from './post-store';

// @sigil/proto ships its .proto files: gRPC server reflection serves them (grpcurl ... list).
const PROTO_ROOT = dirname(require.resolve('@sigil/proto/package.json'));

/**
 * Starts content-service: ContentService and grpc.health.v1 over mTLS, calling user-service over
 * mTLS to resolve authors. `close()` ends WatchPosts streams, drains, and closes the upstream.
 *
 * @example
 * ```ts
 * const running = await startContentService(loadContentServiceConfig(process.env), logger);
 * ```
 */
export async function startContentService(
  config: ContentServiceConfig,
  logger: pino.Logger,
): Promise<RunningGrpcService> {
  const registry = createMetricsRegistry();
  const users = await createUpstream(userV1.UserServiceClient, {
    config: config.users,
    logger,
    registry,
  });
  const content = createContentHandlers({ posts: createPostStore(), users, logger });
  return startGrpcService({
    config,
    logger,
    registry,
    services: [
      { definition: contentV1.ContentServiceService, implementation: content.implementation },
      ...reflectionServices(PROTO_ROOT, ['sigil/content/v1/content.proto']),
    ],
    onDrain: content.endWatches,
    resources: [users],
  });
}
