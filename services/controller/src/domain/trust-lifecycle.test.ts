import { isSigilError } from '@sigil/errors';
import {
  activateRotation,
  bundleIntermediatesPemOf,
  bundleRoots,
  decideActivation,
  initialTrustState,
  prepareRotation,
  retireRotation,
} from './trust-lifecycle';
import type { AgentBundleReport, TrustState } from './trust-lifecycle';

const generation = (name: string, rootPem = `ROOT-${name}`) => ({
  certificatePem: rootPem,
  rootPem,
  fingerprint: `fp-${name}`,
  notAfter: 10_000_000,
  createdAt: 1_000,
});

const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (err) {
    if (isSigilError(err, 'ERR_CA_ROTATION_REFUSED')) return err.message;
    throw err;
  }
  throw new Error('not refused');
};

const agent = (agentId: string, bundleVersion: number, online = true): AgentBundleReport => ({
  kind: 'tunneler',
  agentId,
  online,
  bundleVersion,
});

describe('runtime CA rotation decisions', () => {
  const start = initialTrustState(generation('a'));

  it('starts with the DATA_DIR CA as generation 1 at bundle version 1', () => {
    expect(start).toMatchObject({ revision: 1, bundleVersion: 1, next: null, previous: null });
    expect(start.current.id).toBe(1);
    expect(bundleRoots(start)).toEqual(['ROOT-a']);
  });

  it('prepare adds the next root to the bundle and raises its version', () => {
    const prepared = prepareRotation(start, generation('b'));
    expect(prepared.next).toMatchObject({ id: 2, bundleVersion: 2, activatedAt: null });
    expect(prepared.bundleVersion).toBe(2);
    expect(prepared.revision).toBe(2);
    expect(bundleRoots(prepared)).toEqual(['ROOT-b', 'ROOT-a']);
    expect(refusal(() => prepareRotation(prepared, generation('c')))).toContain(
      'generation 2 is already prepared',
    );
  });

  it('activation waits for every online agent, not for offline ones, until the grace period ends', () => {
    const prepared = prepareRotation(start, generation('b'));
    const reports = [agent('t1', 2), agent('t2', 1), agent('t3', 0, false)];
    const early = decideActivation(prepared, reports, 2_000, 60_000);
    expect(early).toMatchObject({ allowed: false, basis: 'refused', graceEndsAt: 61_000 });
    expect(early.pending.map((r) => r.agentId)).toEqual(['t2']);
    expect(early.offline.map((r) => r.agentId)).toEqual(['t3']);
    expect(decideActivation(prepared, reports, 61_000, 60_000)).toMatchObject({
      allowed: true,
      basis: 'grace_period_elapsed',
    });
    expect(decideActivation(prepared, [agent('t1', 2), agent('t2', 2)], 2_000, 60_000).basis).toBe(
      'acknowledged',
    );
    expect(refusal(() => decideActivation(start, [], 0, 0))).toContain('no generation is prepared');
  });

  it('activate makes next current and keeps the old root; retire removes it once nothing chains to it', () => {
    const active = activateRotation(prepareRotation(start, generation('b')), 5_000);
    expect(active.current).toMatchObject({ id: 2, activatedAt: 5_000 });
    expect(active.previous?.id).toBe(1);
    expect(active.bundleVersion).toBe(2);
    expect(refusal(() => prepareRotation(active, generation('c')))).toContain(
      'generation 1 is still in the bundle',
    );
    const live = [
      { kind: 'connector' as const, agentId: 'c1', serial: 's1', notAfter: 9, generation: 1 },
      { kind: 'tunneler' as const, agentId: 't1', serial: 's2', notAfter: 9, generation: 2 },
    ];
    expect(refusal(() => retireRotation(active, live, false))).toContain(
      '1 live certificate(s) still chain to generation 1 (connector c1)',
    );
    const forced = retireRotation(active, live, true);
    const retired = retireRotation(active, live.slice(1), false);
    for (const state of [forced, retired] as TrustState[]) {
      expect(state.previous).toBeNull();
      expect(state.bundleVersion).toBe(3);
      expect(bundleRoots(state)).toEqual(['ROOT-b']);
    }
    expect(refusal(() => retireRotation(retired, [], false))).toContain('no previous generation');
  });

  it('keeps one copy of an upstream root shared by two generations', () => {
    const upstream = initialTrustState(generation('a', 'ORG-ROOT'));
    const prepared = prepareRotation(upstream, {
      ...generation('b', 'ORG-ROOT'),
      certificatePem: 'INT-b',
    });
    expect(bundleRoots(prepared)).toEqual(['ORG-ROOT']);
    const retired = retireRotation(activateRotation(prepared, 1), [], false);
    expect(retired.bundleVersion).toBe(prepared.bundleVersion);
  });

  it('lists the upstream-signed intermediates of the generations in the bundle, and no self-signed root', () => {
    expect(bundleIntermediatesPemOf(start)).toBe('');
    const prepared = prepareRotation(start, {
      ...generation('b', 'ORG-ROOT'),
      certificatePem: 'INT-b',
    });
    expect(bundleIntermediatesPemOf(prepared)).toBe('INT-b\n');
    const second = prepareRotation(retireRotation(activateRotation(prepared, 1), [], false), {
      ...generation('c', 'ORG-ROOT'),
      certificatePem: 'INT-c',
    });
    expect(bundleIntermediatesPemOf(second)).toBe('INT-c\nINT-b\n');
    const done = retireRotation(activateRotation(second, 2), [], false);
    expect(bundleIntermediatesPemOf(done)).toBe('INT-c\n');
  });
});
