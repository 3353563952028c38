import * as grpc from '@grpc/grpc-js';
import { paginate } from './pagination';

const items = Array.from({ length: 7 }, (_, i) => i + 1);

describe('paginate', () => {
  it('walks an append-only list page by page with opaque tokens', () => {
    const first = paginate(items, { pageSize: 3, pageToken: '' }, { scope: 'numbers' });
    expect(first.items).toEqual([1, 2, 3]);
    const second = paginate(
      items,
      { pageSize: 3, pageToken: first.nextPageToken },
      { scope: 'numbers' },
    );
    expect(second.items).toEqual([4, 5, 6]);
    const last = paginate(
      items,
      { pageSize: 3, pageToken: second.nextPageToken },
      { scope: 'numbers' },
    );
    expect(last).toEqual({ items: [7], nextPageToken: '' });
  });

  it('uses the default page size for 0 and clamps to the maximum', () => {
    expect(
      paginate(items, { pageSize: 0, pageToken: '' }, { scope: 's', defaultPageSize: 2 }).items,
    ).toEqual([1, 2]);
    expect(
      paginate(items, { pageSize: 1000, pageToken: '' }, { scope: 's', maxPageSize: 5 }).items,
    ).toHaveLength(5);
  });

  it('keeps a cursor stable when items are appended between pages', () => {
    const list = [1, 2, 3];
    const first = paginate(list, { pageSize: 2, pageToken: '' }, { scope: 's' });
    list.push(4);
    expect(
      paginate(list, { pageSize: 2, pageToken: first.nextPageToken }, { scope: 's' }).items,
    ).toEqual([3, 4]);
  });

  it.each([
    [
      'a token of another scope',
      {
        pageSize: 2,
        pageToken: paginate(items, { pageSize: 2, pageToken: '' }, { scope: 'users:a' })
          .nextPageToken,
      },
    ],
    ['garbage', { pageSize: 2, pageToken: 'not-a-token' }],
    ['a negative page size', { pageSize: -1, pageToken: '' }],
  ])('refuses %s with INVALID_ARGUMENT', (_what, request) => {
    expect(() => paginate(items, request, { scope: 'users:b' })).toThrow(
      expect.objectContaining({ code: grpc.status.INVALID_ARGUMENT }),
    );
  });
});
