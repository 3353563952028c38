import { isSigilError } from '@sigil/errors';
import {
  activateRotation,
  bundleIntermediatesPemOf,
  bundleRoots,
  caRotationDueAt,
  decideActivation,
  decideCaRotationStep,
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

describe('automatic rotation (decideCaRotationStep)', () => {
  // Generation 1 lives from 1_000 to 10_000_000: half-life at 5_000_500.
  const start = initialTrustState(generation('a'));
  const inputs = { rotateAtFraction: 0.5, activation: null, livePrevious: 0 };

  it('waits until the current CA has lived the configured fraction of its lifetime, then prepares', () => {
    expect(caRotationDueAt(start.current, 0.5)).toBe(5_000_500);
    expect(caRotationDueAt(start.current, 0.75)).toBe(7_500_250);
    expect(decideCaRotationStep(start, 5_000_499, inputs)).toMatchObject({
      step: 'wait',
      dueAt: 5_000_500,
      reason: expect.stringContaining('generation 1 is due at'),
    });
    expect(decideCaRotationStep(start, 5_000_500, inputs)).toEqual({
      step: 'prepare',
      dueAt: 5_000_500,
    });
  });

  it('activates once the activation check allows it, and only then', () => {
    const prepared = prepareRotation(start, { ...generation('b'), createdAt: 5_000_500 });
    const refusedCheck = decideActivation(prepared, [agent('t1', 1)], 5_000_600, 60_000);
    expect(
      decideCaRotationStep(prepared, 5_000_600, { ...inputs, activation: refusedCheck }),
    ).toMatchObject({ step: 'wait', reason: expect.stringContaining('1 online agent(s)') });
    for (const check of [
      decideActivation(prepared, [agent('t1', 2)], 5_000_600, 60_000),
      decideActivation(prepared, [agent('t1', 1)], 5_060_500, 60_000),
    ])
      expect(decideCaRotationStep(prepared, 5_060_500, { ...inputs, activation: check }).step).toBe(
        'activate',
      );
  });

  it('retires once nothing live chains to the previous generation; the new current is due at its own half-life', () => {
    const active = activateRotation(
      prepareRotation(start, { ...generation('b'), createdAt: 6_000_000, notAfter: 8_000_000 }),
      6_000_100,
    );
    expect(decideCaRotationStep(active, 6_000_200, { ...inputs, livePrevious: 2 })).toMatchObject({
      step: 'wait',
      dueAt: 7_000_000,
      reason: '2 live certificate(s) still chain to generation 1',
    });
    expect(decideCaRotationStep(active, 6_000_200, inputs)).toEqual({
      step: 'retire',
      dueAt: 7_000_000,
    });
    const retired = retireRotation(active, [], false);
    expect(decideCaRotationStep(retired, 6_999_999, inputs).step).toBe('wait');
    expect(decideCaRotationStep(retired, 7_000_000, inputs).step).toBe('prepare');
  });

  it('never replaces a generation under an upstream root by itself', () => {
    const upstream = initialTrustState({ ...generation('a', 'ORG-ROOT'), certificatePem: 'INT-a' });
    expect(decideCaRotationStep(upstream, 9_000_000, inputs)).toMatchObject({
      step: 'wait',
      dueAt: 5_000_500,
      reason: expect.stringContaining('under an upstream root'),
    });
  });
});
