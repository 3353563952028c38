import { RecentCache } from './recent-cache';

describe('RecentCache', () => {
  it('keeps at most its capacity, the least recently used out first, a hit counting as a use', () => {
    const cache = new RecentCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    cache.set('a', 4);
    cache.set('d', 5);
    expect([cache.get('c'), cache.get('a'), cache.get('d')]).toEqual([undefined, 4, 5]);
  });
});
