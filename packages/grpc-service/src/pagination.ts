import * as grpc from '@grpc/grpc-js';
import { rpcError } from './rpc';

/**
 * The paging fields every List request carries.
 *
 * @example
 * ```ts
 * const request: PageRequest = { pageSize: 20, pageToken: '' };
 * ```
 */
export interface PageRequest {
  /** 0 means the default page size. */
  pageSize: number;
  /** Empty for the first page, else the `nextPageToken` of the previous answer. */
  pageToken: string;
}

/**
 * Options for {@link paginate}.
 *
 * @example
 * ```ts
 * const options: PaginateOptions = { scope: `users:${tenantId}`, defaultPageSize: 20, maxPageSize: 50 };
 * ```
 */
export interface PaginateOptions {
  /** What is listed (e.g. `users:acme`): a token from another listing is refused. */
  scope: string;
  /** Default 50. */
  defaultPageSize?: number;
  /** Larger requests are clamped to this; default 100. */
  maxPageSize?: number;
}

/**
 * One page of a listing.
 *
 * @example
 * ```ts
 * const page: Page<User> = paginate(users, call.request, { scope: 'users' });
 * return { users: page.items, nextPageToken: page.nextPageToken };
 * ```
 */
export interface Page<T> {
  items: T[];
  /** Empty on the last page. */
  nextPageToken: string;
}

function encodeToken(scope: string, offset: number): string {
  return Buffer.from(`${scope}\n${offset}`, 'utf8').toString('base64url');
}

/**
 * Cuts one page out of an append-only list (items never move, so an offset is a stable cursor).
 * Page tokens are opaque; a malformed one, one from another scope, or a negative page size
 * throws INVALID_ARGUMENT.
 *
 * @example
 * ```ts
 * const page = paginate(usersOfTenant, call.request, { scope: `users:${tenantId}` });
 * return { users: page.items, nextPageToken: page.nextPageToken };
 * ```
 */
export function paginate<T>(
  items: readonly T[],
  request: PageRequest,
  options: PaginateOptions,
): Page<T> {
  const maxPageSize = options.maxPageSize ?? 100;
  if (request.pageSize < 0)
    throw rpcError(
      grpc.status.INVALID_ARGUMENT,
      `page_size must not be negative (got ${request.pageSize})`,
    );
  const size = Math.min(
    request.pageSize === 0 ? (options.defaultPageSize ?? 50) : request.pageSize,
    maxPageSize,
  );
  let offset = 0;
  if (request.pageToken !== '') {
    const [scope, position] = Buffer.from(request.pageToken, 'base64url')
      .toString('utf8')
      .split('\n');
    offset = Number(position);
    if (
      scope !== options.scope ||
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      encodeToken(options.scope, offset) !== request.pageToken
    ) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, 'page_token is not a token this listing issued');
    }
  }
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    nextPageToken: end < items.length ? encodeToken(options.scope, end) : '',
  };
}
