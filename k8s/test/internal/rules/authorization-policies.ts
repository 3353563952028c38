// Authorization policies: each Deployment's policy loaded by @sigil/interceptors, checked against the
// issued identities, the gRPC methods of @sigil/proto and the NetworkPolicies.
import { posix } from 'node:path';
import { evaluatePolicy, loadAuthorizationPolicy } from '@sigil/interceptors';
import type { AuthorizationPolicy } from '@sigil/interceptors';
import { parse as parseYaml } from 'yaml';
import { describeObject, kindKey } from '../kinds';
import { envOf, namespaceOf, rulePortsInclude, selects } from './context';
import type { Context } from './context';
import type { ContainerPort, Identity, WorkloadObject } from './types';

/** Finds the file SIGIL_AUTHZ_POLICY names in a mounted ConfigMap, loads and checks it. */
export function loadPolicy(ctx: Context, workload: WorkloadObject): void {
  const container = workload.spec.template.spec.containers[0]!;
  const path = envOf(container).get('SIGIL_AUTHZ_POLICY')?.value;
  if (path === undefined) {
    ctx.report(
      'authz-policy',
      workload,
      'SIGIL_AUTHZ_POLICY is not set: the service would run its built-in policy, which no one reviewed here',
    );
    return;
  }
  const mount = (container.volumeMounts ?? []).find(
    (m) => m.mountPath.replace(/\/$/, '') === posix.dirname(path),
  );
  const volume = workload.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
  const configMap = ctx.objects.find(
    (o) =>
      kindKey(o) === 'v1/ConfigMap' &&
      o.metadata.name === volume?.configMap?.name &&
      namespaceOf(o) === namespaceOf(workload),
  );
  const text = (configMap?.data as Record<string, string> | undefined)?.[posix.basename(path)];
  if (text === undefined) {
    ctx.report(
      'authz-policy',
      workload,
      `SIGIL_AUTHZ_POLICY=${path} is not a file of a mounted ConfigMap of this render`,
    );
    return;
  }
  let policy: AuthorizationPolicy;
  try {
    // The real loader of @sigil/interceptors: what the service will do with this file.
    policy = loadAuthorizationPolicy(parseYaml(text) as never, {
      source: `${describeObject(configMap!)} ${posix.basename(path)}`,
    });
  } catch (err) {
    ctx.report('authz-policy', configMap!, (err as Error).message);
    return;
  }
  const ids = ctx.identities().map((i) => i.spiffeId);
  for (const rule of policy.rules) {
    for (const caller of rule.callers) {
      const known = caller.endsWith('/*')
        ? ids.some((id) => id.startsWith(caller.slice(0, -1)))
        : ids.includes(caller);
      if (!known)
        ctx.report(
          'authz-policy',
          configMap!,
          `rule ${rule.name}: caller ${caller} is no SPIFFE ID issued in this render`,
        );
    }
    for (const method of rule.methods) {
      const exists =
        method === '*' ||
        ctx.options.grpcMethods.some((m) =>
          method.endsWith('/*') ? m.startsWith(`/${method.slice(0, -1)}`) : m === `/${method}`,
        );
      if (!exists)
        ctx.report(
          'authz-policy',
          configMap!,
          `rule ${rule.name}: method ${method} matches no method of @sigil/proto`,
        );
    }
  }
  ctx.policies.set(workload, policy);
}

/** The identities a policy lets call at least one (non-health) method. */
export function allowedCallers(ctx: Context, policy: AuthorizationPolicy): Identity[] {
  return ctx
    .identities()
    .filter((identity) =>
      ctx.options.grpcMethods.some(
        (method) => evaluatePolicy(policy, { spiffeId: identity.spiffeId, method }).allowed,
      ),
    );
}

/** The identities whose pods a NetworkPolicy admits to `port` of `workload`; undefined = anyone. */
export function admittedCallers(
  ctx: Context,
  workload: WorkloadObject,
  port: ContainerPort,
): Identity[] | undefined {
  const policies = ctx.policiesFor(workload, 'Ingress');
  if (policies.length === 0) return undefined;
  const admitted = new Set<Identity>();
  for (const rule of policies.flatMap((p) => p.spec.ingress ?? [])) {
    if (
      !rulePortsInclude(
        rule,
        port.containerPort,
        workload.spec.template.spec.containers.flatMap((c) => c.ports ?? []),
      )
    )
      continue;
    if (rule.from === undefined || rule.from.length === 0) return undefined;
    for (const peer of rule.from) {
      if (
        peer.podSelector === undefined ||
        peer.namespaceSelector !== undefined ||
        peer.ipBlock !== undefined
      )
        continue;
      for (const identity of ctx.identities())
        if (
          identity.namespace === namespaceOf(workload) &&
          selects(peer.podSelector, identity.podLabels)
        )
          admitted.add(identity);
    }
  }
  return [...admitted];
}

/** The callers a workload's authorization policy allows are exactly those its NetworkPolicies admit. */
export function checkPolicyAgainstNetwork(
  ctx: Context,
  workload: WorkloadObject,
  policy: AuthorizationPolicy,
  grpcPort: ContainerPort,
): void {
  const byPolicy = new Set(allowedCallers(ctx, policy).map((i) => i.name));
  const admitted = admittedCallers(ctx, workload, grpcPort);
  if (admitted === undefined) {
    ctx.report(
      'network-flow',
      workload,
      `its NetworkPolicies admit any source to the gRPC port ${grpcPort.containerPort}; admit exactly the callers its authorization policy allows (${[...byPolicy].join(', ') || 'none'})`,
    );
    return;
  }
  const byNetwork = new Set(admitted.map((i) => i.name));
  for (const name of byPolicy)
    if (!byNetwork.has(name))
      ctx.report(
        'network-flow',
        workload,
        `its authorization policy allows ${name}, but no NetworkPolicy admits ${name} to port ${grpcPort.containerPort}`,
      );
  for (const name of byNetwork)
    if (!byPolicy.has(name))
      ctx.report(
        'network-flow',
        workload,
        `a NetworkPolicy admits ${name} to port ${grpcPort.containerPort}, but its authorization policy does not allow ${name}`,
      );
}
