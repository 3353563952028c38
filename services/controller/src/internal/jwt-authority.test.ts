import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
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
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sigil-jwt-authority-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prepares, activates and retires, publishing both keys in between, across restarts', async () => {
    const t0 = new Date('2026-12-02T12:00:00Z');
    const jwt = await loadOrCreateJwtAuthority(dir);
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
    expect(kids((await loadOrCreateJwtAuthority(dir)).jwks())).toEqual([first, next]);

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

    const restarted = await loadOrCreateJwtAuthority(dir);
    expect(restarted.status().keys.map((k) => [k.role, k.kid])).toEqual([
      ['current', next],
      ['previous', first],
    ]);
    await expect(
      restarted.retire({ now: new Date(), maxJwtTtlSeconds: 3600 }),
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
    expect(kids((await loadOrCreateJwtAuthority(dir)).jwks())).toEqual([next]);
  });

  it('completes an activation a crash interrupted: a prepared or previous file equal to the signing key is dropped', async () => {
    const jwt = await loadOrCreateJwtAuthority(dir);
    await jwt.prepare(new Date());
    const nextPem = readFileSync(join(dir, JWT_AUTHORITY_NEXT_KEY_FILE), 'utf8');
    const currentPem = readFileSync(join(dir, JWT_AUTHORITY_KEY_FILE), 'utf8');
    // Crashed after writing the signing key, before removing the prepared file.
    writeFileSync(join(dir, JWT_AUTHORITY_PREVIOUS_KEY_FILE), currentPem, { mode: 0o600 });
    writeFileSync(join(dir, JWT_AUTHORITY_KEY_FILE), nextPem, { mode: 0o600 });
    const reloaded = await loadOrCreateJwtAuthority(dir);
    expect(reloaded.status().keys.map((k) => k.role)).toEqual(['current', 'previous']);
    expect(existsSync(join(dir, JWT_AUTHORITY_NEXT_KEY_FILE))).toBe(false);
  });

  it('refuses to activate with nothing prepared', async () => {
    const jwt = await loadOrCreateJwtAuthority(dir);
    await expect(jwt.activate(new Date())).rejects.toMatchObject({
      code: 'ERR_JWT_ROTATION_REFUSED',
      message: 'no key is prepared: prepare one first',
    });
  });
});
