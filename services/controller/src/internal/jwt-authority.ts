import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { PRIVATE_KEY_MODE, writeFileAtomic } from '@sigil/pki';
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** The JWT authority's key under DATA_DIR. */
export const JWT_AUTHORITY_KEY_FILE = 'jwt-authority.key';

/** Signs JWT-SVIDs and publishes the JWT bundle of the trust domain. */
export interface JwtAuthority {
  /** The JWT bundle (JWKS, SPIFFE trust domain bundle format: `"use": "jwt-svid"`). */
  jwks(): string;
  /** Increases when the published keys change. */
  readonly version: number;
  /** A JWT-SVID (ES256; sub, aud, exp, iat). */
  mint(
    spiffeId: string,
    audience: readonly string[],
    ttlSeconds: number,
    now: Date,
  ): Promise<string>;
}

interface AuthorityKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

async function keyOf(privateKey: KeyObject): Promise<AuthorityKey> {
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, use: 'jwt-svid', alg: 'ES256' } };
}

/**
 * Loads the JWT authority's ES256 key from `dataDir` (creating it, 0600, on first start; a key
 * readable by others is refused like the CA keys). The JWKS lists every published key, so a new
 * signing key can be added before the old one retires (rotation); `kid` is the key's RFC 7638
 * thumbprint.
 *
 * @example
 * ```ts
 * const jwt = await loadOrCreateJwtAuthority(dataDir);
 * const token = await jwt.mint('spiffe://example.org/web', ['billing'], 300, new Date());
 * ```
 */
export async function loadOrCreateJwtAuthority(dataDir: string): Promise<JwtAuthority> {
  const file = join(dataDir, JWT_AUTHORITY_KEY_FILE);
  let privateKey: KeyObject;
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new SigilError(
        'ERR_KEY_PERMISSIONS',
        `${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
        { details: { file } },
      );
    privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  } else {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileAtomic(file, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), {
      mode: PRIVATE_KEY_MODE,
    });
  }
  const current = await keyOf(privateKey);
  const published = [current];
  return {
    jwks: () => JSON.stringify({ keys: published.map((k) => k.publicJwk) }),
    version: 1,
    mint: (spiffeId, audience, ttlSeconds, now) => {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
        .setSubject(spiffeId)
        .setAudience([...audience])
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(current.privateKey);
    },
  };
}
