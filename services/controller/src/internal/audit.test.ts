import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '@sigil/testing';
import { createSqliteStore } from '../store/sqlite-store';
import type { ControllerStore } from '../store/store';
import { AUDIT_FIELD_MAX_CHARS, createAuditLog, isUnauthenticatedRefusal } from './audit';

describe('createAuditLog', () => {
  let dir: string;
  let store: ControllerStore;
  let now = Date.UTC(2026, 0, 1);
  const clock = (): Date => new Date(now);
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-audit-'));
    store = await createSqliteStore({ path: join(dir, 'controller.db') });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes authenticated actions at once, with subject, actor and string details cut to 256 characters', async () => {
    const audit = createAuditLog(store, createMemoryLogger().logger, clock);
    const long = 'p'.repeat(15_000);
    const stored = await audit.record({
      action: 'admin.token_created',
      outcome: 'success',
      actor: 'admin',
      subject: long,
      details: { path: long, nested: { path: long }, n: 1 },
    });
    expect(stored!.subject).toBe(`${'p'.repeat(AUDIT_FIELD_MAX_CHARS)}…(15000 chars)`);
    expect(stored!.details).toEqual({
      path: `${'p'.repeat(256)}…(15000 chars)`,
      nested: { path: `${'p'.repeat(256)}…(15000 chars)` },
      n: 1,
    });
    expect(await store.listAudit({ limit: 10 })).toHaveLength(1);
    await audit.close();
  });

  it('recordOrFail rejects when the store cannot take the record (record only logs), and logs nothing then', async () => {
    const logs = createMemoryLogger();
    const closed = await createSqliteStore({ path: join(dir, 'closed.db') });
    await closed.migrate();
    await closed.close();
    const audit = createAuditLog(closed, logs.logger, clock);
    const signed = {
      action: 'workload_svid.signed',
      outcome: 'success' as const,
      actor: 'spiffe://example.org/connector/c1',
      subject: 'spiffe://example.org/workload',
      details: { serial: '01' },
    };
    await expect(audit.record(signed)).resolves.toBeUndefined();
    expect(logs.records.map((r) => r.event)).toContain('audit.store_failed');
    const before = logs.records.length;
    await expect(audit.recordOrFail(signed)).rejects.toThrow();
    expect(logs.records.length).toBe(before);
    const working = createAuditLog(store, logs.logger, clock);
    expect((await working.recordOrFail(signed)).action).toBe('workload_svid.signed');
    expect((await store.listAudit({ limit: 10 })).map((r) => r.action)).toEqual([
      'workload_svid.signed',
    ]);
    await working.close();
  });

  it('counts unauthenticated refusals per action, reason and address prefix into one summary row', async () => {
    const audit = createAuditLog(store, createMemoryLogger().logger, clock, {
      summaryIntervalMs: 3_600_000,
    });
    for (let i = 0; i < 1000; i += 1)
      await audit.record({
        action: 'admin.unauthorized',
        outcome: 'refused',
        actor: `10.1.2.${i % 200}`,
        subject: `GET /api/admin/${'x'.repeat(15_000)}`,
        details: { reason: 'wrong credentials' },
      });
    for (const actor of ['[2001:db8:1:2::7]:5555', 'ipv4:192.0.2.9:443', '::ffff:198.51.100.4'])
      await audit.record({
        action: 'controlplane.refused',
        outcome: 'refused',
        actor,
        subject: '/x',
        details: { reason: 'svid_missing' },
      });
    await audit.record({
      action: 'enrollment.refused',
      outcome: 'refused',
      actor: 'token:abcd',
      subject: 'x',
      details: { reason: 'token_unknown', peer: '203.0.113.5:4000' },
    });
    expect(await store.listAudit({ limit: 10 })).toEqual([]);
    await audit.flush();
    const rows = await store.listAudit({ limit: 10 });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'audit.refusals_summary',
      subject: '1004 unauthenticated refusals',
      details: {
        total: 1004,
        counts: [
          {
            action: 'admin.unauthorized',
            reason: 'wrong credentials',
            address_prefix: '10.1.2.0/24',
            count: 1000,
          },
          {
            action: 'controlplane.refused',
            reason: 'svid_missing',
            address_prefix: '2001:db8:1:2::/64',
            count: 1,
          },
          {
            action: 'controlplane.refused',
            reason: 'svid_missing',
            address_prefix: '192.0.2.0/24',
            count: 1,
          },
          {
            action: 'controlplane.refused',
            reason: 'svid_missing',
            address_prefix: '198.51.100.0/24',
            count: 1,
          },
          {
            action: 'enrollment.refused',
            reason: 'token_unknown',
            address_prefix: '203.0.113.0/24',
            count: 1,
          },
        ],
      },
    });
    await audit.flush(); // nothing counted since: no row
    expect(await store.listAudit({ limit: 10 })).toHaveLength(1);
    await audit.close();
  });

  it('keeps a refusal of a known token, and anything flagged authenticated, as a row of its own', () => {
    const refused = { outcome: 'refused' as const, actor: 'token:ab', subject: 's' };
    expect(
      isUnauthenticatedRefusal({
        ...refused,
        action: 'enrollment.refused',
        details: { reason: 'token_used' },
      }),
    ).toBe(false);
    expect(
      isUnauthenticatedRefusal({
        ...refused,
        action: 'enrollment.refused',
        details: { reason: 'csr_invalid' },
      }),
    ).toBe(true);
    expect(isUnauthenticatedRefusal({ ...refused, action: 'renewal.refused', details: {} })).toBe(
      false,
    );
    expect(
      isUnauthenticatedRefusal({
        ...refused,
        action: 'admin.unauthorized',
        details: {},
        unauthenticated: false,
      }),
    ).toBe(false);
    expect(
      isUnauthenticatedRefusal({
        ...refused,
        action: 'anything',
        details: {},
        unauthenticated: true,
      }),
    ).toBe(true);
  });

  it('prunes records older than the retention', async () => {
    const audit = createAuditLog(store, createMemoryLogger().logger, clock, {
      retentionMs: 86_400_000,
    });
    await audit.record({
      action: 'a.old',
      outcome: 'success',
      actor: 'admin',
      subject: 's',
      details: {},
    });
    now += 2 * 86_400_000;
    await audit.record({
      action: 'a.new',
      outcome: 'success',
      actor: 'admin',
      subject: 's',
      details: {},
    });
    expect(await audit.prune()).toBe(1);
    expect((await store.listAudit({ limit: 10 })).map((r) => r.action)).toEqual(['a.new']);
    await audit.close();
  });
});
