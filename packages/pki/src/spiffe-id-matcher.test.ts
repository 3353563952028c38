import {
  authorizeAny,
  authorizeID,
  authorizeMemberOf,
  authorizeOneOf,
  authorizeUnder,
} from './spiffe-id-matcher';

describe('SPIFFE ID matchers', () => {
  it('authorizeAny accepts every ID', () => {
    expect(authorizeAny()('spiffe://partner.io/x')).toBe(true);
  });

  it('authorizeID accepts exactly one ID', () => {
    const allowed = authorizeID('spiffe://example.org/svc/api');
    expect(allowed('spiffe://example.org/svc/api')).toBe(true);
    expect(allowed('spiffe://example.org/svc/api/x')).toBe(false);
    expect(allowed('spiffe://example.org/svc')).toBe(false);
  });

  it('authorizeOneOf accepts any of the listed IDs', () => {
    const allowed = authorizeOneOf('spiffe://example.org/a', 'spiffe://example.org/b');
    expect(['a', 'b', 'c'].map((p) => allowed(`spiffe://example.org/${p}`))).toEqual([
      true,
      true,
      false,
    ]);
    expect(authorizeOneOf()('spiffe://example.org/a')).toBe(false);
  });

  it('authorizeMemberOf accepts workload IDs of the trust domain only', () => {
    const allowed = authorizeMemberOf('example.org');
    expect(allowed('spiffe://example.org/svc/api')).toBe(true);
    expect(allowed('spiffe://example.org')).toBe(false);
    expect(allowed('spiffe://example.org.evil/svc/api')).toBe(false);
    expect(allowed('spiffe://partner.io/svc/api')).toBe(false);
  });

  it('authorizeUnder stops at segment boundaries', () => {
    const allowed = authorizeUnder('spiffe://example.org/team');
    expect(allowed('spiffe://example.org/team/bob')).toBe(true);
    expect(allowed('spiffe://example.org/team')).toBe(false);
    expect(allowed('spiffe://example.org/teamster')).toBe(false);
  });

  it('refuses invalid expectations with the SPIFFE ID and trust domain error codes', () => {
    expect(() => authorizeID('https://example.org/a')).toThrow(
      expect.objectContaining({ code: 'ERR_SPIFFE_ID_INVALID' }),
    );
    expect(() => authorizeOneOf('spiffe://example.org/a/')).toThrow(
      expect.objectContaining({ code: 'ERR_SPIFFE_ID_INVALID' }),
    );
    expect(() => authorizeUnder('spiffe://example.org/a/../b')).toThrow(
      expect.objectContaining({ code: 'ERR_SPIFFE_ID_INVALID' }),
    );
    expect(() => authorizeMemberOf('Example.org')).toThrow(
      expect.objectContaining({ code: 'ERR_TRUST_DOMAIN_INVALID' }),
    );
  });
});
