import { controlplaneV1 } from '@sigil/proto';
import { createMemoryLogger } from '@sigil/testing';
import { Registry } from 'prom-client';
import { createUpgradeNotice } from './upgrade-notice';

const notice = (overrides: Partial<controlplaneV1.UpgradeRequired> = {}) => ({
  minimumVersion: '1.4.0',
  kind: controlplaneV1.AgentKind.AGENT_KIND_TUNNELER,
  deadline: Date.UTC(2030, 0, 8),
  agentId: 'laptop-1',
  currentVersion: '1.3.0',
  ...overrides,
});

describe('createUpgradeNotice', () => {
  const setUp = () => {
    const logs = createMemoryLogger();
    const registry = new Registry();
    const upgrade = createUpgradeNotice({
      kind: 'tunneler',
      version: '1.3.0',
      logger: logs.logger,
      registry,
    });
    const gauge = async () =>
      (await registry.getSingleMetric('sigil_agent_upgrade_required')!.get()).values;
    return { logs, upgrade, gauge };
  };

  it('warns once per minimum and deadline, naming them, and sets the gauge', async () => {
    const { logs, upgrade, gauge } = setUp();
    upgrade.apply(notice());
    upgrade.apply(notice());
    expect(upgrade.minimumVersion).toBe('1.4.0');
    const warned = logs.records.filter((r) => r.event === 'agent.upgrade_required');
    expect(warned).toEqual([
      expect.objectContaining({
        level: 40,
        minimumVersion: '1.4.0',
        version: '1.3.0',
        deadline: '2030-01-08T00:00:00.000Z',
        message:
          'this tunneler runs 1.3.0, below the minimum version 1.4.0 the controller pins for tunnelers: upgrade it; from 2030-01-08T00:00:00.000Z the controller refuses to renew its certificate',
      }),
    ]);
    expect(await gauge()).toEqual([
      expect.objectContaining({ labels: { minimum_version: '1.4.0' }, value: 1 }),
    ]);

    upgrade.apply(notice({ minimumVersion: '1.5.0', deadline: 0 }));
    expect(logs.records.filter((r) => r.event === 'agent.upgrade_required')).toHaveLength(2);
    expect(logs.records.at(-1)?.deadline).toBeNull();
    expect(await gauge()).toEqual([
      expect.objectContaining({ labels: { minimum_version: '1.5.0' }, value: 1 }),
    ]);
  });

  it('clears on an empty minimum and ignores a notice about another version', async () => {
    const { logs, upgrade, gauge } = setUp();
    upgrade.apply(notice({ currentVersion: '1.2.0' }));
    expect(upgrade.minimumVersion).toBeUndefined();
    expect(logs.records.some((r) => r.event === 'agent.upgrade_required')).toBe(false);

    upgrade.apply(notice());
    upgrade.apply(notice({ minimumVersion: '', deadline: 0 }));
    expect(upgrade.minimumVersion).toBeUndefined();
    expect(logs.records.filter((r) => r.event === 'agent.upgrade_cleared')).toHaveLength(1);
    expect(await gauge()).toEqual([]);
  });
});
