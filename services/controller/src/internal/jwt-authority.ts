import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { ReplicaStore } from '../store/replica-store';
import type { CaKeySealer } from './ca-key-sealing';

/** Where the JWT authority's signing key lived under DATA_DIR before the store held it (read once, to migrate it). */
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
  /** When it took this role. */
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
  /** Calls `listener` after each change of the published keys (made here or by another replica). */
  onChanged(listener: () => void): void;
  /** Re-reads the keys from the store: a step another replica took takes effect here. */
  refresh(): Promise<void>;
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

/** The stored document: every published key, its private key sealed under `jwt-authority/<kid>`. */
interface JwtAuthorityDocument {
  keys: Array<{ role: JwtKeyRole; kid: string; since: number; sealed: string }>;
}

interface Published {
  revision: number;
  current: AuthorityKey;
  next: AuthorityKey | undefined;
  previous: AuthorityKey | undefined;
}

const sealingContext = (kid: string): string => `jwt-authority/${kid}`;

/** The keys of a store written before migration 7: the files under `dataDir`, or a new key. */
async function keysToMigrate(dataDir: string): Promise<Omit<Published, 'revision'>> {
  const current =
    (await readKey(join(dataDir, JWT_AUTHORITY_KEY_FILE))) ??
    (await keyOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, new Date()));
  const next = await readKey(join(dataDir, JWT_AUTHORITY_NEXT_KEY_FILE));
  const previous = await readKey(join(dataDir, JWT_AUTHORITY_PREVIOUS_KEY_FILE));
  // An activation of the file era interrupted after writing the signing key, or before: the
  // duplicate goes.
  return {
    current,
    next: next?.kid === current.kid ? undefined : next,
    previous: previous?.kid === current.kid ? undefined : previous,
  };
}

/**
 * Loads the JWT authority's ES256 keys from the store, shared by every replica: each private key
 * is sealed with `DATA_DIR/ca-key-sealing.key` (AES-256-GCM, like the runtime CA keys), so the
 * database alone yields no signing key. On the first start under schema 7 the keys of the file
 * era (`jwt-authority.key` and its `.next`/`.previous` files under `dataDir`, 0600; a key
 * readable by others is refused) are moved into the store, or a new signing key is created; the
 * files are not read again. Rotation goes through three steps, each one compare-and-set write of
 * the stored keys: {@link JwtAuthority.prepare} adds a next key (published, not signing),
 * {@link JwtAuthority.activate} makes it the signing key and keeps the old one as previous, and
 * {@link JwtAuthority.retire} drops that once no JWT-SVID it signed can still be valid.
 * {@link JwtAuthority.refresh} picks up a step another replica took. The JWKS lists every
 * published key; `kid` is the key's RFC 7638 thumbprint; the bundle version is the stored
 * revision, the same on every replica.
 *
 * @example
 * ```ts
 * const jwt = await loadOrCreateJwtAuthority({ dataDir, store, sealer: loadCaKeySealer(dataDir) });
 * const token = await jwt.mint('spiffe://example.org/web', ['billing'], 300, new Date());
 * await jwt.prepare(new Date());
 * ```
 */
