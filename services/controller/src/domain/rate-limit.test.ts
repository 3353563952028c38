import { createRateLimiter, takeToken } from './rate-limit';

describe('takeToken', () => {
  const policy = { burst: 3, perSecond: 0.5 };

  it('allows a burst, then refuses with the wait until the next token', () => {
    let bucket;
    const verdicts = [];
    for (let i = 0; i < 4; i += 1) {
      const verdict = takeToken(bucket, 1000, policy);
      bucket = verdict.bucket;
      verdicts.push(verdict);
    }
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false]);
    expect(verdicts[3]!.retryAfterSeconds).toBe(2);
    expect(takeToken(bucket, 2999, policy).allowed).toBe(false);
    expect(takeToken(bucket, 3000, policy).allowed).toBe(true);
  });

  it('never holds more than the burst after a long quiet period', () => {
    const verdict = takeToken({ tokens: 0, at: 0 }, 10 ** 9, policy);
    expect(verdict.bucket.tokens).toBe(2);
  });
});

describe('createRateLimiter', () => {
  it('keeps one bucket per key, and forget starts a key afresh', () => {
    const limiter = createRateLimiter({ burst: 1, perSecond: 0.001 });
    expect(limiter.take('a', 0).allowed).toBe(true);
    expect(limiter.take('a', 0).allowed).toBe(false);
    expect(limiter.take('b', 0).allowed).toBe(true);
    limiter.forget('a');
    expect(limiter.take('a', 0).allowed).toBe(true);
  });
});
