import { createRenewalScheduler, renewalTime, type CertificateValidity } from './renewal';

const T0 = Date.UTC(2030, 0, 1);

describe('renewalTime', () => {
  const validity = { notBefore: new Date(T0), notAfter: new Date(T0 + 100_000) };

  it('renews at 30% remaining lifetime without jitter', () => {
    expect(renewalTime(validity, { random: () => 0 }).getTime()).toBe(T0 + 70_000);
  });

  it('jitters up to 10% of the lifetime earlier, never later', () => {
    expect(renewalTime(validity, { random: () => 0.999 }).getTime()).toBeCloseTo(T0 + 60_010, -1);
    const times = Array.from({ length: 500 }, () => renewalTime(validity).getTime());
    expect(Math.max(...times)).toBeLessThanOrEqual(T0 + 70_000);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(T0 + 60_000);
    expect(new Set(times).size).toBeGreaterThan(100);
  });

  it('counts the lifetime from when the certificate was obtained, ignoring back-dating', () => {
    // A 10 s certificate back-dated by 60 s: counting from notBefore would renew at once, forever.
    const backdated = {
      notBefore: new Date(T0 - 60_000),
      notAfter: new Date(T0 + 10_000),
      obtainedAt: new Date(T0),
    };
    expect(renewalTime(backdated, { random: () => 0 }).getTime()).toBe(T0 + 7_000);
  });

  it('honours other fractions', () => {
    expect(renewalTime(validity, { remainingFraction: 0.5, jitterFraction: 0 }).getTime()).toBe(
      T0 + 50_000,
    );
  });
});

describe('createRenewalScheduler', () => {
  let now: number;
  let validity: CertificateValidity;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    now = T0;
    validity = {
      notBefore: new Date(T0),
      notAfter: new Date(T0 + 10_000),
      obtainedAt: new Date(T0),
    };
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const advance = async (ms: number): Promise<void> => {
    now += ms;
    await jest.advanceTimersByTimeAsync(ms);
  };

  const issueFresh = (): void => {
    validity = {
      notBefore: new Date(now),
      notAfter: new Date(now + 10_000),
      obtainedAt: new Date(now),
    };
  };

  it('renews at the planned time, then plans from the new certificate', async () => {
    const reasons: string[] = [];
    const scheduler = createRenewalScheduler({
      current: () => validity,
      renew: async (reason) => {
        reasons.push(reason);
        issueFresh();
      },
      now: () => now,
      random: () => 0,
    });
    scheduler.start();
    expect(scheduler.nextRenewalAt?.getTime()).toBe(T0 + 7_000);
    await advance(6_999);
    expect(reasons).toEqual([]);
    await advance(1);
    expect(reasons).toEqual(['scheduled']);
    expect(scheduler.nextRenewalAt?.getTime()).toBe(T0 + 14_000);
    await advance(7_000);
    expect(reasons).toEqual(['scheduled', 'scheduled']);
    scheduler.stop();
    expect(scheduler.nextRenewalAt).toBeUndefined();
    await advance(60_000);
    expect(reasons).toHaveLength(2);
  });

  it('renews on demand and joins a renewal already in flight', async () => {
    let release: () => void = () => undefined;
    const renew = jest.fn(
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            issueFresh();
            resolve();
          };
        }),
    );
    const scheduler = createRenewalScheduler({
      current: () => validity,
      renew,
      now: () => now,
      random: () => 0,
    });
    scheduler.start();
    const first = scheduler.renewNow();
    const second = scheduler.renewNow();
    expect(renew).toHaveBeenCalledTimes(1);
    expect(renew).toHaveBeenCalledWith('requested');
    release();
    await Promise.all([first, second]);
    expect(scheduler.nextRenewalAt?.getTime()).toBe(now + 7_000);
    scheduler.stop();
  });

  it('retries failures with backoff, faster as expiry approaches, and reports each one', async () => {
    let failures = 2;
    const errors: number[] = [];
    const reasons: string[] = [];
    const scheduler = createRenewalScheduler({
      current: () => validity,
      renew: async (reason) => {
        reasons.push(reason);
        if (failures > 0) {
          failures -= 1;
          throw new Error('controller unavailable');
        }
        issueFresh();
      },
      onError: (_err, retryInMs) => errors.push(retryInMs),
      now: () => now,
      random: () => 0.999,
      retryInitialMs: 1_000,
      retryMaxMs: 60_000,
    });
    scheduler.start();
    await advance(6_002);
    expect(reasons).toEqual(['scheduled']);
    // 1st retry ceiling is 1 000 ms; 2nd would be 2 000 but only ~3 s are left, so a quarter of it.
    expect(errors[0]).toBe(999);
    await advance(999);
    expect(reasons).toEqual(['scheduled', 'retry']);
    expect(errors[1]).toBeLessThanOrEqual(1_000);
    await advance(errors[1]!);
    expect(reasons).toEqual(['scheduled', 'retry', 'retry']);
    expect(scheduler.nextRenewalAt!.getTime()).toBeGreaterThan(now);
    scheduler.stop();
  });

  it('stops and reports expiry instead of retrying once the certificate has expired', async () => {
    const renew = jest.fn(async () => {
      throw new Error('controller refused: certificate expired');
    });
    const expiries: Date[] = [];
    const scheduler = createRenewalScheduler({
      current: () => validity,
      renew,
      onExpired: (notAfter) => expiries.push(notAfter),
      now: () => now,
      random: () => 0,
    });
    scheduler.start();
    // The process was stopped past notAfter: the due renewal fires late, after expiry.
    now += 20_000;
    await jest.advanceTimersByTimeAsync(7_000);
    expect(renew).not.toHaveBeenCalled();
    expect(expiries).toEqual([validity.notAfter]);
    expect(scheduler.nextRenewalAt).toBeUndefined();
    await advance(60_000);
    expect(renew).not.toHaveBeenCalled();
    await expect(scheduler.renewNow()).rejects.toThrow(/expired at/);
    expect(expiries).toHaveLength(1);
  });

  it('stops when a renewal fails after expiry, and backs off exponentially before it', async () => {
    const delays: number[] = [];
    const expiries: Date[] = [];
    validity = { ...validity, notAfter: new Date(T0 + 600_000) };
    const scheduler = createRenewalScheduler({
      current: () => validity,
      renew: async () => {
        throw new Error('controller unavailable');
      },
      onError: (_err, retryInMs) => delays.push(retryInMs),
      onExpired: (notAfter) => expiries.push(notAfter),
      now: () => now,
      random: () => 0.999,
      retryInitialMs: 1_000,
      retryMaxMs: 60_000,
    });
    scheduler.start();
    await advance(420_000);
    for (let i = 0; i < 4; i += 1) await advance(delays[i]!);
    // Ceilings 1 s, 2 s, 4 s, 8 s, 16 s: each retry waits about twice as long as the one before.
    expect(delays.slice(0, 5)).toEqual([999, 1_998, 3_996, 7_992, 15_984]);
    await advance(600_000);
    expect(expiries).toEqual([validity.notAfter]);
    // Never a retry faster than the first ceiling, however close expiry came.
    expect(Math.min(...delays.slice(1))).toBeGreaterThanOrEqual(1_000);
    expect(delays.length).toBeLessThan(20);
    scheduler.stop();
  });
});
