import { SigilError } from '@sigil/errors';
import { parseSpiffeId } from '@sigil/pki';
import { signingKeysOf, type WorkloadApiClient } from '@sigil/workload-api';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/**
 * Keys for jose from a Workload API's JWT bundles: the bundle of the trust domain of the token's
 * `sub` (a JWT-SVID names its SPIFFE ID there), cached for `maxAgeMs` and refetched at once when
 * the token's `kid` is not in it (a rotated JWT authority).
 */
export function workloadApiKeySet(client: WorkloadApiClient, maxAgeMs = 30_000): JWTVerifyGetKey {
  let cached: { bundles: Map<string, JSONWebKeySet>; at: number } | undefined;
  const bundles = async (fresh: boolean): Promise<Map<string, JSONWebKeySet>> => {
    if (fresh || cached === undefined || Date.now() - cached.at > maxAgeMs)
      cached = { bundles: await client.fetchJwtBundles(), at: Date.now() };
    return cached.bundles;
  };
  return async (header, token) => {
    const { sub } = JSON.parse(
      Buffer.from(String(token.payload), 'base64url').toString('utf8'),
    ) as {
      sub?: unknown;
    };
    let trustDomain: string;
    try {
      if (typeof sub !== 'string') throw new Error('the token has no sub');
      trustDomain = parseSpiffeId(sub).trustDomain;
    } catch (cause) {
      throw new SigilError('ERR_JWT_SVID_INVALID', `not a JWT-SVID: ${(cause as Error).message}`, {
        cause,
      });
    }
    let bundle = (await bundles(false)).get(trustDomain);
    if (bundle === undefined || !bundle.keys.some((k) => k.kid === header.kid))
      bundle = (await bundles(true)).get(trustDomain);
    if (bundle === undefined)
      throw new SigilError(
        'ERR_JWT_SVID_INVALID',
        `the Workload API has no JWT bundle for trust domain ${trustDomain}`,
        { details: { trustDomain } },
      );
    return createLocalJWKSet(signingKeysOf(bundle))(header, token);
  };
}
