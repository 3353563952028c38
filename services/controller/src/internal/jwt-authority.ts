import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { PRIVATE_KEY_MODE, writeFileAtomic } from '@sigil/pki';
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** The JWT authority's signing key under DATA_DIR. */
export const JWT_AUTHORITY_KEY_FILE = 'jwt-authority.key';
/** A prepared key: published in the JWT bundle, not signing yet. */
export const JWT_AUTHORITY_NEXT_KEY_FILE = 'jwt-authority.next.key';
/** The key signing before the last activation: published until retired. */
export const JWT_AUTHORITY_PREVIOUS_KEY_FILE = 'jwt-authority.previous.key';

/** The role of a published JWT authority key. */
export type JwtKeyRole = 'next' | 'current' | 'previous';

/** One published key, as `GET /api/admin/jwt-authority` shows it. */
export interface JwtKeyStatus {
  readonly role: JwtKeyRole;
  /** RFC 7638 thumbprint, the JWKS `kid`. */
  readonly kid: string;
  /** When it took this role (its file's modification time). */
  readonly since: Date;
}

/** The keys of the JWT authority and the bundle version. */
export interface JwtAuthorityStatus {
  readonly version: number;
  /** next, current, previous (those that exist). */
  readonly keys: readonly JwtKeyStatus[];
}

/** Signs JWT-SVIDs, publishes the JWT bundle of the trust domain, and rotates its key. */
export interface JwtAuthority {
  /** The JWT bundle (JWKS, SPIFFE trust domain bundle format: `"use": "jwt-svid"`). */
  jwks(): string;
  /** Increases when the published keys change. */
  readonly version: number;
  /** A JWT-SVID (ES256; sub, aud, exp, iat), signed by the current key. */
  mint(
    spiffeId: string,
    audience: readonly string[],
    ttlSeconds: number,
    now: Date,
  ): Promise<string>;
  status(): JwtAuthorityStatus;
  /** Creates the next key and publishes it beside the current one (nothing signed by it yet). */
  prepare(now: Date): Promise<JwtAuthorityStatus>;
  /** The next key signs from now on; the current one stays published as previous. */
  activate(now: Date): Promise<JwtAuthorityStatus>;
  /**
   * Stops publishing the previous key: refused until `maxJwtTtlSeconds` have passed since the
   * activation (a JWT-SVID it signed may still be valid), unless `force`.
   */
  retire(options: {
    now: Date;
    maxJwtTtlSeconds: number;
    force?: boolean;
  }): Promise<JwtAuthorityStatus>;
  /** Calls `listener` after each change of the published keys. */
  onChanged(listener: () => void): void;
}

interface AuthorityKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
  since: Date;
}

async function keyOf(privateKey: KeyObject, since: Date): Promise<AuthorityKey> {
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateKey,
    publicJwk: { ...publicJwk, kid, use: 'jwt-svid', alg: 'ES256' },
    since,
  };
}

const refused = (reason: string): SigilError =>
  new SigilError('ERR_JWT_ROTATION_REFUSED', reason, { details: { reason } });

