import { authorizeEntryIssuance, checkAudience, entryFromRequest } from './entries';

const made = { id: 'e1', now: 1000 };
const body = {
  spiffe_id: 'spiffe://example.org/billing',
  parent_id: 'spiffe://example.org/connector/edge-1',
  selectors: ['unix:uid:1000', 'unix:path:/usr/bin/node', 'unix:uid:1000'],
};

describe('registration entries', () => {
  it('turns a valid request into an entry: selectors sorted and unique, default lifetimes', () => {
    expect(entryFromRequest(body, 'example.org', made)).toEqual({
      id: 'e1',
      spiffeId: 'spiffe://example.org/billing',
      parentId: 'spiffe://example.org/connector/edge-1',
      selectors: ['unix:path:/usr/bin/node', 'unix:uid:1000'],
      x509TtlSeconds: 3600,
      jwtTtlSeconds: 300,
      createdAt: 1000,
    });
  });

  it.each([
    ['spiffe_id', { spiffe_id: 'spiffe://other.org/billing' }, /not in trust domain example.org/],
    ['spiffe_id', { spiffe_id: 'not-an-id' }, /spiffe_id/],
    ['spiffe_id', { spiffe_id: 'spiffe://example.org/connector/x' }, /reserved/],
    ['parent_id', { parent_id: 'spiffe://example.org/tunneler/t1' }, /must be a connector/],
    ['selectors', { selectors: [] }, /1 to 64/],
    ['selectors', { selectors: ['docker:label:x'] }, /is not one of/],
    ['selectors', { selectors: ['unix:path:relative'] }, /is not one of/],
    ['x509_ttl_seconds', { x509_ttl_seconds: 5 }, /from 10 to/],
    ['jwt_ttl_seconds', { jwt_ttl_seconds: 2 * 24 * 3600 }, /from 10 to 86400/],
  ])('refuses a bad %s naming the field', (field, change, message) => {
    expect(() => entryFromRequest({ ...body, ...change }, 'example.org', made)).toThrow(
      expect.objectContaining({
        code: 'ERR_REQUEST_INVALID',
        details: { field },
        message: expect.stringMatching(message),
      }),
    );
  });

  it('lets only the parent agent obtain an entry’s identity', () => {
    const entry = entryFromRequest(body, 'example.org', made);
    expect(authorizeEntryIssuance(entry, 'spiffe://example.org/connector/edge-1', 'e1')).toBe(
      entry,
    );
    for (const [candidate, caller] of [
      [entry, 'spiffe://example.org/connector/edge-2'],
      [undefined, 'spiffe://example.org/connector/edge-1'],
    ] as const)
      expect(() => authorizeEntryIssuance(candidate, caller, 'e1')).toThrow(
        expect.objectContaining({ code: 'ERR_WORKLOAD_NOT_ENTITLED' }),
      );
  });

  it('bounds JWT-SVID audiences', () => {
    expect(checkAudience(['billing'])).toEqual(['billing']);
    expect(() => checkAudience([])).toThrow(
      expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }),
    );
    expect(() => checkAudience([''])).toThrow(
      expect.objectContaining({ code: 'ERR_REQUEST_INVALID' }),
    );
  });
});
