import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { servingRenewalDelayMs } from './internal/serving-certificate';
import { parseDurationMs } from '@sigil/settings';
import { agentStatus, AgentRegistry } from './registry';
import { createSqliteStore } from './store/sqlite-store';
import type { ControllerStore } from './store/store';

describe('agentStatus', () => {
  const now = 1_000_000;
  it('is ONLINE strictly within the deadline, OFFLINE at and after it or when never seen', () => {
    expect(agentStatus(now - 29_999, now, 30_000)).toBe('ONLINE');
    expect(agentStatus(now - 30_000, now, 30_000)).toBe('OFFLINE');
    expect(agentStatus(null, now, 30_000)).toBe('OFFLINE');
  });
});

describe('servingRenewalDelayMs', () => {
  it('renews at two thirds of the lifetime, never sooner than a second', () => {
    const notBefore = new Date(0);
    const notAfter = new Date(90_000);
    expect(servingRenewalDelayMs({ notBefore, notAfter }, new Date(0))).toBe(60_000);
    expect(servingRenewalDelayMs({ notBefore, notAfter }, new Date(59_500))).toBe(1000);
    expect(
      servingRenewalDelayMs({ notBefore, notAfter: new Date(365 * 86_400_000) }, new Date(0)),
    ).toBe(2 ** 31 - 1);
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
  ])('parses %s', (text, ms) => expect(parseDurationMs(text, 'X')).toBe(ms));
  it.each(['', '10', 'h', '-5s', '0s', '5 minutes'])('refuses %j naming the variable', (text) => {
    expect(() => parseDurationMs(text, 'TOKEN_TTL')).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(/^TOKEN_TTL=/),
      }),
    );
  });
});

describe('AgentRegistry', () => {
  let dir: string;
  let store: ControllerStore;
  let now = 1_000_000;
  const clock = (): Date => new Date(now);
  const logger = pino({ level: 'silent' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-registry-'));
    store = await createSqliteStore({ path: join(dir, 'controller.db') });
    await store.migrate();
    for (const [hash, kind, id, connectorId] of [
      ['h1', 'connector', 'c1', null],
      ['h2', 'tunneler', 't1', 'c1'],
    ] as const) {
      await store.createToken({
        tokenHash: hash,
        kind,
        agentId: id,
        connectorId,
        createdAt: 0,
        expiresAt: 10_000_000,
      });
      await store.redeemToken({
        tokenHash: hash,
        kind,
        agentId: id,
        now: 500_000,
        publicKeySha256: hash,
        certificateSerial: hash,
        certificateChainPem: '',
        certificateNotAfter: 9_000_000,
        privateIp: '',
        version: '1',
        audit: {
          at: 0,
          action: 'enrollment.succeeded',
          outcome: 'success',
          actor: '',
          subject: '',
          details: {},
        },
      });
    }
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads from the store, applies heartbeats in memory and flushes them in one batch', async () => {
    const registry = new AgentRegistry(store, clock, 30_000, logger);
    await registry.load();
    expect(registry.listConnectors()).toEqual([
      {
        id: 'c1',
        privateIp: '',
        version: '1',
        lastSeen: 500_000,
        status: 'OFFLINE',
        connected: false,
        clockSkewMs: null,
        upgradeRequired: false,
      },
    ]);
    registry.connectorSeen('c1', { version: '2', privateIp: '10.0.0.1' });
    expect(registry.tunnelerSeen('t1', 'c1', { version: '3' })).toBe(true);
    expect(registry.tunnelerSeen('t1', 'c-other', { version: '4' })).toBe(false);
    expect(registry.tunnelerSeen('t-unknown', 'c1', {})).toBe(false);
    expect(registry.counts()).toEqual({
      connector: { online: 1, offline: 0 },
      tunneler: { online: 1, offline: 0 },
    });
    expect((await store.listConnectors())[0]!.lastSeen).toBe(500_000);
    await registry.flush();
    expect((await store.listConnectors())[0]).toMatchObject({
      lastSeen: now,
      version: '2',
      privateIp: '10.0.0.1',
    });
    expect((await store.listTunnelers())[0]).toMatchObject({ lastSeen: now, version: '3' });
    expect(registry.approvedTunnelers('c1')).toEqual(['t1']);
    expect(registry.approvedTunnelers('c-other')).toEqual([]);
  });

  it('counts what the views report, and a view taken before a heartbeat keeps its values', async () => {
    const revoked = new Set(['connector/c-revoked']);
    const registry = new AgentRegistry(store, clock, 30_000, logger, (kind, id) =>
      revoked.has(`${kind}/${id}`),
    );
    await registry.load();
    for (const id of ['c-online', 'c-stopped', 'c-revoked'])
      registry.enrolled('connector', {
        id,
        connectorId: null,
        privateIp: '',
        version: '1',
        at: now,
      });
    registry.connectorSeen('c-stopped', {});
    registry.connectorStopped('c-stopped');
    registry.tunnelerSeen('t1', 'c1', {});
    const before = registry.listConnectors();
    now += 1000;
    registry.connectorSeen('c-online', { version: '2', privateIp: '10.0.0.2' });
    // c1 was last seen at enrollment (500 s before now): OFFLINE; c-revoked is in neither count.
    expect(registry.counts()).toEqual({
      connector: { online: 1, offline: 2 },
      tunneler: { online: 1, offline: 0 },
    });
    const tally = (status: string) =>
      registry.listConnectors().filter((c) => c.status === status).length;
    expect([tally('ONLINE'), tally('OFFLINE'), tally('REVOKED')]).toEqual([1, 2, 1]);
    expect(before.find((c) => c.id === 'c-online')).toMatchObject({ version: '1', privateIp: '' });
    expect(registry.listConnectors().find((c) => c.id === 'c-online')).toMatchObject({
      version: '2',
      privateIp: '10.0.0.2',
      lastSeen: now,
    });
  });

  it('keeps entries dirty and retries them on the next flush when a flush fails', async () => {
    // The real store, with one injected failure (a full disk, a lost database connection).
    let failures = 1;
    const flaky: ControllerStore = {
      ...store,
      recordActivity: (batch) =>
        failures-- > 0 ? Promise.reject(new Error('disk full')) : store.recordActivity(batch),
    };
    const registry = new AgentRegistry(flaky, clock, 30_000, logger);
    await registry.load();
    now += 1000;
    registry.connectorSeen('c1', { version: '5' });
    await registry.flush();
    expect((await store.listConnectors())[0]!.version).toBe('1');
    await registry.flush();
    expect((await store.listConnectors())[0]).toMatchObject({ version: '5', lastSeen: now });
  });
});
