import { randomBytes } from 'node:crypto';
import type { contentV1 } from '@sigil/proto';
import { assertArgument, paginate, type Page, type PageRequest } from '@sigil/grpc-service';

/**
 * What a new post needs once its author is resolved.
 *
 * @example
 * ```ts
 * const draft: NewPost = { tenantId: 'acme', authorId: 'usr_1', authorName: 'Ada', title: 'Hello', body: '' };
 * ```
 */
export interface NewPost {
  /** The author's tenant: only this tenant's sessions read the post. */
  tenantId: string;
  authorId: string;
  authorName: string;
  title: string;
  body: string;
}

/**
 * The in-memory post log of content-service, one log per tenant: a tenant's posts are numbered
 * 1, 2, 3, ... in creation order, and every read names the tenant it is for.
 *
 * @example
 * ```ts
 * const posts: PostStore = createPostStore();
 * ```
 */
export interface PostStore {
  /** Appends a post; a bad title or body throws INVALID_ARGUMENT. Listeners see it synchronously. */
  create(post: NewPost): contentV1.Post;
  /** The post, when it exists and belongs to `tenantId`. */
  get(tenantId: string, id: string): contentV1.Post | undefined;
  /** One page of the tenant's posts (of one author when `authorId` is not empty), oldest first. */
  list(tenantId: string, authorId: string, page: PageRequest): Page<contentV1.Post>;
  /** The tenant's `count` most recent posts, oldest first. */
  recent(tenantId: string, count: number): contentV1.Post[];
  /** Calls `listener` with every post of the tenant created from now on; returns the unsubscribe function. */
  subscribe(tenantId: string, listener: (post: contentV1.Post) => void): () => void;
}

interface Tenant {
  readonly posts: contentV1.Post[];
  readonly byAuthor: Map<string, contentV1.Post[]>;
  readonly listeners: Set<(post: contentV1.Post) => void>;
}

const MAX_TITLE = 200;
const MAX_BODY = 10_000;

/**
 * Creates the post log. A tenant's sequence numbers have no gaps, so a watcher can prove it
 * missed nothing.
 *
 * @example
 * ```ts
 * const posts = createPostStore();
 * const stop = posts.subscribe('acme', (post) => console.log(post.sequence));
 * posts.create({ tenantId: 'acme', authorId: 'usr_1', authorName: 'Ada', title: 'Hello', body: '' }); // logs 1
 * stop();
 * ```
 */
export function createPostStore(options: { now?: () => number } = {}): PostStore {
  const now = options.now ?? Date.now;
  const tenants = new Map<string, Tenant>();
  const byId = new Map<string, contentV1.Post>();
  const tenantOf = (tenantId: string): Tenant => {
    let tenant = tenants.get(tenantId);
    if (tenant === undefined) {
      tenant = { posts: [], byAuthor: new Map(), listeners: new Set() };
      tenants.set(tenantId, tenant);
    }
    return tenant;
  };

  return {
    create({ tenantId, authorId, authorName, title, body }) {
      assertArgument(tenantId !== '', 'the author has no tenant');
      assertArgument(title.trim() !== '', 'title is required');
      assertArgument(title.length <= MAX_TITLE, `title must be at most ${MAX_TITLE} characters`);
      assertArgument(body.length <= MAX_BODY, `body must be at most ${MAX_BODY} characters`);
      const tenant = tenantOf(tenantId);
      const post: contentV1.Post = {
        id: `post_${randomBytes(8).toString('hex')}`,
        tenantId,
        authorId,
        authorName,
        title: title.trim(),
        body,
        createdAt: now(),
        sequence: tenant.posts.length + 1,
      };
      tenant.posts.push(post);
      byId.set(post.id, post);
      const own = tenant.byAuthor.get(authorId);
      if (own === undefined) tenant.byAuthor.set(authorId, [post]);
      else own.push(post);
      for (const listener of tenant.listeners) listener(post);
      return post;
    },
    get(tenantId, id) {
      const post = byId.get(id);
      return post?.tenantId === tenantId ? post : undefined;
    },
    list(tenantId, authorId, page) {
      const tenant = tenants.get(tenantId);
      const scope = `posts:${tenantId}`;
      if (authorId === '') return paginate(tenant?.posts ?? [], page, { scope });
      return paginate(tenant?.byAuthor.get(authorId) ?? [], page, {
        scope: `${scope}:${authorId}`,
      });
    },
    recent: (tenantId, count) =>
      count <= 0 ? [] : (tenants.get(tenantId)?.posts.slice(-count) ?? []),
    subscribe(tenantId, listener) {
      const { listeners } = tenantOf(tenantId);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
