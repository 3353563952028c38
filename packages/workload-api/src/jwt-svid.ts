import { SigilError } from '@sigil/errors';
import { parseSpiffeId } from '@sigil/pki';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';

/**
 * The JWS algorithms the JWT-SVID specification allows (section 3); `none` and HMAC never.
 *
 * @example
 * ```ts
 * await jwtVerify(token, keys, { algorithms: [...JWT_SVID_ALGORITHMS] });
 * ```
 */
export const JWT_SVID_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const;

/**
 * A validated JWT-SVID.
 *
 * @example
 * ```ts
 * const { spiffeId, claims }: ValidatedJwtSvid = await validateJwtSvid(token, { audience: 'billing', bundle });
 * ```
 */
export interface ValidatedJwtSvid {
  /** The `sub` claim. */
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly audience: readonly string[];
  readonly expiresAt: Date;
  /** Every claim of the payload. */
  readonly claims: JWTPayload;
}

/**
 * How {@link validateJwtSvid} validates.
 *
 * @example
 * ```ts
 * const options: ValidateJwtSvidOptions = { audience: 'billing', bundle: (td) => bundles.get(td) };
 * ```
 */
export interface ValidateJwtSvidOptions {
  /** The validator's audience: the token's `aud` must contain it. */
  audience: string;
  /** The JWT bundle (JWKS) of a trust domain, undefined when it is not trusted. */
  bundle: (trustDomain: string) => JSONWebKeySet | undefined;
  /** Validation time. Default now. */
  now?: Date;
}

const invalid = (why: string, details: Record<string, unknown> = {}): SigilError =>
  new SigilError('ERR_JWT_SVID_INVALID', `the JWT-SVID is invalid: ${why}`, { details });

/**
 * The keys of a SPIFFE JWT bundle in the form a JOSE library matches: the SPIFFE trust domain
 * bundle format marks JWT authorities `"use": "jwt-svid"`, which JOSE libraries (jose included)
 * would skip as "not a signing key"; the other keys (`x509-svid`) are dropped.
 *
 * @example
 * ```ts
 * const set = createLocalJWKSet(signingKeysOf(JSON.parse(jwksJson)));
 * ```
 */
export function signingKeysOf(bundle: JSONWebKeySet): JSONWebKeySet {
  return {
    keys: bundle.keys
      .filter((key) => key.use === undefined || key.use === 'jwt-svid' || key.use === 'sig')
      .map(({ use: _use, ...key }) => key),
  };
}

/**
 * Validates a JWT-SVID per the JWT-SVID specification: JWS compact form, an allowed asymmetric
 * `alg`, a `kid` found in the JWT bundle of the trust domain of `sub`, a valid signature, `sub` a
 * SPIFFE ID, `aud` containing `audience`, `exp` present and in the future. Every failure is one
 * `ERR_JWT_UNVERIFIED` saying which rule failed.
 *
 * @example
 * ```ts
 * const svid = await validateJwtSvid(token, { audience: 'billing', bundle: () => JSON.parse(jwksJson) });
 * svid.spiffeId; // 'spiffe://example.org/web'
 * ```
 */
export async function validateJwtSvid(
  token: string,
  options: ValidateJwtSvidOptions,
): Promise<ValidatedJwtSvid> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch (cause) {
    throw invalid(`not a JWS compact token (${(cause as Error).message})`);
  }
  if (!JWT_SVID_ALGORITHMS.includes(header.alg as (typeof JWT_SVID_ALGORITHMS)[number]))
    throw invalid(`alg ${String(header.alg)} is not allowed for a JWT-SVID`, { alg: header.alg });
  if (typeof header.kid !== 'string' || header.kid === '') throw invalid('the header has no kid');
  if (typeof payload.sub !== 'string') throw invalid('the token has no sub claim');
  let trustDomain: string;
  try {
    trustDomain = parseSpiffeId(payload.sub).trustDomain;
  } catch {
    throw invalid(`sub ${payload.sub.slice(0, 200)} is not a SPIFFE ID`);
  }
  if (payload.exp === undefined) throw invalid('the token has no exp claim');
  const bundle = options.bundle(trustDomain);
  if (bundle === undefined)
    throw invalid(`no JWT bundle for trust domain ${trustDomain}`, { trustDomain });
  try {
    const { payload: verified } = await jwtVerify(token, createLocalJWKSet(signingKeysOf(bundle)), {
      audience: options.audience,
      algorithms: [...JWT_SVID_ALGORITHMS],
      ...(options.now === undefined ? {} : { currentDate: options.now }),
    });
    const audience = typeof verified.aud === 'string' ? [verified.aud] : (verified.aud ?? []);
    return {
      spiffeId: payload.sub,
      trustDomain,
      audience,
      expiresAt: new Date(verified.exp! * 1000),
      claims: verified,
    };
  } catch (cause) {
    throw invalid(`${(cause as Error).message} (sub ${payload.sub}, kid ${header.kid})`, {
      spiffeId: payload.sub,
      kid: header.kid,
    });
  }
}
