// One run of the rules: the objects by kind, the violations so far, and the helpers every rule family
// shares (selectors, identities, ports).
import { parseSpiffeId } from '@sigil/pki';
import type { AuthorizationPolicy } from '@sigil/interceptors';
import { describeObject, kindKey } from '../kinds';
import type { KubernetesObject } from '../kinds';
import type {
  CertificateObject,
  Container,
  ContainerPort,
  EnvVar,
  Identity,
  NetworkPolicyObject,
  NetworkPolicyRule,
  PodSpec,
  RuleId,
  RuleOptions,
  Selector,
  Violation,
  Volume,
  WorkloadObject,
} from './types';

export const NAME_LABEL = 'app.kubernetes.io/name';
export const CLIENT_ONLY_ANNOTATION = 'sigil.dev/client-only';
export const CLUSTER_RESOURCE_NAMESPACE = 'cert-manager';
export const HEALTH_PORT_NAMES = new Set(['metrics', 'admin']);
export const SECRET_ENV = /(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|DATABASE_URL)/;
export const SERVICE_ADDR_ENV = /^[A-Z][A-Z0-9_]*_SERVICE_ADDR$/;
export const MAX_SVID_LIFETIME_SECONDS = 90 * 86_400;

export class Context {
  readonly violations: Violation[] = [];
  readonly workloads: WorkloadObject[];
  readonly deployments: WorkloadObject[];
  readonly certificates: CertificateObject[];
  readonly networkPolicies: NetworkPolicyObject[];
  /** Each Deployment's authorization policy, as @sigil/interceptors loads it (see loadPolicy). */
  readonly policies = new Map<WorkloadObject, AuthorizationPolicy>();
  private readonly identityCache = new Map<WorkloadObject, Identity | undefined>();

  constructor(
    readonly objects: readonly KubernetesObject[],
    readonly options: RuleOptions,
  ) {
    this.workloads = objects.filter(
      (o) => kindKey(o) === 'apps/v1/Deployment' || kindKey(o) === 'apps/v1/StatefulSet',
    ) as WorkloadObject[];
    this.deployments = this.workloads.filter((o) => o.kind === 'Deployment');
    this.certificates = this.of<CertificateObject>('cert-manager.io/v1/Certificate');
    this.networkPolicies = this.of<NetworkPolicyObject>('networking.k8s.io/v1/NetworkPolicy');
  }

  of<T extends KubernetesObject>(key: string): T[] {
    return this.objects.filter((o) => kindKey(o) === key) as T[];
  }

  report(rule: RuleId, object: KubernetesObject, message: string): void {
    this.violations.push({ rule, object: describeObject(object), message });
  }

  /** The workload's TLS Secret volume, when it mounts one issued by a Certificate. */
  tlsVolume(
    workload: WorkloadObject,
  ): { volume: Volume; certificate: CertificateObject } | undefined {
    for (const volume of workload.spec.template.spec.volumes ?? []) {
      const secretName = volume.secret?.secretName;
      const certificate = this.certificates.find(
        (c) =>
          c.spec.secretName === secretName && c.metadata.namespace === workload.metadata.namespace,
      );
      if (certificate !== undefined) return { volume, certificate };
    }
    return undefined;
  }

  identityOf(workload: WorkloadObject): Identity | undefined {
    if (!this.identityCache.has(workload)) {
      const spiffeId = this.tlsVolume(workload)?.certificate.spec.uris?.find((u) =>
        u.startsWith('spiffe://'),
      );
      this.identityCache.set(
        workload,
        spiffeId === undefined
          ? undefined
          : {
              name: workload.metadata.name,
              namespace: namespaceOf(workload),
              spiffeId,
              podLabels: podLabels(workload),
            },
      );
    }
    return this.identityCache.get(workload);
  }

  /** Every SPIFFE identity in the render: workloads with an SVID, and client-only certificates. */
  identities(): Identity[] {
    const identities = this.deployments
      .map((d) => this.identityOf(d))
      .filter((i): i is Identity => i !== undefined);
    for (const certificate of this.certificates.filter(isClientOnly)) {
      const spiffeId = certificate.spec.uris?.[0];
      const name = certificate.metadata.labels?.[NAME_LABEL] ?? certificate.metadata.name;
      if (spiffeId !== undefined)
        identities.push({
          name,
          namespace: namespaceOf(certificate),
          spiffeId,
          podLabels: { [NAME_LABEL]: name },
        });
    }
    return identities;
  }

  /** Policies selecting the pods of `workload` that restrict the given direction. */
  policiesFor(workload: WorkloadObject, direction: 'Ingress' | 'Egress'): NetworkPolicyObject[] {
    return this.networkPolicies.filter(
      (p) =>
        p.metadata.namespace === workload.metadata.namespace &&
        selects(p.spec.podSelector, podLabels(workload)) &&
        policyTypes(p).includes(direction),
    );
  }
}

// --- helpers ------------------------------------------------------------------------------------

export function namespaceOf(object: KubernetesObject): string {
  return object.metadata.namespace ?? 'default';
}

export function podLabels(workload: WorkloadObject): Record<string, string> {
  return workload.spec.template.metadata?.labels ?? {};
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  if ((selector.matchExpressions ?? []).length > 0) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

export function isEmptySelector(selector: Selector | undefined): boolean {
  return (
    selector === undefined ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0)
  );
}

export function policyTypes(policy: NetworkPolicyObject): string[] {
  if (policy.spec.policyTypes !== undefined) return policy.spec.policyTypes;
  return policy.spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress'];
}

/** Trust domain and path of a SPIFFE ID, by @sigil/pki's parser; undefined when invalid. */
export function spiffeIdParts(id: string): { trustDomain: string; path: string } | undefined {
  try {
    const parsed = parseSpiffeId(id);
    return { trustDomain: parsed.trustDomain, path: parsed.path };
  } catch {
    return undefined;
  }
}

export function isClientOnly(certificate: CertificateObject): boolean {
  return certificate.metadata.annotations?.[CLIENT_ONLY_ANNOTATION] === 'true';
}

export function envOf(container: Container): Map<string, EnvVar> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** Whether a NetworkPolicy rule's ports admit `port` (a number) on a container with `ports`. */
export function rulePortsInclude(
  rule: NetworkPolicyRule,
  port: number,
  containerPorts: readonly ContainerPort[],
): boolean {
  if (rule.ports === undefined || rule.ports.length === 0) return true;
  return rule.ports.some(
    (p) =>
      p.port === undefined ||
      p.port === port ||
      containerPorts.some((c) => c.name === p.port && c.containerPort === port),
  );
}