export async function loadOrCreateJwtAuthority(options: {
  dataDir: string;
  store: ReplicaStore;
  sealer: CaKeySealer;
}): Promise<JwtAuthority> {
  const { store, sealer } = options;
  const serialize = (keys: Omit<Published, 'revision'>): string => {
    const entries: JwtAuthorityDocument['keys'] = [];
    for (const [role, key] of [
      ['next', keys.next],
      ['current', keys.current],
      ['previous', keys.previous],
    ] as const)
      if (key !== undefined)
        entries.push({
          role,
          kid: key.kid,
          since: key.since.getTime(),
          sealed: sealer.seal(pemOf(key.privateKey), sealingContext(key.kid)),
        });
    return JSON.stringify({ keys: entries } satisfies JwtAuthorityDocument);
  };
  const parse = async (revision: number, document: string): Promise<Published> => {
    const parsed = JSON.parse(document) as JwtAuthorityDocument;
    const keys: Partial<Record<JwtKeyRole, AuthorityKey>> = {};
    for (const entry of parsed.keys)
      keys[entry.role] = await keyOf(
        createPrivateKey(sealer.open(entry.sealed, sealingContext(entry.kid))),
        new Date(entry.since),
      );
    if (keys.current === undefined)
      throw new SigilError(
        'ERR_STORE_UNAVAILABLE',
        `the stored JWT authority (revision ${revision}) has no signing key`,
      );
    return { revision, current: keys.current, next: keys.next, previous: keys.previous };
  };
  const read = async (): Promise<Published | undefined> => {
    const stored = await store.getJwtAuthorityState();
    return stored === undefined ? undefined : parse(stored.revision, stored.document);
  };

  let state = await read();
  if (state === undefined) {
    const migrated = await keysToMigrate(options.dataDir);
    // Another replica migrating at the same moment wins or loses as a whole: read what won.
    state = (await store.replaceJwtAuthorityState(
      { revision: 1, document: serialize(migrated) },
      undefined,
    ))
      ? { revision: 1, ...migrated }
      : await read();
    if (state === undefined) throw new Error('the JWT authority state vanished after its creation');
  }
  let published: Published = state;
  const listeners: Array<() => void> = [];
  const adopt = (next: Published): void => {
    const changed = next.revision !== published.revision;
    published = next;
    if (changed) for (const listener of listeners) listener();
  };
  // Steps and refreshes run one at a time, so none works on keys another is replacing.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const refreshNow = async (): Promise<void> => {
    const stored = await store.getJwtAuthorityState();
    if (stored !== undefined && stored.revision !== published.revision)
      adopt(await parse(stored.revision, stored.document));
  };
  const status = (): JwtAuthorityStatus => {
    const { current, next, previous } = published;
    return {
      version: published.revision,
      keys: [
        ...(next === undefined
          ? []
          : [{ role: 'next' as const, kid: next.kid, since: next.since }]),
        { role: 'current' as const, kid: current.kid, since: current.since },
        ...(previous === undefined
          ? []
          : [{ role: 'previous' as const, kid: previous.kid, since: previous.since }]),
      ],
    };
  };
  /** One rotation step: decided on the latest stored keys, written only if no replica wrote first. */
  const step = (decide: (keys: Published) => Promise<Omit<Published, 'revision'>>) =>
    serially(async () => {
      await refreshNow();
      const base = published;
      const keys = await decide(base);
      const revision = base.revision + 1;
      if (
        !(await store.replaceJwtAuthorityState(
          { revision, document: serialize(keys) },
          base.revision,
        ))
      ) {
        await refreshNow();
        throw refused(
          'another replica changed the JWT authority at the same moment: check GET /api/admin/jwt-authority and retry',
        );
      }
      adopt({ revision, ...keys });
      return status();
    });

  return {
    jwks: () =>
      JSON.stringify({
        keys: [published.current, published.next, published.previous]
          .filter((k): k is AuthorityKey => k !== undefined)
          .map((k) => k.publicJwk),
      }),
    get version() {
      return published.revision;
    },
    mint: (spiffeId, audience, ttlSeconds, now) => {
      const iat = Math.floor(now.getTime() / 1000);
      const { current } = published;
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
        .setSubject(spiffeId)
        .setAudience([...audience])
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(current.privateKey);
    },
    status,
    prepare: (now) =>
      step(async ({ current, next, previous }) => {
        if (next !== undefined)
          throw refused(`a key is already prepared (kid ${next.kid}): activate it`);
        if (previous !== undefined)
          throw refused(
            `the previous key (kid ${previous.kid}) is still published: retire it first`,
          );
        const prepared = await keyOf(
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
          now,
        );
        return { current, next: prepared, previous: undefined };
      }),
    activate: (now) =>
      step(async ({ current, next }) => {
        if (next === undefined) throw refused('no key is prepared: prepare one first');
        return {
          current: { ...next, since: now },
          next: undefined,
          previous: { ...current, since: now },
        };
      }),
    retire: ({ now, maxJwtTtlSeconds, force = false }) =>
      step(async ({ current, next, previous }) => {
        if (previous === undefined)
          throw refused('no previous key is published: nothing to retire');
        const until = new Date(previous.since.getTime() + maxJwtTtlSeconds * 1000);
        if (!force && now < until)
          throw refused(
            `JWT-SVIDs signed by the previous key (kid ${previous.kid}) may be valid until ${until.toISOString()} (the longest JWT-SVID lifetime, ${maxJwtTtlSeconds}s, after the activation); wait, or force`,
          );
        return { current, next, previous: undefined };
      }),
    onChanged(listener) {
      listeners.push(listener);
    },
    refresh: () => serially(refreshNow),
  };
}
