import { createBackoff } from './backoff';

describe('createBackoff', () => {
  it('grows the ceiling exponentially up to the cap', () => {
    const backoff = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 0.999999 });
    const delays = Array.from({ length: 7 }, () => backoff.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(backoff.attempts).toBe(7);
  });

  it('uses full jitter: any delay from zero up to the ceiling', () => {
    const values = [0, 0.5, 0.25];
    const backoff = createBackoff({
      initialMs: 1_000,
      maxMs: 60_000,
      random: () => values.shift()!,
    });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 1_000, 1_000]);
  });

  it('starts over after reset', () => {
    const backoff = createBackoff({ initialMs: 100, maxMs: 10_000, random: () => 0.5 });
    backoff.next();
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(50);
  });

  it('never exceeds the cap with the real random source', () => {
    const backoff = createBackoff({ initialMs: 10, maxMs: 250 });
    for (let i = 0; i < 200; i += 1) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(250);
    }
  });
});
