import { createRateLimiter } from './rate-limiter';

describe('createRateLimiter (renewals per agent)', () => {
  it('allows a burst of perMinute, then refuses with the wait until the next token, on the given clock', () => {
    let now = Date.UTC(2030, 0, 1);
    const limiter = createRateLimiter({ perMinute: 3, clock: () => new Date(now) });
    expect([1, 2, 3, 4].map(() => limiter.take('agent-a').allowed)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(limiter.take('agent-a')).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(limiter.take('agent-b').allowed).toBe(true);
    now += 20_000;
    expect(limiter.take('agent-a').allowed).toBe(true);
    expect(limiter.take('agent-a').allowed).toBe(false);
  });

  it('forgets the least recently used key beyond maxKeys (it starts full again)', () => {
    const limiter = createRateLimiter({ perMinute: 1, maxKeys: 2, clock: () => new Date(0) });
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key).allowed).toBe(true);
    expect(limiter.take('c').allowed).toBe(false);
    expect(limiter.take('a').allowed).toBe(true);
  });
});
