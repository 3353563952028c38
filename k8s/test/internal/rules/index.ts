// Sigil's own rules for rendered manifests: what a schema cannot say. Each check is a small
// function returning violations, so that a broken fixture shows exactly which rule caught it.
//
// Profiles:
// - `workloads`: the sample services and anything deployed like them (cert-manager SVIDs, the
//   grpc-tls environment, authorization policies); every rule applies.
// - `control-plane`: the controller and the agents, which get their identities from the
//   controller's own CA; the workload-hardening, network and Certificate (X509-SVID) rules apply.
import type { KubernetesObject } from '../kinds';
import { loadPolicy } from './authorization-policies';
import {
  checkClientOnlyCertificates,
  checkIssuers,
  checkSigilSvids,
  checkTrustDomain,
} from './certificates';
import { Context } from './context';
import { checkNetworkPolicies } from './network-policies';
import { checkPodDisruptionBudgets } from './pod-disruption-budgets';
import { checkServiceWorkload } from './service-workloads';
import type { RuleOptions, Violation } from './types';
import { checkWorkloadHardening } from './workload-hardening';

export { parseGoDuration, parseQuantity } from './quantities';
export type { RuleId, RuleOptions, Violation } from './types';

/** Runs every rule of the profile; an empty list means the manifests pass. */
export function checkManifests(
  objects: readonly KubernetesObject[],
  options: RuleOptions,
): Violation[] {
  const ctx = new Context(objects, options);
  checkWorkloadHardening(ctx);
  checkNetworkPolicies(ctx);
  checkPodDisruptionBudgets(ctx);
  checkSigilSvids(ctx);
  if (options.profile === 'workloads') {
    checkIssuers(ctx);
    for (const workload of ctx.deployments) loadPolicy(ctx, workload);
    for (const workload of ctx.deployments) checkServiceWorkload(ctx, workload);
    checkClientOnlyCertificates(ctx);
    checkTrustDomain(ctx);
  }
  return ctx.violations;
}
