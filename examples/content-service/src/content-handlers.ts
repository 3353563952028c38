import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import { toGrpcError } from '@sigil/errors';
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
 * The ContentService handlers. Every call needs a session token, resolved to its user through
 * user-service (which validates it with identity-service), and sees only the posts of that
 * user's tenant: GetPost answers NOT_FOUND for another tenant's post, ListPosts and WatchPosts
 * list and stream the session's tenant only. CreatePost refuses a token of another user than
 * `author_id` and files the post under the author's tenant; WatchPosts sends up to `backlog`
 * recent posts, then every new one, in sequence order.
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

  // The session's user (its tenant scopes every query); UNAUTHENTICATED without a valid session.
  const sessionUser = (
    call: NonNullable<grpc.CallOptions['parent']>,
    sessionToken: string,
  ): Promise<userV1.User> => {
    if (sessionToken === '')
      return Promise.reject(rpcError(grpc.status.UNAUTHENTICATED, 'session_token is required'));
    return users.call(
      'getUser',
      { id: '', sessionToken },
      { parent: call, passThrough: [grpc.status.UNAUTHENTICATED] },
    );
  };

  const implementation: contentV1.ContentServiceServer = {
    createPost: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<contentV1.CreatePostRequest, contentV1.Post>) => {
        const { authorId, sessionToken, title, body } = call.request;
        const author = await sessionUser(call, sessionToken);
        if (authorId !== '' && authorId !== author.id) {
          throw rpcError(
            grpc.status.PERMISSION_DENIED,
            `the session token belongs to user ${author.id}, not to author_id ${authorId}`,
          );
        }
        const post = posts.create({
          tenantId: author.tenantId,
          authorId: author.id,
          authorName: author.displayName,
          title,
          body,
        });
        logger.info(
          {
            event: 'post.created',
            postId: post.id,
            sequence: post.sequence,
            authorId: author.id,
            tenantId: post.tenantId,
          },
          'post.created',
        );
        return post;
      },
    ),
    getPost: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<contentV1.GetPostRequest, contentV1.Post>) => {
        const { tenantId } = await sessionUser(call, call.request.sessionToken);
        // Another tenant's post is NOT_FOUND too, so post ids of other tenants cannot be probed.
        const post = posts.get(tenantId, call.request.id);
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
        const { tenantId } = await sessionUser(call, call.request.sessionToken);
        const page = posts.list(tenantId, call.request.authorId, call.request);
        return { posts: page.items, nextPageToken: page.nextPageToken };
      },
    ),
    watchPosts(call) {
      const { backlog, sessionToken } = call.request;
      if (backlog < 0) {
        call.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: `backlog must not be negative (got ${backlog})`,
        });
        return;
      }
      sessionUser(call, sessionToken).then(
        ({ tenantId }) => {
          if (call.cancelled) return;
          // Subscribe and replay in the same tick: no post can fall between the backlog and the live feed.
          watches.set(
            call,
            posts.subscribe(tenantId, (post) => call.write(post)),
          );
          for (const post of posts.recent(tenantId, Math.min(backlog, MAX_BACKLOG)))
            call.write(post);
          call.on('cancelled', () => stopWatch(call));
          call.on('error', () => stopWatch(call));
          logger.debug(
            { event: 'watch.started', backlog, tenantId, watchers: watches.size },
            'watch.started',
          );
        },
        (error: unknown) => call.emit('error', toGrpcError(error)),
      );
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
