import * as grpc from '@grpc/grpc-js';
import { createTokenStore } from './token-store';

describe('createTokenStore', () => {
  let clock = 1_000_000;
  const now = (): number => clock;
  beforeEach(() => (clock = 1_000_000));

  it('issues a random bearer token bound to one user of one tenant', () => {
    const tokens = createTokenStore({ now });
    const issued = tokens.issue({ userId: 'usr_1', tenantId: 'acme', ttlSeconds: 60 });
    expect(issued.token).toMatch(/^sgt_[A-Za-z0-9_-]{43}$/);
    expect(issued.expiresAt).toBe(clock + 60_000);
    expect(tokens.validate(issued.token)).toEqual({
      valid: true,
      userId: 'usr_1',
      tenantId: 'acme',
      expiresAt: clock + 60_000,
    });
    expect(tokens.issue({ userId: 'usr_1', tenantId: 'acme', ttlSeconds: 60 }).token).not.toBe(
      issued.token,
    );
  });

  it('uses the default lifetime for ttl 0', () => {
    const tokens = createTokenStore({ now, defaultTtlSeconds: 900 });
    expect(tokens.issue({ userId: 'u', tenantId: 't', ttlSeconds: 0 }).expiresAt).toBe(
      clock + 900_000,
    );
  });

  it('refuses an expired token (at the expiry instant) and forgets it', () => {
    const tokens = createTokenStore({ now });
    const { token } = tokens.issue({ userId: 'u', tenantId: 't', ttlSeconds: 10 });
    clock += 9_999;
    expect(tokens.validate(token).valid).toBe(true);
    clock += 1;
    expect(tokens.validate(token)).toEqual({ valid: false, reason: 'expired' });
    expect(tokens.validate(token)).toEqual({ valid: false, reason: 'unknown' });
  });

  it('refuses unknown tokens', () => {
    expect(createTokenStore({ now }).validate('sgt_forged')).toEqual({
      valid: false,
      reason: 'unknown',
    });
  });

  it('sweeps expired tokens when issuing', () => {
    const tokens = createTokenStore({ now });
    tokens.issue({ userId: 'u', tenantId: 't', ttlSeconds: 1 });
    tokens.issue({ userId: 'u', tenantId: 't', ttlSeconds: 1 });
    clock += 1000;
    tokens.issue({ userId: 'u', tenantId: 't', ttlSeconds: 1 });
    expect(tokens.size()).toBe(1);
  });

  it.each([
    [{ userId: '', tenantId: 't', ttlSeconds: 1 }, 'user_id is required'],
    [{ userId: 'u', tenantId: ' ', ttlSeconds: 1 }, 'tenant_id is required'],
    [{ userId: 'u', tenantId: 't', ttlSeconds: -1 }, 'ttl_seconds must not be negative'],
    [{ userId: 'u', tenantId: 't', ttlSeconds: 86_401 }, 'ttl_seconds must be at most 86400'],
  ])('refuses %j with INVALID_ARGUMENT', (request, message) => {
    expect(() => createTokenStore({ now }).issue(request)).toThrow(
      expect.objectContaining({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining(message),
      }),
    );
  });
});
