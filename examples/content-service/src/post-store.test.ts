import * as grpc from '@grpc/grpc-js';
import { createPostStore } from './post-store';

const draft = (title: string, authorId = 'usr_1', tenantId = 'acme') => ({
  tenantId,
  authorId,
  authorName: 'Ada',
  title,
  body: 'text',
});

describe('createPostStore', () => {
  it('numbers posts 1, 2, 3 without gaps and finds them by id', () => {
    const posts = createPostStore({ now: () => 7 });
    const created = ['one', 'two', 'three'].map((t) => posts.create(draft(t)));
    expect(created.map((p) => p.sequence)).toEqual([1, 2, 3]);
    expect(created[0]).toEqual({
      id: expect.stringMatching(/^post_[0-9a-f]{16}$/),
      tenantId: 'acme',
      authorId: 'usr_1',
      authorName: 'Ada',
      title: 'one',
      body: 'text',
      createdAt: 7,
      sequence: 1,
    });
    expect(posts.get('acme', created[1]!.id)).toBe(created[1]);
    expect(posts.get('acme', 'post_missing')).toBeUndefined();
  });

  it('keeps tenants apart: get, list, recent and subscribe see only the tenant asked for', () => {
    const posts = createPostStore();
    const mine = posts.create(draft('acme post', 'usr_1', 'acme'));
    const seen: string[] = [];
    const stop = posts.subscribe('acme', (post) => seen.push(post.title));
    const theirs = posts.create(draft('globex post', 'usr_9', 'globex'));
    expect(posts.get('acme', theirs.id)).toBeUndefined();
    expect(posts.get('globex', mine.id)).toBeUndefined();
    expect(posts.list('acme', '', { pageSize: 0, pageToken: '' }).items).toEqual([mine]);
    expect(posts.list('acme', 'usr_9', { pageSize: 0, pageToken: '' }).items).toEqual([]);
    expect(posts.recent('acme', 10)).toEqual([mine]);
    expect(theirs.sequence).toBe(1);
    expect(seen).toEqual([]);
    stop();
  });

  it('tells subscribers about every new post, synchronously, until they unsubscribe', () => {
    const posts = createPostStore();
    const seen: number[] = [];
    const stop = posts.subscribe('acme', (post) => seen.push(post.sequence));
    posts.create(draft('a'));
    posts.create(draft('b'));
    stop();
    posts.create(draft('c'));
    expect(seen).toEqual([1, 2]);
  });

  it('returns the most recent posts oldest first', () => {
    const posts = createPostStore();
    for (const t of ['a', 'b', 'c', 'd']) posts.create(draft(t));
    expect(posts.recent('acme', 2).map((p) => p.title)).toEqual(['c', 'd']);
    expect(posts.recent('acme', 0)).toEqual([]);
    expect(posts.recent('acme', 10)).toHaveLength(4);
  });

  it('lists all posts or one author’s, page by page', () => {
    const posts = createPostStore();
    posts.create(draft('a', 'usr_1'));
    posts.create(draft('b', 'usr_2'));
    posts.create(draft('c', 'usr_1'));
    expect(
      posts.list('acme', '', { pageSize: 0, pageToken: '' }).items.map((p) => p.title),
    ).toEqual(['a', 'b', 'c']);
    const first = posts.list('acme', 'usr_1', { pageSize: 1, pageToken: '' });
    expect(first.items.map((p) => p.title)).toEqual(['a']);
    expect(
      posts
        .list('acme', 'usr_1', { pageSize: 1, pageToken: first.nextPageToken })
        .items.map((p) => p.title),
    ).toEqual(['c']);
  });

  it.each([
    ['', 'title is required'],
    ['x'.repeat(201), 'title must be at most 200'],
  ])('refuses title %j with INVALID_ARGUMENT', (title, message) => {
    expect(() => createPostStore().create(draft(title))).toThrow(
      expect.objectContaining({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining(message),
      }),
    );
  });

  it('refuses an oversized body', () => {
    expect(() => createPostStore().create({ ...draft('t'), body: 'x'.repeat(10_001) })).toThrow(
      expect.objectContaining({ code: grpc.status.INVALID_ARGUMENT }),
    );
  });
});
