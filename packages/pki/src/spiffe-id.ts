import { SigilError } from '@sigil/errors';

const SCHEME = 'spiffe://';
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * A parsed, valid SPIFFE ID (SPIFFE-ID specification section 2).
 *
 * @example
 * ```ts
 * const id: SpiffeId = parseSpiffeId('spiffe://example.org/ns/prod/sa/api');
 * id.segments[1]; // 'prod'
 * ```
 */
export interface SpiffeId {
  /** The lowercase trust domain, e.g. `example.org`. */
  readonly trustDomain: string;
  /** The path including its leading slash, or `''` for a trust-domain ID. */
  readonly path: string;
  /** Path segments, e.g. `['svc', 'identity-service']`. */
  readonly segments: readonly string[];
  /** The canonical string form `spiffe://<trustDomain><path>`. */
  toString(): string;
}

/**
 * Parses and validates a SPIFFE ID exactly per the SPIFFE-ID specification: lowercase `spiffe`
 * scheme, lowercase trust domain of `[a-z0-9.-_]` up to 255 bytes, no port, userinfo, query,
 * fragment or percent-encoding, path segments of `[A-Za-z0-9.-_]` that are neither empty, `.` nor
 * `..`, no trailing slash, and at most 2048 bytes in all. Throws `ERR_SPIFFE_ID_INVALID` naming
 * the rule that failed.
 *
 * @example
 * ```ts
 * const id = parseSpiffeId('spiffe://example.org/svc/identity-service');
 * id.trustDomain; // 'example.org'
 * id.segments;    // ['svc', 'identity-service']
 * ```
 */
export function parseSpiffeId(input: string): SpiffeId {
  const fail = (section: string, reason: string): never => {
    throw new SigilError(
      'ERR_SPIFFE_ID_INVALID',
      `invalid SPIFFE ID "${truncate(input)}": ${reason} (SPIFFE-ID ${section})`,
      {
        details: { spiffeId: truncate(input), rule: `SPIFFE-ID ${section}: ${reason}` },
      },
    );
  };
  if (typeof input !== 'string' || input.length === 0) fail('2', 'the ID is empty');
  if (Buffer.byteLength(input, 'utf8') > MAX_ID_BYTES)
    fail('2.3', `the ID is longer than ${MAX_ID_BYTES} bytes`);
  if (!input.startsWith(SCHEME)) {
    fail(
      '2',
      input.toLowerCase().startsWith(SCHEME)
        ? 'the scheme must be lowercase "spiffe"'
        : 'the scheme must be "spiffe://"',
    );
  }
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  checkTrustDomain(trustDomain, fail);
  const segments = path === '' ? [] : path.slice(1).split('/');
  if (path !== '') {
    if (path.includes('?')) fail('2', 'a query is not allowed');
    if (path.includes('#')) fail('2', 'a fragment is not allowed');
    if (path.endsWith('/')) fail('2.2', 'the path must not end with a slash');
    for (const segment of segments) {
      if (segment === '') fail('2.2', 'the path must not contain empty segments');
      if (segment === '.' || segment === '..')
        fail('2.2', 'the path must not contain "." or ".." segments');
      if (segment.includes('%')) fail('2.2', 'percent-encoding is not allowed in the path');
      if (!SEGMENT_CHARS.test(segment))
        fail('2.2', `path segment "${truncate(segment)}" has characters outside [A-Za-z0-9.-_]`);
    }
  }
  const canonical = SCHEME + trustDomain + path;
  return Object.freeze({
    trustDomain,
    path,
    segments: Object.freeze(segments),
    toString: () => canonical,
  });
}

/**
 * Validates a bare trust domain name (as given to `--trust-domain` or `TRUST_DOMAIN`).
 * Throws `ERR_TRUST_DOMAIN_INVALID` naming the rule.
 *
 * @example
 * ```ts
 * parseTrustDomain('example.org'); // 'example.org'
 * parseTrustDomain('Example.org'); // throws: must be lowercase
 * ```
 */
export function parseTrustDomain(input: string): string {
  checkTrustDomain(input, (section, reason) => {
    throw new SigilError(
      'ERR_TRUST_DOMAIN_INVALID',
      `invalid trust domain "${truncate(input)}": ${reason} (SPIFFE-ID ${section})`,
      {
        details: { trustDomain: truncate(input), rule: `SPIFFE-ID ${section}: ${reason}` },
      },
    );
  });
  return input;
}

/**
 * Builds a SPIFFE ID from a trust domain and path segments, validating the result.
 *
 * @example
 * ```ts
 * formatSpiffeId('example.org', 'svc', 'user-service').toString(); // 'spiffe://example.org/svc/user-service'
 * ```
 */
export function formatSpiffeId(trustDomain: string, ...segments: string[]): SpiffeId {
  const withSlash = segments.find((s) => typeof s === 'string' && s.includes('/'));
  if (withSlash !== undefined) {
    throw new SigilError(
      'ERR_SPIFFE_ID_INVALID',
      `path segment "${truncate(withSlash)}" contains "/"; pass each segment separately`,
      {
        details: {
          segment: truncate(withSlash),
          rule: 'SPIFFE-ID 2.2: a path segment must not contain "/"',
        },
      },
    );
  }
  return parseSpiffeId(SCHEME + trustDomain + segments.map((s) => '/' + s).join(''));
}

/**
 * True when `input` is a valid SPIFFE ID.
 *
 * @example
 * ```ts
 * isSpiffeId('spiffe://example.org/x'); // true
 * ```
 */
export function isSpiffeId(input: string): boolean {
  try {
    parseSpiffeId(input);
    return true;
  } catch {
    return false;
  }
}

function checkTrustDomain(
  trustDomain: string,
  fail: (section: string, reason: string) => never,
): void {
  if (typeof trustDomain !== 'string' || trustDomain === '') fail('2', 'the trust domain is empty');
  if (trustDomain.includes('?')) fail('2', 'a query is not allowed');
  if (trustDomain.includes('#')) fail('2', 'a fragment is not allowed');
  if (trustDomain.includes('@')) fail('2.1', 'userinfo is not allowed in the trust domain');
  if (trustDomain.startsWith('[')) fail('2.1', 'an IP literal is not a valid trust domain');
  if (trustDomain.includes(':')) fail('2.1', 'a port is not allowed in the trust domain');
  if (trustDomain.includes('%')) fail('2.1', 'percent-encoding is not allowed in the trust domain');
  if (Buffer.byteLength(trustDomain, 'utf8') > MAX_TRUST_DOMAIN_BYTES)
    fail('2.3', `the trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`);
  if (/[A-Z]/.test(trustDomain)) fail('2.1', 'the trust domain must be lowercase');
  if (!TRUST_DOMAIN_CHARS.test(trustDomain))
    fail('2.1', 'the trust domain has characters outside [a-z0-9.-_]');
}

function truncate(s: string): string {
  return typeof s === 'string' && s.length > 80 ? `${s.slice(0, 77)}...` : String(s);
}
