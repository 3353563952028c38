import { randomBytes } from 'node:crypto';
import type { contentV1 } from '@sigil/proto';
import { assertArgument, paginate, type Page, type PageRequest } from '@sigil/grpc-service';

/**
 * What a new post needs once its author is resolved.
 *
 * @example
 * ```ts
 * const draft: NewPost = { authorId: 'usr_1', authorName: 'Ada', title: 'Hello', body: '' };
 * ```
 */
export interface NewPost {
  authorId: string;
  authorName: string;
  title: string;
  body: string;
}

/**
 * The in-memory post log of content-service: posts are numbered 1, 2, 3, ... in creation order.
 *
 * @example
 * ```ts
 * const posts: PostStore = createPostStore();
 * ```
 */
export interface PostStore {
  /** Appends a post; a bad title or body throws INVALID_ARGUMENT. Listeners see it synchronously. */
  create(post: NewPost): contentV1.Post;
  get(id: string): contentV1.Post | undefined;
  /** One page of posts (of one author when `authorId` is not empty), oldest first. */
  list(authorId: string, page: PageRequest): Page<contentV1.Post>;
  /** The `count` most recent posts, oldest first. */
  recent(count: number): contentV1.Post[];
  /** Calls `listener` with every post created from now on; returns the unsubscribe function. */
  subscribe(listener: (post: contentV1.Post) => void): () => void;
}

const MAX_TITLE = 200;
const MAX_BODY = 10_000;

/**
 * Creates the post log. Sequence numbers have no gaps, so a watcher can prove it missed nothing.
 *
 * @example
 * ```ts
 * const posts = createPostStore();
 * const stop = posts.subscribe((post) => console.log(post.sequence));
 * posts.create({ authorId: 'usr_1', authorName: 'Ada', title: 'Hello', body: '' }); // logs 1
 * stop();
 * ```
 */
export function createPostStore(options: { now?: () => number } = {}): PostStore {
  const now = options.now ?? Date.now;
  const posts: contentV1.Post[] = [];
  const byId = new Map<string, contentV1.Post>();
  const byAuthor = new Map<string, contentV1.Post[]>();
  const listeners = new Set<(post: contentV1.Post) => void>();

  return {
    create({ authorId, authorName, title, body }) {
      assertArgument(title.trim() !== '', 'title is required');
      assertArgument(title.length <= MAX_TITLE, `title must be at most ${MAX_TITLE} characters`);
      assertArgument(body.length <= MAX_BODY, `body must be at most ${MAX_BODY} characters`);
      const post: contentV1.Post = {
        id: `post_${randomBytes(8).toString('hex')}`,
        authorId,
        authorName,
        title: title.trim(),
        body,
        createdAt: now(),
        sequence: posts.length + 1,
      };
      posts.push(post);
      byId.set(post.id, post);
      const own = byAuthor.get(authorId);
      if (own === undefined) byAuthor.set(authorId, [post]);
      else own.push(post);
      for (const listener of listeners) listener(post);
      return post;
    },
    get: (id) => byId.get(id),
    list(authorId, page) {
      if (authorId === '') return paginate(posts, page, { scope: 'posts' });
      return paginate(byAuthor.get(authorId) ?? [], page, { scope: `posts:${authorId}` });
    },
    recent: (count) => (count <= 0 ? [] : posts.slice(-count)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
