import { createRateLimiter } from './rate-limiter';

describe('createRateLimiter', () => {
  it('allows a burst of perMinute, then refills continuously, per key', () => {
    let now = 0;
    const limiter = createRateLimiter({ perMinute: 6, clock: () => new Date(now) });
    for (let i = 0; i < 6; i += 1) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(limiter.peek('b')).toEqual({ allowed: true });
    now += 10_000;
    expect(limiter.peek('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('forgets the least recently used key beyond maxKeys', () => {
    const limiter = createRateLimiter({ perMinute: 1, maxKeys: 2, clock: () => new Date(0) });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // 'a' is forgotten and starts full again
    expect(limiter.peek('a').allowed).toBe(true);
    expect(limiter.peek('c').allowed).toBe(false);
  });
});
