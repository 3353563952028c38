import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { createSqliteStore } from '../store/sqlite-store';
import type { ControllerStore } from '../store/store';
import { loadCaKeySealer } from './ca-key-sealing';
import {
  JWT_AUTHORITY_KEY_FILE,
  JWT_AUTHORITY_NEXT_KEY_FILE,
  JWT_AUTHORITY_PREVIOUS_KEY_FILE,
  loadOrCreateJwtAuthority,
} from './jwt-authority';

const kids = (jwks: string): string[] =>
  (JSON.parse(jwks) as JSONWebKeySet).keys.map((k) => k.kid!);

describe('the JWT authority rotation', () => {
  let dir: string;
  let store: ControllerStore;
  // A controller start: the keys come from the store, sealed with DATA_DIR's sealing key.
  const load = () =>
    loadOrCreateJwtAuthority({ dataDir: dir, store, sealer: loadCaKeySealer(dir) });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-jwt-authority-'));
    store = await createSqliteStore({ path: join(dir, 'controller.db') });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prepares, activates and retires, publishing both keys in between, across restarts', async () => {
    const t0 = new Date('2026-12-02T12:00:00Z');
    const jwt = await load();
    const changes: number[] = [];
    jwt.onChanged(() => changes.push(jwt.version));
    const [first] = kids(jwt.jwks());
    const before = await jwt.mint('spiffe://example.org/a', ['billing'], 300, t0);

    const prepared = await jwt.prepare(t0);
    expect(prepared.keys.map((k) => k.role)).toEqual(['next', 'current']);
    const next = prepared.keys[0]!.kid;
    expect(kids(jwt.jwks())).toEqual([first, next]);
    expect(
      decodeProtectedHeader(await jwt.mint('spiffe://example.org/a', ['b'], 300, t0)).kid,
    ).toBe(first);
    await expect(jwt.prepare(t0)).rejects.toMatchObject({ code: 'ERR_JWT_ROTATION_REFUSED' });
    // The prepared key survives a restart.
    expect(kids((await load()).jwks())).toEqual([first, next]);

    const t1 = new Date(t0.getTime() + 60_000);
    const activated = await jwt.activate(t1);
    expect(activated.keys.map((k) => [k.role, k.kid])).toEqual([
      ['current', next],
      ['previous', first],
    ]);
    const after = await jwt.mint('spiffe://example.org/a', ['billing'], 300, t1);
    expect(decodeProtectedHeader(after).kid).toBe(next);
    // Both tokens verify against the bundle of the moment.
    // jose takes keys without `use` or with `sig`: the bundle's `jwt-svid` goes, as validators do.
    const keys = createLocalJWKSet({
      keys: (JSON.parse(jwt.jwks()) as JSONWebKeySet).keys.map(({ use: _use, ...key }) => key),
    });
    for (const token of [before, after])
      await expect(jwtVerify(token, keys, { currentDate: t1 })).resolves.toBeDefined();
    expect(existsSync(join(dir, JWT_AUTHORITY_NEXT_KEY_FILE))).toBe(false);

    const restarted = await load();
    expect(restarted.status().keys.map((k) => [k.role, k.kid])).toEqual([
      ['current', next],
      ['previous', first],
    ]);
    await expect(
      // The activation time is stored: a restart does not reset the wait.
      restarted.retire({ now: new Date(t1.getTime() + 3_599_000), maxJwtTtlSeconds: 3600 }),
    ).rejects.toMatchObject({
      code: 'ERR_JWT_ROTATION_REFUSED',
      message: expect.stringContaining('may be valid until'),
    });
    await expect(
      jwt.retire({ now: new Date(t1.getTime() + 299_000), maxJwtTtlSeconds: 300 }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_ROTATION_REFUSED' });
    const retired = await jwt.retire({
      now: new Date(t1.getTime() + 300_000),
      maxJwtTtlSeconds: 300,
    });
    expect(retired.keys.map((k) => k.role)).toEqual(['current']);
    expect(kids(jwt.jwks())).toEqual([next]);
    await expect(jwt.retire({ now: t1, maxJwtTtlSeconds: 0 })).rejects.toMatchObject({
      code: 'ERR_JWT_ROTATION_REFUSED',
    });
    expect(changes).toEqual([2, 3, 4]);
    expect(kids((await load()).jwks())).toEqual([next]);
  });

  it('moves the key files of a store written before schema 7 into the store, sealed, dropping a duplicate of the signing key', async () => {
    const pem = () =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();
    const [currentPem, nextPem] = [pem(), pem()];
    writeFileSync(join(dir, JWT_AUTHORITY_KEY_FILE), currentPem, { mode: 0o600 });
    writeFileSync(join(dir, JWT_AUTHORITY_NEXT_KEY_FILE), nextPem, { mode: 0o600 });
    // An activation of the file era interrupted after writing previous: a duplicate of current.
    writeFileSync(join(dir, JWT_AUTHORITY_PREVIOUS_KEY_FILE), currentPem, { mode: 0o600 });
    const migrated = await load();
    expect(migrated.status().keys.map((k) => k.role)).toEqual(['next', 'current']);
    const stored = (await store.getJwtAuthorityState())!;
    expect(stored.revision).toBe(1);
    // The database holds sealed keys only: no PEM, nothing that opens without the sealing key.
    expect(stored.document).not.toContain('PRIVATE KEY');
    expect(stored.document).not.toContain(currentPem.split('\n')[1]!);
    // The files are not read again: the store is the one source.
    rmSync(join(dir, JWT_AUTHORITY_KEY_FILE));
    expect(kids((await load()).jwks())).toEqual(kids(migrated.jwks()));
    // Without the sealing key the stored keys do not open.
    rmSync(join(dir, 'ca-key-sealing.key'));
    await expect(load()).rejects.toMatchObject({ code: 'ERR_DATA_DIR_UNUSABLE' });
  });

  it('takes up a step another replica took on the shared store at its next refresh', async () => {
    const a = await load();
    const b = await load();
    const changes: number[] = [];
    b.onChanged(() => changes.push(b.version));
    const { keys } = await a.prepare(new Date());
    expect(kids(b.jwks())).toHaveLength(1);
    await b.refresh();
    expect(kids(b.jwks())).toEqual(kids(a.jwks()));
    expect(b.status()).toEqual(a.status());
    expect(changes).toEqual([2]);
    // A step decided on stale keys is decided again on the stored ones: B cannot prepare twice.
    await a.activate(new Date());
    await expect(b.prepare(new Date())).rejects.toMatchObject({
      code: 'ERR_JWT_ROTATION_REFUSED',
      message: expect.stringContaining('retire it first'),
    });
    expect(b.status().keys.map((k) => [k.role, k.kid])).toEqual([
      ['current', keys[0]!.kid],
      ['previous', keys[1]!.kid],
    ]);
  });

  it('refuses to activate with nothing prepared', async () => {
    const jwt = await load();
    await expect(jwt.activate(new Date())).rejects.toMatchObject({
      code: 'ERR_JWT_ROTATION_REFUSED',
      message: 'no key is prepared: prepare one first',
    });
  });
});
