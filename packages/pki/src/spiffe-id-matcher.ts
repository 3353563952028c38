import { parseSpiffeId, parseTrustDomain } from './spiffe-id';

/**
 * Decides whether a peer's SPIFFE ID is acceptable, in go-spiffe's shape (`tlsconfig.AuthorizeID`,
 * `AuthorizeMemberOf`, ...). The ID given must already be a valid SPIFFE ID, as one read from a
 * certificate with {@link workloadIdOfCertificate} is.
 *
 * @example
 * ```ts
 * const allowed: SpiffeIdMatcher = authorizeMemberOf('example.org');
 * allowed('spiffe://example.org/svc/api'); // true
 * ```
 */
export type SpiffeIdMatcher = (spiffeId: string) => boolean;

/**
 * Accepts every SPIFFE ID.
 *
 * @example
 * ```ts
 * authorizeAny()('spiffe://partner.io/anything'); // true
 * ```
 */
export function authorizeAny(): SpiffeIdMatcher {
  return () => true;
}

/**
 * Accepts exactly `expected`. Throws `ERR_SPIFFE_ID_INVALID` when `expected` is not a valid SPIFFE ID.
 *
 * @example
 * ```ts
 * authorizeID('spiffe://example.org/svc/api')('spiffe://example.org/svc/api'); // true
 * ```
 */
export function authorizeID(expected: string): SpiffeIdMatcher {
  const id = String(parseSpiffeId(expected));
  return (spiffeId) => spiffeId === id;
}

/**
 * Accepts any one of `expected`. Throws `ERR_SPIFFE_ID_INVALID` for an entry that is not a valid
 * SPIFFE ID.
 *
 * @example
 * ```ts
 * const allowed = authorizeOneOf('spiffe://example.org/svc/a', 'spiffe://example.org/svc/b');
 * allowed('spiffe://example.org/svc/b'); // true
 * ```
 */
export function authorizeOneOf(...expected: string[]): SpiffeIdMatcher {
  const ids = new Set(expected.map((id) => String(parseSpiffeId(id))));
  return (spiffeId) => ids.has(spiffeId);
}

/**
 * Accepts every workload ID of `trustDomain` (`spiffe://<trustDomain>/...`; not the trust-domain
 * ID itself, which names no workload). Throws `ERR_TRUST_DOMAIN_INVALID` for a bad trust domain.
 *
 * @example
 * ```ts
 * authorizeMemberOf('example.org')('spiffe://example.org/svc/api'); // true
 * authorizeMemberOf('example.org')('spiffe://example.org.evil/svc/api'); // false
 * ```
 */
export function authorizeMemberOf(trustDomain: string): SpiffeIdMatcher {
  return authorizeUnder(`spiffe://${parseTrustDomain(trustDomain)}`);
}

/**
 * Accepts the IDs below `parent` in the path hierarchy: `spiffe://td/team` accepts
 * `spiffe://td/team/bob`, not `spiffe://td/team` itself nor `spiffe://td/teamster`. With a
 * trust-domain ID it is {@link authorizeMemberOf}. Throws `ERR_SPIFFE_ID_INVALID` when `parent` is
 * not a valid SPIFFE ID.
 *
 * @example
 * ```ts
 * authorizeUnder('spiffe://example.org/team')('spiffe://example.org/team/bob'); // true
 * ```
 */
export function authorizeUnder(parent: string): SpiffeIdMatcher {
  const prefix = `${String(parseSpiffeId(parent))}/`;
  return (spiffeId) => spiffeId.startsWith(prefix);
}
