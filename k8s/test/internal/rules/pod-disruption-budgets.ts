// PodDisruptionBudgets: one workload each, and at least one disruption allowed.
import { describeObject } from '../kinds';
import { isEmptySelector, namespaceOf, podLabels, selects } from './context';
import type { Context } from './context';
import type { PodDisruptionBudgetObject } from './types';

/** Each PodDisruptionBudget selects one workload and lets at least one pod go. */
export function checkPodDisruptionBudgets(ctx: Context): void {
  for (const pdb of ctx.of<PodDisruptionBudgetObject>('policy/v1/PodDisruptionBudget')) {
    const targets = ctx.workloads.filter(
      (w) =>
        namespaceOf(w) === namespaceOf(pdb) &&
        !isEmptySelector(pdb.spec.selector) &&
        selects(pdb.spec.selector, podLabels(w)),
    );
    if (targets.length !== 1) {
      ctx.report(
        'pod-disruption-budget',
        pdb,
        `selects ${targets.length} workloads, expected exactly one`,
      );
      continue;
    }
    const replicas = targets[0]!.spec.replicas ?? 1;
    const { minAvailable, maxUnavailable } = pdb.spec;
    if (
      (typeof minAvailable === 'number' && minAvailable >= replicas) ||
      minAvailable === '100%' ||
      maxUnavailable === 0 ||
      maxUnavailable === '0%'
    ) {
      ctx.report(
        'pod-disruption-budget',
        pdb,
        `allows no disruption of ${describeObject(targets[0]!)} (${replicas} replicas): node drains would block forever`,
      );
    }
  }
}