/** The key in `file`, if any; one readable by others is refused like the CA keys. */
async function readKey(file: string): Promise<AuthorityKey | undefined> {
  if (!existsSync(file)) return undefined;
  const stat = statSync(file);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new SigilError(
      'ERR_KEY_PERMISSIONS',
      `${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
      { details: { file } },
    );
  return keyOf(createPrivateKey(readFileSync(file, 'utf8')), stat.mtime);
}

const pemOf = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();

/**
 * Loads the JWT authority's ES256 keys from `dataDir` (creating the signing key, 0600, on first
 * start; a key readable by others is refused like the CA keys). Rotation goes through three
 * steps, each a file change under `dataDir` that survives a restart: {@link JwtAuthority.prepare}
 * writes `jwt-authority.next.key` (published, not signing), {@link JwtAuthority.activate} makes
 * it the signing key and keeps the old one as `jwt-authority.previous.key`, and
 * {@link JwtAuthority.retire} removes that once no JWT-SVID it signed can still be valid. The
 * JWKS lists every published key; `kid` is the key's RFC 7638 thumbprint. A step interrupted by
 * a crash is completed or undone at the next load (a file equal to the signing key is dropped).
 *
 * @example
 * ```ts
 * const jwt = await loadOrCreateJwtAuthority(dataDir);
 * const token = await jwt.mint('spiffe://example.org/web', ['billing'], 300, new Date());
 * await jwt.prepare(new Date());
 * ```
 */
export async function loadOrCreateJwtAuthority(dataDir: string): Promise<JwtAuthority> {
  const files = {
    current: join(dataDir, JWT_AUTHORITY_KEY_FILE),
    next: join(dataDir, JWT_AUTHORITY_NEXT_KEY_FILE),
    previous: join(dataDir, JWT_AUTHORITY_PREVIOUS_KEY_FILE),
  };
  let current = await readKey(files.current);
  if (current === undefined) {
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileAtomic(files.current, pemOf(privateKey), { mode: PRIVATE_KEY_MODE });
    current = await keyOf(privateKey, new Date());
  }
  let next = await readKey(files.next);
  let previous = await readKey(files.previous);
  // An activation interrupted after writing the signing key, or before: the duplicate goes.
  if (next?.kid === current.kid) {
    rmSync(files.next, { force: true });
    next = undefined;
  }
  if (previous?.kid === current.kid) {
    rmSync(files.previous, { force: true });
    previous = undefined;
  }
  let version = 1;
  const listeners: Array<() => void> = [];
  const changed = (): JwtAuthorityStatus => {
    version += 1;
    for (const listener of listeners) listener();
    return status();
  };
  const published = (): AuthorityKey[] =>
    [current!, next, previous].filter((k): k is AuthorityKey => k !== undefined);
  const status = (): JwtAuthorityStatus => ({
    version,
    keys: [
      ...(next === undefined ? [] : [{ role: 'next' as const, kid: next.kid, since: next.since }]),
      { role: 'current' as const, kid: current!.kid, since: current!.since },
      ...(previous === undefined
        ? []
        : [{ role: 'previous' as const, kid: previous.kid, since: previous.since }]),
    ],
  });

  return {
    jwks: () => JSON.stringify({ keys: published().map((k) => k.publicJwk) }),
    get version() {
      return version;
    },
    mint: (spiffeId, audience, ttlSeconds, now) => {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: current!.kid, typ: 'JWT' })
        .setSubject(spiffeId)
        .setAudience([...audience])
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(current!.privateKey);
    },
    status,
    async prepare(now) {
      if (next !== undefined)
        throw refused(`a key is already prepared (kid ${next.kid}): activate it`);
      if (previous !== undefined)
        throw refused(`the previous key (kid ${previous.kid}) is still published: retire it first`);
      const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      writeFileAtomic(files.next, pemOf(privateKey), { mode: PRIVATE_KEY_MODE });
      next = await keyOf(privateKey, now);
      return changed();
    },
    async activate(now) {
      if (next === undefined) throw refused('no key is prepared: prepare one first');
      // previous first, then the signing key, then the prepared file: a crash in between leaves
      // duplicates that the next load drops.
      writeFileAtomic(files.previous, pemOf(current!.privateKey), { mode: PRIVATE_KEY_MODE });
      writeFileAtomic(files.current, pemOf(next.privateKey), { mode: PRIVATE_KEY_MODE });
      rmSync(files.next, { force: true });
      previous = { ...current!, since: now };
      current = { ...next, since: now };
      next = undefined;
      return changed();
    },
    async retire({ now, maxJwtTtlSeconds, force = false }) {
      if (previous === undefined) throw refused('no previous key is published: nothing to retire');
      const until = new Date(previous.since.getTime() + maxJwtTtlSeconds * 1000);
      if (!force && now < until)
        throw refused(
          `JWT-SVIDs signed by the previous key (kid ${previous.kid}) may be valid until ${until.toISOString()} (the longest JWT-SVID lifetime, ${maxJwtTtlSeconds}s, after the activation); wait, or force`,
        );
      rmSync(files.previous, { force: true });
      previous = undefined;
      return changed();
    },
    onChanged(listener) {
      listeners.push(listener);
    },
  };
}
