import { MIGRATIONS } from '../../src/store/migrations';
import type { ControllerStore, NewAuditRecord, TokenRedemption } from '../../src/store/store';

/** A fresh, empty store for one test; `reopen` closes it and opens the same data again. */
export interface StoreFixture {
  store: ControllerStore;
  reopen(): Promise<ControllerStore>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

function redemption(
  overrides: Partial<TokenRedemption> & Pick<TokenRedemption, 'tokenHash'>,
): TokenRedemption {
  const audit: NewAuditRecord = {
    at: T0,
    action: 'enrollment.succeeded',
    outcome: 'success',
    actor: 'token:abc',
    subject: 'spiffe://td/connector/c1',
    details: {},
  };
  return {
    kind: 'connector',
    agentId: 'c1',
    now: T0 + MINUTE,
    publicKeySha256: 'key-a',
    certificateSerial: 'serial-a',
    certificateChainPem: 'CHAIN-A',
    certificateNotAfter: T0 + 60 * MINUTE,
    privateIp: '10.0.0.5',
    version: '1.2.3',
    audit,
    ...overrides,
  };
}

/**
 * The behaviour every ControllerStore must have, run against SQLite and PostgreSQL alike.
 * `factory` gives each test a fresh store, not yet migrated.
 */
export function describeStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`ControllerStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ControllerStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      await store.migrate();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const createToken = (
      tokenHash: string,
      extra: Partial<Parameters<ControllerStore['createToken']>[0]> = {},
    ) =>
      store.createToken({
        tokenHash,
        kind: 'connector',
        agentId: 'c1',
        createdAt: T0,
        expiresAt: T0 + 15 * MINUTE,
        ...extra,
      });

    it('applies every numbered migration once, and a second migrate applies none', async () => {
      const fresh = await factory();
      try {
        expect(await fresh.store.schemaVersion()).toBe(0);
        expect(await fresh.store.migrate()).toEqual(MIGRATIONS.map((m) => m.version));
        expect(await fresh.store.migrate()).toEqual([]);
        expect(await fresh.store.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
      } finally {
        await fresh.cleanup();
      }
    });

    it('stores and overwrites settings', async () => {
      expect(await store.getSetting('k')).toBeUndefined();
      await store.setSetting('k', 'v1');
      await store.setSetting('k', 'v2');
      expect(await store.getSetting('k')).toBe('v2');
    });

    it('redeems a token once, registering the connector and writing the audit record in the same transaction', async () => {
      await createToken('h1');
      const result = await store.redeemToken(redemption({ tokenHash: 'h1' }));
      expect(result.outcome).toBe('redeemed');
      const token = await store.findToken('h1');
      expect(token).toMatchObject({
        kind: 'connector',
        agentId: 'c1',
        usedAt: T0 + MINUTE,
        publicKeySha256: 'key-a',
        certificateSerial: 'serial-a',
        certificateChainPem: 'CHAIN-A',
      });
      expect(await store.listConnectors()).toEqual([
        {
          id: 'c1',
          privateIp: '10.0.0.5',
          version: '1.2.3',
          lastSeen: T0 + MINUTE,
          enrolledAt: T0 + MINUTE,
        },
      ]);
      const audit = await store.listAudit({ limit: 10 });
      expect(audit.map((a) => a.action)).toEqual(['enrollment.succeeded']);
    });

    it('refuses a second redemption by another key, and answers a retry by the same key with the stored certificate', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      expect(
        await store.redeemToken(
          redemption({
            tokenHash: 'h1',
            publicKeySha256: 'key-b',
            certificateSerial: 'serial-b',
            certificateChainPem: 'CHAIN-B',
          }),
        ),
      ).toEqual({
        outcome: 'refused',
        reason: 'token_used',
      });
      const retry = await store.redeemToken(
        redemption({
          tokenHash: 'h1',
          certificateSerial: 'serial-retry',
          certificateChainPem: 'CHAIN-RETRY',
        }),
      );
      expect(retry.outcome).toBe('retried');
      expect(retry.outcome === 'retried' && retry.token.certificateChainPem).toBe('CHAIN-A');
      expect(retry.outcome === 'retried' && retry.token.certificateSerial).toBe('serial-a');
      // Neither attempt wrote an audit record or changed the token.
      expect((await store.listAudit({ limit: 10 })).length).toBe(1);
      expect((await store.findToken('h1'))!.certificateSerial).toBe('serial-a');
    });

    it('does not answer a same-key retry once the stored certificate has expired', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      expect(
        await store.redeemToken(redemption({ tokenHash: 'h1', now: T0 + 61 * MINUTE })),
      ).toEqual({ outcome: 'refused', reason: 'token_used' });
    });

    it('refuses expired, unknown and mismatched tokens, and a mismatch leaves the token redeemable', async () => {
      await createToken('h1');
      expect(
        await store.redeemToken(redemption({ tokenHash: 'h1', now: T0 + 15 * MINUTE })),
      ).toEqual({ outcome: 'refused', reason: 'token_expired' });
      expect(await store.redeemToken(redemption({ tokenHash: 'nope' }))).toEqual({
        outcome: 'refused',
        reason: 'token_unknown',
      });
      expect(await store.redeemToken(redemption({ tokenHash: 'h1', agentId: 'c2' }))).toEqual({
        outcome: 'refused',
        reason: 'token_mismatch',
      });
      expect(await store.redeemToken(redemption({ tokenHash: 'h1', kind: 'tunneler' }))).toEqual({
        outcome: 'refused',
        reason: 'token_mismatch',
      });
      expect((await store.redeemToken(redemption({ tokenHash: 'h1' }))).outcome).toBe('redeemed');
      expect(await store.listConnectors()).toHaveLength(1);
    });

    it('lets exactly one of many concurrent redemptions with different keys win', async () => {
      await createToken('h1');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.redeemToken(
            redemption({
              tokenHash: 'h1',
              publicKeySha256: `key-${i}`,
              certificateSerial: `serial-${i}`,
            }),
          ),
        ),
      );
      expect(results.filter((r) => r.outcome === 'redeemed')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'refused')).toHaveLength(7);
      expect((await store.listAudit({ limit: 100 })).length).toBe(1);
    });

    it('registers a tunneler under the connector its token names', async () => {
      await createToken('c-token');
      await store.redeemToken(redemption({ tokenHash: 'c-token' }));
      await createToken('t-token', { kind: 'tunneler', agentId: 't1', connectorId: 'c1' });
      expect(
        (
          await store.redeemToken(
            redemption({ tokenHash: 't-token', kind: 'tunneler', agentId: 't1' }),
          )
        ).outcome,
      ).toBe('redeemed');
      expect(await store.listTunnelers()).toEqual([
        {
          id: 't1',
          connectorId: 'c1',
          version: '1.2.3',
          lastSeen: T0 + MINUTE,
          enrolledAt: T0 + MINUTE,
        },
      ]);
    });

    it('knows a connector that is enrolled or has an unexpired token', async () => {
      expect(await store.isConnectorKnown('c1', T0)).toBe(false);
      await createToken('h1');
      expect(await store.isConnectorKnown('c1', T0)).toBe(true);
      expect(await store.isConnectorKnown('c1', T0 + 15 * MINUTE)).toBe(false);
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      expect(await store.isConnectorKnown('c1', T0 + 99 * MINUTE)).toBe(true);
      expect(await store.isConnectorKnown('c2', T0)).toBe(false);
    });

    it('records heartbeat activity in a batch and never moves last_seen backwards', async () => {
      await createToken('c-token');
      await store.redeemToken(redemption({ tokenHash: 'c-token' }));
      await createToken('t-token', { kind: 'tunneler', agentId: 't1', connectorId: 'c1' });
      await store.redeemToken(
        redemption({ tokenHash: 't-token', kind: 'tunneler', agentId: 't1' }),
      );
      await store.recordActivity({
        connectors: [
          { id: 'c1', lastSeen: T0 + 5 * MINUTE, version: '2.0.0', privateIp: '10.0.0.9' },
        ],
        tunnelers: [{ id: 't1', lastSeen: T0 + 6 * MINUTE, version: '2.0.1' }],
      });
      await store.recordActivity({
        connectors: [
          { id: 'c1', lastSeen: T0 + 2 * MINUTE, version: '2.0.0', privateIp: '10.0.0.9' },
        ],
        tunnelers: [],
      });
      expect(await store.listConnectors()).toEqual([
        expect.objectContaining({
          id: 'c1',
          lastSeen: T0 + 5 * MINUTE,
          version: '2.0.0',
          privateIp: '10.0.0.9',
        }),
      ]);
      expect(await store.listTunnelers()).toEqual([
        expect.objectContaining({ id: 't1', lastSeen: T0 + 6 * MINUTE, version: '2.0.1' }),
      ]);
    });

    it('lists audit records newest first, with limit, paging and an action filter', async () => {
      for (let i = 0; i < 5; i += 1) {
        await store.appendAudit({
          at: T0 + i,
          action: i % 2 === 0 ? 'a.even' : 'a.odd',
          outcome: 'success',
          actor: 'admin',
          subject: `s${i}`,
          details: { i, nested: { ok: true } },
        });
      }
      const all = await store.listAudit({ limit: 10 });
      expect(all.map((r) => r.subject)).toEqual(['s4', 's3', 's2', 's1', 's0']);
      expect(all[0]!.details).toEqual({ i: 4, nested: { ok: true } });
      expect(all[0]!.at).toBe(T0 + 4);
      expect((await store.listAudit({ limit: 2 })).map((r) => r.subject)).toEqual(['s4', 's3']);
      expect(
        (await store.listAudit({ limit: 10, beforeId: all[1]!.id })).map((r) => r.subject),
      ).toEqual(['s2', 's1', 's0']);
      expect((await store.listAudit({ limit: 10, action: 'a.odd' })).map((r) => r.subject)).toEqual(
        ['s3', 's1'],
      );
    });

    it('prunes audit records older than a cut-off and says how many', async () => {
      for (const at of [T0, T0 + 1, T0 + 2])
        await store.appendAudit({
          at,
          action: 'a.prune',
          outcome: 'success',
          actor: 'admin',
          subject: String(at),
          details: {},
        });
      expect(await store.pruneAudit(T0 + 2)).toBe(2);
      expect((await store.listAudit({ limit: 10 })).map((r) => r.at)).toEqual([T0 + 2]);
      expect(await store.pruneAudit(T0)).toBe(0);
    });

    it('replaces a lineage and appends its audit record in one transaction: both or neither', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      const lineage = (await store.getLineage('connector', 'c1'))!;
      const record = {
        at: T0 + 2 * MINUTE,
        action: 'renewal.succeeded',
        outcome: 'success' as const,
        actor: 'spiffe://example.org/connector/c1',
        subject: 'spiffe://example.org/connector/c1',
        details: { serial: 'serial-b' },
      };
      const renewed = (serial: string) => ({
        ...lineage,
        currentSerial: serial,
        previousSerial: lineage.currentSerial,
      });
      const renewals = async () =>
        (await store.listAudit({ limit: 100, action: 'renewal.succeeded' })).map(
          (r) => r.details.serial,
        );
      expect(await store.replaceLineage(renewed('serial-b'), 'serial-a', record)).toBe(true);
      expect(await renewals()).toEqual(['serial-b']);
      // A lost compare-and-set writes no record.
      expect(await store.replaceLineage(renewed('serial-c'), 'serial-a', record)).toBe(false);
      // A record that cannot be written (here a NOT NULL column) undoes the lineage change.
      await expect(
        store.replaceLineage(renewed('serial-d'), 'serial-b', {
          ...record,
          action: null as unknown as string,
        }),
      ).rejects.toThrow();
      expect((await store.getLineage('connector', 'c1'))!.currentSerial).toBe('serial-b');
      expect(await renewals()).toEqual(['serial-b']);
    });

    it('creates and cancels a token together with its audit record: both or neither', async () => {
      const record = (action: string) => ({
        at: T0,
        action,
        outcome: 'success' as const,
        actor: 'admin',
        subject: 'spiffe://example.org/connector/c1',
        details: {},
      });
      const token = (hash: string) => ({
        tokenHash: hash,
        kind: 'connector' as const,
        agentId: 'c1',
        connectorId: null,
        createdAt: T0,
        expiresAt: T0 + 60 * MINUTE,
      });
      const actions = async () => (await store.listAudit({ limit: 100 })).map((r) => r.action);
      const pending = async () => (await store.listPendingTokens(T0)).map((t) => t.tokenHash);
      await store.createToken(token('aa11'), record('admin.token_created'));
      expect(await pending()).toEqual(['aa11']);
      expect(await actions()).toEqual(['admin.token_created']);
      // A record that cannot be written (a NOT NULL column) leaves no token behind.
      await expect(
        store.createToken(token('bb22'), { ...record('x'), action: null as unknown as string }),
      ).rejects.toThrow();
      expect(await pending()).toEqual(['aa11']);

      await expect(
        store.cancelToken('aa11', () => ({ ...record('x'), action: null as unknown as string })),
      ).rejects.toThrow();
      expect(await pending()).toEqual(['aa11']);
      const cancelled = await store.cancelToken('aa11', (t) => ({
        ...record('admin.token_cancelled'),
        details: { agent: t.agentId },
      }));
      expect(cancelled?.agentId).toBe('c1');
      expect(await pending()).toEqual([]);
      expect(await actions()).toEqual(['admin.token_cancelled', 'admin.token_created']);
      expect(await store.cancelToken('aa11', () => record('never'))).toBeUndefined();
      expect(await actions()).not.toContain('never');
    });

    it('starts a lineage at enrollment, replaces it only by compare-and-set, and marks the latest presented', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      const lineage = await store.getLineage('connector', 'c1');
      expect(lineage).toEqual({
        kind: 'connector',
        agentId: 'c1',
        currentSerial: 'serial-a',
        currentNotAfter: T0 + 60 * MINUTE,
        currentPresented: false,
        previousSerial: null,
        previousUntil: null,
        updatedAt: T0 + MINUTE,
      });
      const next = {
        ...lineage!,
        currentSerial: 'serial-b',
        previousSerial: 'serial-a',
        previousUntil: T0 + 2 * MINUTE,
      };
      expect(await store.replaceLineage(next, 'serial-a')).toBe(true);
      expect(await store.replaceLineage({ ...next, currentSerial: 'serial-c' }, 'serial-a')).toBe(
        false,
      );
      await store.markPresented('connector', 'c1', 'serial-a');
      expect((await store.getLineage('connector', 'c1'))!.currentPresented).toBe(false);
      await store.markPresented('connector', 'c1', 'serial-b');
      expect(await store.getLineage('connector', 'c1')).toMatchObject({
        currentSerial: 'serial-b',
        currentPresented: true,
        previousSerial: 'serial-a',
      });
      expect(
        await store.replaceLineage({ ...next, agentId: 'c9', currentSerial: 'x' }, undefined),
      ).toBe(true);
      expect(
        await store.replaceLineage({ ...next, agentId: 'c9', currentSerial: 'y' }, undefined),
      ).toBe(false);
      // Re-enrollment supersedes the whole lineage.
      await createToken('h2');
      await store.redeemToken(
        redemption({ tokenHash: 'h2', publicKeySha256: 'key-z', certificateSerial: 'serial-z' }),
      );
      expect(await store.getLineage('connector', 'c1')).toMatchObject({
        currentSerial: 'serial-z',
        previousSerial: null,
      });
    });

    it('records the generation of issued certificates, and prunes records expired two days before a later one at most once a minute', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      const generationOfLive = async (): Promise<number | undefined> =>
        (await store.listLiveCertificates(T0 + 2 * MINUTE)).find((c) => c.agentId === 'c1')
          ?.generation;
      const record = (serial: string, notAfter: number) =>
        store.recordIssuedCertificate({
          serial,
          kind: 'connector',
          agentId: 'c1',
          generation: 2,
          notAfter,
        });
      const wallClock = jest.spyOn(Date, 'now');
      try {
        const start = Date.UTC(2031, 0, 1);
        wallClock.mockReturnValue(start);
        // The live certificate's record, already expired three days before the later ones.
        await record('serial-a', T0 - 3 * 24 * 60 * MINUTE);
        expect(await generationOfLive()).toBe(2);
        wallClock.mockReturnValue(start + 30_000);
        await record('serial-b', T0 + 60 * MINUTE);
        expect(await generationOfLive()).toBe(2);
        wallClock.mockReturnValue(start + 61_000);
        await record('serial-c', T0 + 60 * MINUTE);
        // Its record is gone: a certificate signed before records were kept counts as generation 1.
        expect(await generationOfLive()).toBe(1);
      } finally {
        wallClock.mockRestore();
      }
    });

    it("writes a renewal's generation record in the lineage's transaction: both or neither", async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      const lineage = (await store.getLineage('connector', 'c1'))!;
      const renewed = (serial: string) => ({ ...lineage, currentSerial: serial });
      const issued = (serial: string, generation: number) => ({
        serial,
        kind: 'connector' as const,
        agentId: 'c1',
        generation,
        notAfter: T0 + 60 * MINUTE,
      });
      const live = async () =>
        (await store.listLiveCertificates(T0 + 2 * MINUTE)).find((c) => c.agentId === 'c1');
      expect(
        await store.replaceLineage(
          renewed('serial-b'),
          'serial-a',
          undefined,
          issued('serial-b', 3),
        ),
      ).toBe(true);
      expect(await live()).toMatchObject({ serial: 'serial-b', generation: 3 });
      // A lost compare-and-set records nothing: serial-c, made current later without a record,
      // counts as generation 1.
      expect(
        await store.replaceLineage(
          renewed('serial-c'),
          'serial-a',
          undefined,
          issued('serial-c', 4),
        ),
      ).toBe(false);
      expect(await store.replaceLineage(renewed('serial-c'), 'serial-b')).toBe(true);
      expect(await live()).toMatchObject({ serial: 'serial-c', generation: 1 });
      // A record that cannot be written (a kind the CHECK refuses) undoes the lineage change.
      await expect(
        store.replaceLineage(renewed('serial-d'), 'serial-c', undefined, {
          ...issued('serial-d', 5),
          kind: 'bogus' as 'connector',
        }),
      ).rejects.toThrow();
      expect((await store.getLineage('connector', 'c1'))!.currentSerial).toBe('serial-c');
    });

    it('stores revocations with their audit record, keeps them across reopen, and a new enrollment lifts them', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      const audit: NewAuditRecord = {
        at: T0 + 2 * MINUTE,
        action: 'admin.agent_revoked',
        outcome: 'success',
        actor: 'admin',
        subject: 'spiffe://td/connector/c1',
        details: {},
      };
      const revocation = await store.revokeAgent({
        kind: 'connector',
        agentId: 'c1',
        reason: 'stolen',
        revokedAt: T0 + 2 * MINUTE,
        actor: 'admin',
        audit,
      });
      expect(revocation).toMatchObject({ kind: 'connector', agentId: 'c1', liftedAt: null });
      store = await fixture.reopen();
      expect(await store.activeRevocations()).toEqual([revocation]);
      expect((await store.listAudit({ limit: 10, action: 'admin.agent_revoked' })).length).toBe(1);
      await createToken('h2');
      await store.redeemToken(
        redemption({ tokenHash: 'h2', publicKeySha256: 'key-z', now: T0 + 3 * MINUTE }),
      );
      expect(await store.activeRevocations()).toEqual([]);
      expect(await store.listRevocations(10)).toEqual([
        { ...revocation, liftedAt: T0 + 3 * MINUTE },
      ]);
    });

    it('lists pending tokens and cancels one by its fingerprint, never a used one', async () => {
      const hash = (c: string) => c.repeat(64);
      await createToken(hash('a'));
      await createToken(hash('b'), { expiresAt: T0 + 5 * MINUTE });
      await createToken(hash('c'), { expiresAt: T0 + MINUTE });
      await createToken(hash('d'));
      await store.redeemToken(redemption({ tokenHash: hash('d') }));
      expect((await store.listPendingTokens(T0 + 2 * MINUTE)).map((t) => t.tokenHash[0])).toEqual([
        'b',
        'a',
      ]);
      expect((await store.cancelToken('aaaaaaaaaaaa'))!.tokenHash).toBe(hash('a'));
      expect(await store.cancelToken('aaaaaaaaaaaa')).toBeUndefined();
      expect(await store.cancelToken('dddddddddddd')).toBeUndefined();
      expect(await store.findToken(hash('a'))).toBeUndefined();
      expect((await store.findToken(hash('d')))!.usedAt).not.toBeNull();
    });

    it('keeps everything across close and reopen', async () => {
      await createToken('h1');
      await store.redeemToken(redemption({ tokenHash: 'h1' }));
      await createToken('h2');
      await store.setSetting('k', 'v');
      store = await fixture.reopen();
      expect(await store.migrate()).toEqual([]);
      expect((await store.findToken('h1'))!.usedAt).toBe(T0 + MINUTE);
      expect((await store.findToken('h2'))!.usedAt).toBeNull();
      expect(await store.getSetting('k')).toBe('v');
      expect(await store.listConnectors()).toHaveLength(1);
      expect(await store.listAudit({ limit: 10 })).toHaveLength(1);
    });

    it('stores, lists and deletes registration entries, refusing an equal duplicate (schema 5)', async () => {
      const entry = {
        id: 'entry-1',
        spiffeId: 'spiffe://example.org/billing',
        parentId: 'spiffe://example.org/connector/c1',
        selectors: ['unix:gid:1000', 'unix:uid:1000'],
        x509TtlSeconds: 3600,
        jwtTtlSeconds: 300,
        createdAt: T0,
      };
      expect(await store.createEntry(entry)).toBe(true);
      expect(await store.createEntry({ ...entry, id: 'entry-2' })).toBe(false);
      expect(
        await store.createEntry({ ...entry, id: 'entry-3', selectors: ['unix:uid:1000'] }),
      ).toBe(true);
      expect((await store.listEntries()).map((e) => e.id)).toEqual(['entry-1', 'entry-3']);
      store = await fixture.reopen();
      expect(await store.listEntries()).toContainEqual(entry);
      expect(await store.deleteEntry('entry-1')).toEqual(entry);
      expect(await store.deleteEntry('entry-1')).toBeUndefined();
      expect((await store.listEntries()).map((e) => e.id)).toEqual(['entry-3']);
    });

    it('stores admin users, sessions by hash with idle and absolute expiry, and API tokens (schema 6)', async () => {
      const a = store.adminAuth;
      const user = {
        name: 'alice',
        role: 'viewer' as const,
        passwordHash: 'scrypt$h1',
        createdAt: T0,
        updatedAt: T0,
      };
      expect(await a.createUser(user)).toBe(true);
      expect(await a.createUser({ ...user, role: 'admin' })).toBe(false);
      expect(await a.getUser('alice')).toEqual(user);
      expect(await a.countUsers()).toBe(1);
      const session = {
        idHash: 'sess-hash',
        userName: 'alice',
        csrfToken: 'csrf',
        createdAt: T0,
        lastSeenAt: T0,
        idleExpiresAt: T0 + 30 * MINUTE,
        expiresAt: T0 + 60 * MINUTE,
        address: '127.0.0.1',
        userAgent: 'jest',
      };
      await a.createSession(session);
      const touched = await a.touchSession('sess-hash', T0 + 20 * MINUTE, T0 + 50 * MINUTE);
      expect(touched).toMatchObject({
        lastSeenAt: T0 + 20 * MINUTE,
        idleExpiresAt: T0 + 50 * MINUTE,
      });
      // Idle expiry: unused for longer than the idle window.
      expect(await a.touchSession('sess-hash', T0 + 51 * MINUTE, T0 + 81 * MINUTE)).toBeUndefined();
      // Absolute expiry: even if kept busy.
      await a.createSession({ ...session, idHash: 'busy', idleExpiresAt: T0 + 90 * MINUTE });
      expect(await a.touchSession('busy', T0 + 61 * MINUTE, T0 + 91 * MINUTE)).toBeUndefined();
      expect(await a.deleteExpiredSessions(T0 + 61 * MINUTE)).toBe(2);
      // A password change ends every session of the user.
      await a.createSession({ ...session, idHash: 's2' });
      expect(await a.setPassword('alice', 'scrypt$h2', T0 + MINUTE)).toBe(true);
      expect(await a.touchSession('s2', T0 + 2 * MINUTE, T0 + 3 * MINUTE)).toBeUndefined();
      expect((await a.getUser('alice'))?.passwordHash).toBe('scrypt$h2');
      // Sign-out deletes the one session.
      await a.createSession({ ...session, idHash: 's3' });
      expect((await a.deleteSession('s3'))?.userName).toBe('alice');
      expect(await a.touchSession('s3', T0 + MINUTE, T0 + 2 * MINUTE)).toBeUndefined();

      const token = {
        id: 't1',
        tokenHash: 'tok-hash',
        userName: 'alice',
        name: 'ci',
        createdAt: T0,
        expiresAt: T0 + 10 * MINUTE,
        revokedAt: null,
        lastUsedAt: null,
      };
      await a.createApiToken(token);
      expect((await a.useApiToken('tok-hash', T0 + MINUTE))?.lastUsedAt).toBe(T0 + MINUTE);
      expect(await a.useApiToken('tok-hash', T0 + 11 * MINUTE)).toBeUndefined();
      expect(await a.revokeApiToken('t1', T0 + 2 * MINUTE, 'bob')).toBeUndefined();
      expect((await a.revokeApiToken('t1', T0 + 2 * MINUTE, 'alice'))?.revokedAt).toBe(
        T0 + 2 * MINUTE,
      );
      expect(await a.useApiToken('tok-hash', T0 + 3 * MINUTE)).toBeUndefined();
      expect((await a.listApiTokens('alice')).map((t) => t.id)).toEqual(['t1']);
      expect(await a.listApiTokens('bob')).toEqual([]);

      // Removing the user removes its sessions and tokens.
      await a.createSession({ ...session, idHash: 's4' });
      expect(await a.deleteUser('alice')).toBe(true);
      expect(await a.deleteUser('alice')).toBe(false);
      expect(await a.touchSession('s4', T0 + MINUTE, T0 + 2 * MINUTE)).toBeUndefined();
      expect(await a.findApiToken('tok-hash')).toBeUndefined();
      expect(await a.listUsers()).toEqual([]);
    });

    it('keeps the JWT authority document by compare-and-set (schema 7)', async () => {
      expect(await store.getJwtAuthorityState()).toBeUndefined();
      expect(
        await store.replaceJwtAuthorityState({ revision: 1, document: 'one' }, undefined),
      ).toBe(true);
      // A second first write loses, as does a write against a stale revision.
      expect(
        await store.replaceJwtAuthorityState({ revision: 1, document: 'other' }, undefined),
      ).toBe(false);
      expect(await store.replaceJwtAuthorityState({ revision: 2, document: 'two' }, 1)).toBe(true);
      expect(await store.replaceJwtAuthorityState({ revision: 2, document: 'stale' }, 1)).toBe(
        false,
      );
      const reopened = await fixture.reopen();
      store = reopened;
      expect(await reopened.getJwtAuthorityState()).toEqual({ revision: 2, document: 'two' });
    });

    it('queues agent commands that exactly one replica claims, or the queuing one withdraws (schema 7)', async () => {
      const command = (id: string, createdAt = T0) => ({
        id,
        kind: 'connector' as const,
        agentId: 'c1',
        command: 'renew_now',
        createdAt,
        expiresAt: createdAt + MINUTE,
      });
      await store.queueAgentCommand(command('cmd-1'));
      await store.queueAgentCommand(command('cmd-2', T0 + 1));
      expect((await store.openAgentCommands(T0 + 2)).map((c) => c.id)).toEqual(['cmd-1', 'cmd-2']);
      expect(await store.openAgentCommands(T0 + MINUTE + 1)).toEqual([]);
      expect(await store.claimAgentCommand('cmd-1', 'replica-a', T0 + 2)).toBe(true);
      expect(await store.claimAgentCommand('cmd-1', 'replica-b', T0 + 3)).toBe(false);
      expect(await store.withdrawAgentCommand('cmd-1', T0 + 4)).toBe(false);
      expect(await store.getAgentCommand('cmd-1')).toMatchObject({
        claimedAt: T0 + 2,
        claimedBy: 'replica-a',
        withdrawnAt: null,
        agentId: 'c1',
        kind: 'connector',
        command: 'renew_now',
      });
      expect(await store.withdrawAgentCommand('cmd-2', T0 + 4)).toBe(true);
      expect(await store.claimAgentCommand('cmd-2', 'replica-a', T0 + 5)).toBe(false);
      expect(await store.openAgentCommands(T0 + 6)).toEqual([]);
      // Expired commands are neither claimed nor kept a day past their expiry.
      await store.queueAgentCommand(command('cmd-3', T0 + 2 * MINUTE));
      expect(await store.claimAgentCommand('cmd-3', 'replica-a', T0 + 4 * MINUTE)).toBe(false);
      await store.queueAgentCommand(command('cmd-4', T0 + 2 * 86_400_000));
      expect(await store.getAgentCommand('cmd-1')).toBeUndefined();
      expect(await store.getAgentCommand('cmd-4')).toBeDefined();
      expect(await store.getAgentCommand('missing')).toBeUndefined();
    });
  });
}

/**
 * A password change and a user removal are all-or-nothing: with `refuseDeletes(table)` making
 * every DELETE on that table fail (a trigger), the statements before it are rolled back.
 * `store` is migrated and empty.
 */
export async function expectAdminAuthWritesAtomic(
  store: ControllerStore,
  refuseDeletes: (table: 'admin_users' | 'admin_sessions') => Promise<void>,
): Promise<void> {
  const a = store.adminAuth;
  await a.createUser({
    name: 'alice',
    role: 'viewer',
    passwordHash: 'h1',
    createdAt: T0,
    updatedAt: T0,
  });
  await a.createSession({
    idHash: 's1',
    userName: 'alice',
    csrfToken: 'csrf',
    createdAt: T0,
    lastSeenAt: T0,
    idleExpiresAt: T0 + 30 * MINUTE,
    expiresAt: T0 + 60 * MINUTE,
    address: '127.0.0.1',
    userAgent: 'jest',
  });
  // deleteUser deletes the sessions first: refused at the user, the sessions stay.
  await refuseDeletes('admin_users');
  await expect(a.deleteUser('alice')).rejects.toThrow(/refused by test/);
  expect(await a.touchSession('s1', T0 + MINUTE, T0 + 2 * MINUTE)).toMatchObject({
    userName: 'alice',
  });
  // setPassword updates the hash first: refused at the sessions, the old hash stays.
  await refuseDeletes('admin_sessions');
  await expect(a.setPassword('alice', 'h2', T0 + MINUTE)).rejects.toThrow(/refused by test/);
  expect((await a.getUser('alice'))?.passwordHash).toBe('h1');
}
