// NetworkPolicies of every namespace: default deny, DNS egress, selectors and ports that mean something.
import { isEmptySelector, namespaceOf, podLabels, policyTypes, selects } from './context';
import type { Context } from './context';

/** Default deny and DNS egress per namespace; selectors, peers and ports of every NetworkPolicy. */
export function checkNetworkPolicies(ctx: Context): void {
  const identities = ctx.options.profile === 'workloads' ? ctx.identities() : [];
  const namespaces = new Set(ctx.workloads.map(namespaceOf));
  for (const namespace of namespaces) {
    const inNamespace = ctx.networkPolicies.filter((p) => namespaceOf(p) === namespace);
    const denyAll = inNamespace.find(
      (p) =>
        isEmptySelector(p.spec.podSelector) &&
        policyTypes(p).includes('Ingress') &&
        policyTypes(p).includes('Egress') &&
        (p.spec.ingress ?? []).length === 0 &&
        (p.spec.egress ?? []).length === 0,
    );
    const anchor = ctx.workloads.find((w) => namespaceOf(w) === namespace)!;
    if (denyAll === undefined)
      ctx.report(
        'network-policy',
        anchor,
        `namespace ${namespace} has no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)`,
      );
    const dns = inNamespace.some(
      (p) =>
        isEmptySelector(p.spec.podSelector) &&
        (p.spec.egress ?? []).some((rule) =>
          (rule.ports ?? []).some((port) => port.port === 53 && port.protocol === 'UDP'),
        ),
    );
    if (!dns)
      ctx.report(
        'network-policy',
        anchor,
        `namespace ${namespace} restricts egress but has no DNS (UDP 53) egress rule for all pods`,
      );
  }

  for (const policy of ctx.networkPolicies) {
    const namespaceWorkloads = ctx.workloads.filter((w) => namespaceOf(w) === namespaceOf(policy));
    if ((policy.spec.podSelector.matchExpressions ?? []).length > 0)
      ctx.report(
        'network-policy',
        policy,
        'podSelector.matchExpressions is not understood by these rules: use matchLabels',
      );
    const selected = namespaceWorkloads.filter((w) =>
      selects(policy.spec.podSelector, podLabels(w)),
    );
    // A client identity's pods (api-gateway: deployed by the user, not here) may be selected too.
    const selectsIdentity = identities.some(
      (i) => i.namespace === namespaceOf(policy) && selects(policy.spec.podSelector, i.podLabels),
    );
    if (selected.length === 0 && !selectsIdentity)
      ctx.report(
        'network-policy',
        policy,
        `podSelector ${JSON.stringify(policy.spec.podSelector)} selects no workload or client identity in namespace ${namespaceOf(policy)}`,
      );

    for (const [direction, rules] of [
      ['ingress', policy.spec.ingress ?? []],
      ['egress', policy.spec.egress ?? []],
    ] as const) {
      for (const rule of rules) {
        const peers = (direction === 'ingress' ? rule.from : rule.to) ?? [];
        for (const peer of peers) {
          if (
            peer.podSelector === undefined ||
            peer.namespaceSelector !== undefined ||
            peer.ipBlock !== undefined
          )
            continue;
          const known =
            namespaceWorkloads.some((w) => selects(peer.podSelector, podLabels(w))) ||
            identities.some(
              (i) => i.namespace === namespaceOf(policy) && selects(peer.podSelector, i.podLabels),
            );
          if (!known)
            ctx.report(
              'network-policy',
              policy,
              `${direction} peer ${JSON.stringify(peer.podSelector)} matches no workload or client identity in namespace ${namespaceOf(policy)}`,
            );
        }
        if (direction === 'ingress') {
          for (const port of rule.ports ?? []) {
            const served = selected.some((w) =>
              w.spec.template.spec.containers.some((c) =>
                (c.ports ?? []).some((p) => p.containerPort === port.port || p.name === port.port),
              ),
            );
            if (!served)
              ctx.report(
                'network-policy',
                policy,
                `ingress port ${String(port.port)} is not a port of the selected pods`,
              );
          }
          if ((rule.ports ?? []).length === 0)
            ctx.report('network-policy', policy, 'an ingress rule without ports opens every port');
        }
      }
    }
  }
}
