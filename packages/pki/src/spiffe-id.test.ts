import { SigilError } from '@sigil/errors';
import type { SpiffeIdVector } from '../test/support/conformance';
import { readConformance } from '../test/support/conformance';
import { formatSpiffeId, isSpiffeId, parseSpiffeId, parseTrustDomain } from './spiffe-id';

const vectors = readConformance<{ cases: SpiffeIdVector[] }>('spiffe-ids.json').cases;

function ruleOf(input: string): string {
  try {
    parseSpiffeId(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    expect((err as SigilError).code).toBe('ERR_SPIFFE_ID_INVALID');
    return String((err as SigilError).details.rule);
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('SPIFFE ID conformance vectors (../shared/conformance/spiffe-ids.json)', () => {
  it('has vectors to run', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(20);
  });

  it.each(
    vectors.map(
      (v) =>
        [
          `${v.valid ? 'accepts' : 'rejects'} ${JSON.stringify(v.id.slice(0, 60))} (${v.note || 'valid'})`,
          v,
        ] as const,
    ),
  )('%s', (_name, vector) => {
    if (vector.valid) {
      const id = parseSpiffeId(vector.id);
      expect(String(id)).toBe(vector.id);
      expect(isSpiffeId(vector.id)).toBe(true);
    } else {
      expect(ruleOf(vector.id)).toMatch(/^SPIFFE-ID 2(\.\d)?: /);
      expect(isSpiffeId(vector.id)).toBe(false);
    }
  });
});

describe('parseSpiffeId', () => {
  it('splits trust domain, path and segments', () => {
    const id = parseSpiffeId('spiffe://prod.example.org/ns/payments/sa/api');
    expect(id.trustDomain).toBe('prod.example.org');
    expect(id.path).toBe('/ns/payments/sa/api');
    expect(id.segments).toEqual(['ns', 'payments', 'sa', 'api']);
    expect(`${id}`).toBe('spiffe://prod.example.org/ns/payments/sa/api');
  });

  it('gives a trust-domain ID an empty path and no segments', () => {
    const id = parseSpiffeId('spiffe://example.org');
    expect(id.path).toBe('');
    expect(id.segments).toEqual([]);
  });

  it('returns frozen values', () => {
    const id = parseSpiffeId('spiffe://example.org/a');
    expect(Object.isFrozen(id)).toBe(true);
    expect(Object.isFrozen(id.segments)).toBe(true);
  });

  it.each([
    ['spiffe://example.org/a', 'single segment'],
    ['spiffe://a/b', 'one-letter trust domain'],
    ['spiffe://under_score.example/x', 'underscore in trust domain'],
    ['spiffe://1.2.3.4/x', 'IPv4-looking trust domain'],
    ['spiffe://xn--bcher-kva.example/x', 'punycode trust domain'],
    ['spiffe://example.org/UPPER/Case', 'uppercase path segments'],
    ['spiffe://example.org/a.b/c-d/e_f/0123456789', 'every allowed path character class'],
    ['spiffe://example.org/.../x', 'a segment of three dots'],
    ['spiffe://example.org/.a', 'a segment starting with a dot'],
    ['spiffe://example.org/-', 'a segment that is a hyphen'],
    ['spiffe://-.example/x', 'hyphen label in trust domain'],
    ['spiffe://' + 'a'.repeat(255) + '/x', 'a 255-byte trust domain'],
    [
      'spiffe://example.org/' + 'a'.repeat(2048 - 'spiffe://example.org/'.length),
      'exactly 2048 bytes',
    ],
  ])('accepts %s (%s)', (input) => {
    expect(String(parseSpiffeId(input))).toBe(input);
  });

  it.each([
    ['', 'SPIFFE-ID 2', 'empty'],
    ['spiffe:', 'SPIFFE-ID 2', 'scheme only'],
    ['spiffe:/example.org/x', 'SPIFFE-ID 2', 'one slash'],
    ['spiffe:example.org/x', 'SPIFFE-ID 2', 'no authority'],
    ['Spiffe://example.org/x', 'SPIFFE-ID 2', 'capitalised scheme'],
    ['https://example.org/x', 'SPIFFE-ID 2', 'https scheme'],
    [' spiffe://example.org/x', 'SPIFFE-ID 2', 'leading space'],
    ['spiffe://example.org/x ', 'SPIFFE-ID 2.2', 'trailing space'],
    ['spiffe://example.org?x=1', 'SPIFFE-ID 2', 'query on the trust domain'],
    ['spiffe://example.org#frag', 'SPIFFE-ID 2', 'fragment on the trust domain'],
    ['spiffe://example.org/a/b#c', 'SPIFFE-ID 2', 'fragment after a path'],
    ['spiffe://example.org/a?', 'SPIFFE-ID 2', 'empty query'],
    ['spiffe://example.org:', 'SPIFFE-ID 2.1', 'empty port'],
    ['spiffe://example.org:8080', 'SPIFFE-ID 2.1', 'port without path'],
    ['spiffe://@example.org/x', 'SPIFFE-ID 2.1', 'empty userinfo'],
    ['spiffe://user:pass@example.org/x', 'SPIFFE-ID 2.1', 'userinfo with password'],
    ['spiffe://[2001:db8::1]/x', 'SPIFFE-ID 2.1', 'IPv6 literal'],
    ['spiffe://EXAMPLE.ORG/x', 'SPIFFE-ID 2.1', 'uppercase trust domain'],
    ['spiffe://exämple.org/x', 'SPIFFE-ID 2.1', 'non-ASCII trust domain'],
    ['spiffe://example.org%2F/x', 'SPIFFE-ID 2.1', 'percent-encoded trust domain'],
    ['spiffe://exa+mple.org/x', 'SPIFFE-ID 2.1', 'plus in trust domain'],
    ['spiffe://exa*mple.org/x', 'SPIFFE-ID 2.1', 'star in trust domain'],
    ['spiffe://' + 'a'.repeat(256) + '/x', 'SPIFFE-ID 2.3', 'a 256-byte trust domain'],
    [
      'spiffe://example.org/' + 'a'.repeat(2049 - 'spiffe://example.org/'.length),
      'SPIFFE-ID 2.3',
      '2049 bytes',
    ],
    ['spiffe://example.org//', 'SPIFFE-ID 2.2', 'double slash only'],
    ['spiffe://example.org/a//b', 'SPIFFE-ID 2.2', 'empty middle segment'],
    ['spiffe://example.org/.', 'SPIFFE-ID 2.2', 'dot segment alone'],
    ['spiffe://example.org/..', 'SPIFFE-ID 2.2', 'dot-dot segment alone'],
    ['spiffe://example.org/a/.', 'SPIFFE-ID 2.2', 'trailing dot segment'],
    ['spiffe://example.org/%41', 'SPIFFE-ID 2.2', 'percent-encoded letter'],
    ['spiffe://example.org/a+b', 'SPIFFE-ID 2.2', 'plus in path'],
    ['spiffe://example.org/a~b', 'SPIFFE-ID 2.2', 'tilde in path'],
    ['spiffe://example.org/a@b', 'SPIFFE-ID 2.2', 'at sign in path'],
    ['spiffe://example.org/ä', 'SPIFFE-ID 2.2', 'non-ASCII path'],
    ['spiffe://example.org/a\\b', 'SPIFFE-ID 2.2', 'backslash in path'],
    ['spiffe://example.org/a\nb', 'SPIFFE-ID 2.2', 'newline in path'],
  ])('rejects %j under %s (%s)', (input, section) => {
    expect(ruleOf(input).startsWith(`${section}: `)).toBe(true);
  });

  it('names the offending ID and the rule in the message', () => {
    expect(() => parseSpiffeId('spiffe://Example.org/x')).toThrow(
      'invalid SPIFFE ID "spiffe://Example.org/x": the trust domain must be lowercase (SPIFFE-ID 2.1)',
    );
  });

  it('truncates very long IDs in messages', () => {
    let message = '';
    try {
      parseSpiffeId('spiffe://example.org/' + 'a'.repeat(3000));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.length).toBeLessThan(200);
    expect(message).toContain('longer than 2048 bytes');
  });

  it('rejects non-string input with a SigilError', () => {
    expect(() => parseSpiffeId(undefined as unknown as string)).toThrow(SigilError);
  });
});

describe('parseTrustDomain', () => {
  it('returns a valid trust domain unchanged', () => {
    expect(parseTrustDomain('example.org')).toBe('example.org');
  });

  it.each([
    ['', 'SPIFFE-ID 2'],
    ['Example.org', 'SPIFFE-ID 2.1'],
    ['example.org:443', 'SPIFFE-ID 2.1'],
    ['spiffe://example.org', 'SPIFFE-ID 2.1'],
    ['example.org/x', 'SPIFFE-ID 2.1'],
    ['a'.repeat(256), 'SPIFFE-ID 2.3'],
  ])('rejects %j with ERR_TRUST_DOMAIN_INVALID under %s', (input, section) => {
    try {
      parseTrustDomain(input);
      throw new Error('not rejected');
    } catch (err) {
      expect((err as SigilError).code).toBe('ERR_TRUST_DOMAIN_INVALID');
      expect(String((err as SigilError).details.rule).startsWith(section + ':')).toBe(true);
    }
  });
});

describe('formatSpiffeId', () => {
  it('joins segments under the trust domain', () => {
    expect(String(formatSpiffeId('example.org', 'ns', 'prod', 'sa', 'api'))).toBe(
      'spiffe://example.org/ns/prod/sa/api',
    );
  });

  it('gives the trust-domain ID with no segments', () => {
    expect(String(formatSpiffeId('example.org'))).toBe('spiffe://example.org');
  });

  it('refuses a segment that would smuggle in extra path', () => {
    expect(() => formatSpiffeId('example.org', 'a/b')).toThrow(/segment/);
    expect(() => formatSpiffeId('example.org', '')).toThrow(SigilError);
    expect(() => formatSpiffeId('example.org', '..')).toThrow(SigilError);
  });
});
