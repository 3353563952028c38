import type pino from 'pino';
import { contentV1, userV1 } from '@sigil/proto';
import {
  createMetricsRegistry,
  createUpstream,
  startGrpcService,
  type RunningGrpcService,
} from '@sigil/grpc-service';
import type { ContentServiceConfig } from './config';
import { createContentHandlers } from './content-handlers';
import { createPostStore } from './post-store';

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
    ],
    onDrain: content.endWatches,
    resources: [users],
  });
}
