import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { contentV1, userV1 } from '@sigil/proto';
import { rpcError, unaryHandler, type Upstream } from '@sigil/grpc-service';
import type { PostStore } from './post-store';

/**
 * Options for {@link createContentHandlers}.
 *
 * @example
 * ```ts
 * const options: ContentHandlersOptions = { posts: createPostStore(), users, logger };
 * ```
 */
export interface ContentHandlersOptions {
  posts: PostStore;
  /** user-service, which resolves (and, through identity-service, authenticates) authors. */
  users: Upstream<userV1.UserServiceClient>;
  logger: pino.Logger;
}

/**
 * The ContentService handlers plus the drain hook for their long-lived streams.
 *
 * @example
 * ```ts
 * const content: ContentHandlers = createContentHandlers(options);
 * await startGrpcService({ config, logger, services: [{ definition: contentV1.ContentServiceService, implementation: content.implementation }], onDrain: content.endWatches });
 * ```
 */
export interface ContentHandlers {
  implementation: contentV1.ContentServiceServer;
  /** Ends every open WatchPosts stream with OK, so a draining server is not held up by watchers. */
  endWatches(): void;
  /** Number of open WatchPosts streams. */
  watcherCount(): number;
}

const MAX_BACKLOG = 100;

/**
 * The ContentService handlers. CreatePost resolves the author from the session token through
 * user-service (which validates it with identity-service) and refuses a token of another user
 * than `author_id`; WatchPosts sends up to `backlog` recent posts, then every new one, in
 * sequence order.
 *
 * @example
 * ```ts
 * const content = createContentHandlers({ posts: createPostStore(), users, logger });
 * server.addService(contentV1.ContentServiceService, content.implementation);
 * ```
 */
export function createContentHandlers(options: ContentHandlersOptions): ContentHandlers {
  const { posts, users, logger } = options;
  const watches = new Map<
    grpc.ServerWritableStream<contentV1.WatchPostsRequest, contentV1.Post>,
    () => void
  >();

  const stopWatch = (
    call: grpc.ServerWritableStream<contentV1.WatchPostsRequest, contentV1.Post>,
  ): void => {
    watches.get(call)?.();
    watches.delete(call);
  };

  const implementation: contentV1.ContentServiceServer = {
    createPost: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<contentV1.CreatePostRequest, contentV1.Post>) => {
        const { authorId, sessionToken, title, body } = call.request;
        if (sessionToken === '')
          throw rpcError(grpc.status.UNAUTHENTICATED, 'session_token is required');
        const author = await users.call(
          'getUser',
          { id: '', sessionToken },
          { parent: call, passThrough: [grpc.status.UNAUTHENTICATED] },
        );
        if (authorId !== '' && authorId !== author.id) {
          throw rpcError(
            grpc.status.PERMISSION_DENIED,
            `the session token belongs to user ${author.id}, not to author_id ${authorId}`,
          );
        }
        const post = posts.create({
          authorId: author.id,
          authorName: author.displayName,
          title,
          body,
        });
        logger.info(
          { event: 'post.created', postId: post.id, sequence: post.sequence, authorId: author.id },
          'post.created',
        );
        return post;
      },
    ),
    getPost: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<contentV1.GetPostRequest, contentV1.Post>) => {
        const post = posts.get(call.request.id);
        if (post === undefined)
          throw rpcError(grpc.status.NOT_FOUND, `post ${call.request.id} not found`);
        return post;
      },
    ),
    listPosts: unaryHandler(
      logger,
      async (
        call: grpc.ServerUnaryCall<contentV1.ListPostsRequest, contentV1.ListPostsResponse>,
      ) => {
        const page = posts.list(call.request.authorId, call.request);
        return { posts: page.items, nextPageToken: page.nextPageToken };
      },
    ),
    watchPosts(call) {
      const { backlog } = call.request;
      if (backlog < 0) {
        call.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: `backlog must not be negative (got ${backlog})`,
        });
        return;
      }
      // Subscribe and replay in the same tick: no post can fall between the backlog and the live feed.
      watches.set(
        call,
        posts.subscribe((post) => call.write(post)),
      );
      for (const post of posts.recent(Math.min(backlog, MAX_BACKLOG))) call.write(post);
      call.on('cancelled', () => stopWatch(call));
      call.on('error', () => stopWatch(call));
      logger.debug({ event: 'watch.started', backlog, watchers: watches.size }, 'watch.started');
    },
  };

  return {
    implementation,
    endWatches() {
      for (const call of [...watches.keys()]) {
        stopWatch(call);
        call.end();
      }
    },
    watcherCount: () => watches.size,
  };
}
