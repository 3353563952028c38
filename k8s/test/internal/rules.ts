// Sigil's own rules for rendered manifests: what a schema cannot say. Each check is a small
// function returning violations, so that a broken fixture shows exactly which rule caught it.
//
// Profiles:
// - `workloads`: the sample services and anything deployed like them (cert-manager SVIDs, the
//   grpc-tls environment, authorization policies); every rule applies.
// - `control-plane`: the controller and connector, which get their identities from the
//   controller's own CA; the workload-hardening and network rules apply.
import { posix } from 'node:path';
import { evaluatePolicy, loadAuthorizationPolicy } from '@sigil/interceptors';
import type { AuthorizationPolicy } from '@sigil/interceptors';
import { parseSpiffeId } from '@sigil/pki';
import { parse as parseYaml } from 'yaml';
import { describeObject, kindKey } from './kinds';
import type { KubernetesObject } from './kinds';

/** The rule families, as reported in violations. */
export type RuleId =
  | 'workload-security'
  | 'workload-probes'
  | 'workload-resources'
  | 'workload-image'
  | 'secret-env'
  | 'tls-mount'
  | 'tls-env'
  | 'service'
  | 'certificate'
  | 'ca'
  | 'network-policy'
  | 'network-flow'
  | 'authz-policy'
  | 'pod-disruption-budget';

/** One broken rule on one object. */
export interface Violation {
  rule: RuleId;
  object: string;
  message: string;
}

/** What {@link checkManifests} needs besides the objects. */
export interface RuleOptions {
  profile: 'workloads' | 'control-plane';
  /** Every gRPC method that exists (`/package.Service/Method`), from @sigil/proto. */
  grpcMethods: readonly string[];
}

// --- the slices of the Kubernetes types the rules read (objects are schema-validated first) ------

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: unknown; configMapKeyRef?: unknown };
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
  grpc?: { port: number };
  tcpSocket?: { port: number | string };
  exec?: unknown;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  securityContext?: SecurityContext;
  volumeMounts?: {
    name: string;
    mountPath: string;
    readOnly?: boolean;
    subPath?: string;
    subPathExpr?: string;
  }[];
}
interface Volume {
  name: string;
  secret?: { secretName?: string; defaultMode?: number; items?: unknown[] };
  configMap?: { name?: string; items?: unknown[] };
  hostPath?: unknown;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext & { fsGroup?: number };
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}
interface WorkloadObject extends KubernetesObject {
  spec: {
    replicas?: number;
    selector: Selector;
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}
interface CertificateObject extends KubernetesObject {
  spec: {
    secretName: string;
    isCA?: boolean;
    uris?: string[];
    dnsNames?: string[];
    usages?: string[];
    duration?: string;
    renewBefore?: string;
    privateKey?: { algorithm?: string; size?: number; rotationPolicy?: string };
    issuerRef: { name: string; kind?: string; group?: string };
  };
}
interface ClusterIssuerObject extends KubernetesObject {
  spec: { selfSigned?: object; ca?: { secretName: string } };
}
interface NetworkPolicyPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface NetworkPolicyRule {
  from?: NetworkPolicyPeer[];
  to?: NetworkPolicyPeer[];
  ports?: { port?: number | string; protocol?: string }[];
}
interface NetworkPolicyObject extends KubernetesObject {
  spec: {
    podSelector: Selector;
    policyTypes?: string[];
    ingress?: NetworkPolicyRule[];
    egress?: NetworkPolicyRule[];
  };
}
interface ServiceObject extends KubernetesObject {
  spec: {
    selector?: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string }[];
  };
}
interface PodDisruptionBudgetObject extends KubernetesObject {
  spec: { selector?: Selector; minAvailable?: number | string; maxUnavailable?: number | string };
}

/** A workload's identity as the rest of the cluster sees it. */
interface Identity {
  /** The `app.kubernetes.io/name` its pods carry. */
  name: string;
  namespace: string;
  spiffeId: string;
  /** Labels its pods carry (a client-only identity: just the name label). */
  podLabels: Record<string, string>;
}

const NAME_LABEL = 'app.kubernetes.io/name';
const CLIENT_ONLY_ANNOTATION = 'sigil.dev/client-only';
const CLUSTER_RESOURCE_NAMESPACE = 'cert-manager';
const HEALTH_PORT_NAMES = new Set(['metrics', 'admin']);
const SECRET_ENV = /(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|DATABASE_URL)/;
const SERVICE_ADDR_ENV = /^[A-Z][A-Z0-9_]*_SERVICE_ADDR$/;
const MAX_SVID_LIFETIME_SECONDS = 90 * 86_400;

/** Runs every rule of the profile; an empty list means the manifests pass. */
export function checkManifests(
  objects: readonly KubernetesObject[],
  options: RuleOptions,
): Violation[] {
  const ctx = new Context(objects, options);
  checkWorkloadHardening(ctx);
  checkNetworkPolicies(ctx);
  checkPodDisruptionBudgets(ctx);
  if (options.profile === 'workloads') {
    checkIssuers(ctx);
    for (const workload of ctx.deployments) loadPolicy(ctx, workload);
    for (const workload of ctx.deployments) checkServiceWorkload(ctx, workload);
    checkClientOnlyCertificates(ctx);
    checkTrustDomain(ctx);
  }
  return ctx.violations;
}

class Context {
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

function namespaceOf(object: KubernetesObject): string {
  return object.metadata.namespace ?? 'default';
}

function podLabels(workload: WorkloadObject): Record<string, string> {
  return workload.spec.template.metadata?.labels ?? {};
}

function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  if ((selector.matchExpressions ?? []).length > 0) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function isEmptySelector(selector: Selector | undefined): boolean {
  return (
    selector === undefined ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0)
  );
}

function policyTypes(policy: NetworkPolicyObject): string[] {
  if (policy.spec.policyTypes !== undefined) return policy.spec.policyTypes;
  return policy.spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress'];
}

/** Trust domain and path of a SPIFFE ID, by @sigil/pki's parser; undefined when invalid. */
function spiffeIdParts(id: string): { trustDomain: string; path: string } | undefined {
  try {
    const parsed = parseSpiffeId(id);
    return { trustDomain: parsed.trustDomain, path: parsed.path };
  } catch {
    return undefined;
  }
}

function isClientOnly(certificate: CertificateObject): boolean {
  return certificate.metadata.annotations?.[CLIENT_ONLY_ANNOTATION] === 'true';
}

function envOf(container: Container): Map<string, EnvVar> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** A Kubernetes quantity in base units (cores, bytes); NaN when it cannot be read. */
export function parseQuantity(value: string | number | undefined): number {
  if (typeof value === 'number') return value;
  if (value === undefined) return Number.NaN;
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (match === null) return Number.NaN;
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] === undefined ? 1 : factor[match[2]]!);
}

/** A Go duration (`720h`, `1h30m`, `20m`) in seconds; NaN when it cannot be read. */
export function parseGoDuration(value: string | undefined): number {
  if (value === undefined || !/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(value)) return Number.NaN;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3 };
  let seconds = 0;
  for (const [, amount, , u] of value.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g))
    seconds += Number(amount) * unit[u!]!;
  return seconds;
}

/** Whether a NetworkPolicy rule's ports admit `port` (a number) on a container with `ports`. */
function rulePortsInclude(
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

// --- hardening: every workload --------------------------------------------------------------------

function checkWorkloadHardening(ctx: Context): void {
  for (const workload of ctx.workloads) {
    const spec = workload.spec.template.spec;
    const pod = spec.securityContext ?? {};
    if (spec.automountServiceAccountToken !== false)
      ctx.report(
        'workload-security',
        workload,
        'automountServiceAccountToken must be false: no workload here talks to the Kubernetes API',
      );
    if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true)
      ctx.report(
        'workload-security',
        workload,
        'must not share the host network, PID or IPC namespace',
      );
    for (const volume of spec.volumes ?? [])
      if (volume.hostPath !== undefined)
        ctx.report('workload-security', workload, `volume ${volume.name} is a hostPath`);
    const seccomp = pod.seccompProfile?.type;

    for (const container of allContainers(spec)) {
      const sc = container.securityContext ?? {};
      const where = `container ${container.name}`;
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true)
        ctx.report('workload-security', workload, `${where}: runAsNonRoot must be true`);
      const uid = sc.runAsUser ?? pod.runAsUser;
      if (uid === undefined || uid === 0)
        ctx.report(
          'workload-security',
          workload,
          `${where}: runAsUser must be a fixed non-zero UID (file ownership of mounted Secrets depends on it)`,
        );
      if (sc.readOnlyRootFilesystem !== true)
        ctx.report('workload-security', workload, `${where}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false)
        ctx.report(
          'workload-security',
          workload,
          `${where}: allowPrivilegeEscalation must be false`,
        );
      if (sc.privileged === true)
        ctx.report('workload-security', workload, `${where}: must not be privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL'))
        ctx.report('workload-security', workload, `${where}: capabilities.drop must include ALL`);
      if ((sc.capabilities?.add ?? []).length > 0)
        ctx.report('workload-security', workload, `${where}: must not add capabilities`);
      const effectiveSeccomp = sc.seccompProfile?.type ?? seccomp;
      if (effectiveSeccomp !== 'RuntimeDefault' && effectiveSeccomp !== 'Localhost')
        ctx.report(
          'workload-security',
          workload,
          `${where}: seccompProfile must be RuntimeDefault`,
        );

      for (const resource of ['cpu', 'memory']) {
        const request = parseQuantity(container.resources?.requests?.[resource]);
        const limit = parseQuantity(container.resources?.limits?.[resource]);
        if (Number.isNaN(request) || Number.isNaN(limit))
          ctx.report(
            'workload-resources',
            workload,
            `${where}: needs a ${resource} request and limit`,
          );
        else if (request > limit)
          ctx.report(
            'workload-resources',
            workload,
            `${where}: ${resource} request exceeds its limit`,
          );
      }

      const image = container.image ?? '';
      const tagged = image.includes('@') || /:[^/]+$/.test(image);
      if (!tagged || image.endsWith(':latest'))
        ctx.report(
          'workload-image',
          workload,
          `${where}: image "${image}" must be pinned to a tag other than latest, or a digest`,
        );

      for (const env of container.env ?? []) {
        if (SECRET_ENV.test(env.name) && env.value !== undefined)
          ctx.report(
            'secret-env',
            workload,
            `${where}: ${env.name} is a literal; take it from a Secret (valueFrom.secretKeyRef)`,
          );
      }
    }

    for (const container of spec.containers) checkProbes(ctx, workload, container);
  }
}

function checkProbes(ctx: Context, workload: WorkloadObject, container: Container): void {
  const where = `container ${container.name}`;
  if (container.livenessProbe === undefined || container.readinessProbe === undefined)
    ctx.report('workload-probes', workload, `${where}: needs a livenessProbe and a readinessProbe`);
  const probes = {
    livenessProbe: container.livenessProbe,
    readinessProbe: container.readinessProbe,
    startupProbe: container.startupProbe,
  };
  for (const [kind, probe] of Object.entries(probes)) {
    if (probe === undefined) continue;
    if (probe.httpGet === undefined) {
      // A grpc: or tcpSocket: probe on an mTLS port fails (no client certificate) or counts as a
      // handshake error on every period.
      ctx.report(
        'workload-probes',
        workload,
        `${where}: ${kind} must be an httpGet on the plain-HTTP health port, not ${Object.keys(probe).find((k) => ['grpc', 'tcpSocket', 'exec'].includes(k)) ?? 'this'}`,
      );
      continue;
    }
    const port = probe.httpGet.port;
    const declared = (container.ports ?? []).find(
      (p) => p.name === port || p.containerPort === port,
    );
    if (
      declared === undefined ||
      declared.name === undefined ||
      !HEALTH_PORT_NAMES.has(declared.name)
    ) {
      ctx.report(
        'workload-probes',
        workload,
        `${where}: ${kind} targets port ${String(port)}, which is not a declared health port (${[...HEALTH_PORT_NAMES].join(' or ')})`,
      );
    }
  }
}

// --- network policies: every namespace -------------------------------------------------------------

function checkNetworkPolicies(ctx: Context): void {
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
    if (selected.length === 0)
      ctx.report(
        'network-policy',
        policy,
        `podSelector ${JSON.stringify(policy.spec.podSelector)} selects no workload in namespace ${namespaceOf(policy)}`,
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

// --- PodDisruptionBudgets -----------------------------------------------------------------------------

function checkPodDisruptionBudgets(ctx: Context): void {
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

// --- cert-manager issuers ---------------------------------------------------------------------------

function checkIssuers(ctx: Context): void {
  const issuers = ctx.of<ClusterIssuerObject>('cert-manager.io/v1/ClusterIssuer');
  for (const issuer of issuers.filter((i) => i.spec.ca !== undefined)) {
    const secretName = issuer.spec.ca!.secretName;
    const ca = ctx.certificates.find(
      (c) =>
        c.spec.secretName === secretName && c.metadata.namespace === CLUSTER_RESOURCE_NAMESPACE,
    );
    if (ca === undefined) {
      ctx.report(
        'ca',
        issuer,
        `no Certificate in namespace ${CLUSTER_RESOURCE_NAMESPACE} (the cluster resource namespace) produces its Secret ${secretName}`,
      );
      continue;
    }
    if (ca.spec.isCA !== true) ctx.report('ca', ca, 'backs a CA ClusterIssuer but is not isCA');
    if (ca.spec.privateKey?.algorithm !== 'ECDSA') ctx.report('ca', ca, 'the CA key must be ECDSA');
    // A renewed CA with a new key breaks every leaf whose ca.crt still holds the old one.
    if (ca.spec.privateKey?.rotationPolicy !== 'Never')
      ctx.report(
        'ca',
        ca,
        'privateKey.rotationPolicy must be Never for the CA: a new CA key on renewal breaks trust in every unrenewed leaf',
      );
    const parent = issuers.find((i) => i.metadata.name === ca.spec.issuerRef.name);
    if (ca.spec.issuerRef.kind !== 'ClusterIssuer' || parent?.spec.selfSigned === undefined)
      ctx.report(
        'ca',
        ca,
        `must be issued by a selfSigned ClusterIssuer, not ${ca.spec.issuerRef.kind ?? 'Issuer'}/${ca.spec.issuerRef.name}`,
      );
  }
}

function checkSvidCertificate(
  ctx: Context,
  certificate: CertificateObject,
  expectedName: string,
  usages: readonly string[],
): void {
  const spec = certificate.spec;
  const uris = spec.uris ?? [];
  const spiffe = uris.filter((u) => u.startsWith('spiffe://'));
  const expectedPath = `/svc/${expectedName}`;
  if (uris.length !== 1 || spiffe.length !== 1)
    ctx.report(
      'certificate',
      certificate,
      `must carry exactly one URI SAN, the SPIFFE ID spiffe://<trust-domain>${expectedPath} (X509-SVID), not ${JSON.stringify(uris)}`,
    );
  else {
    const id = spiffeIdParts(spiffe[0]!);
    if (id === undefined)
      ctx.report('certificate', certificate, `${spiffe[0]} is not a valid SPIFFE ID`);
    else if (id.path !== expectedPath)
      ctx.report(
        'certificate',
        certificate,
        `SPIFFE ID ${spiffe[0]} does not name ${expectedName} (expected spiffe://${id.trustDomain}${expectedPath})`,
      );
  }
  if (spec.isCA === true) ctx.report('certificate', certificate, 'an SVID must not be a CA');
  for (const usage of usages)
    if (!(spec.usages ?? []).includes(usage))
      ctx.report('certificate', certificate, `usages must include "${usage}"`);
  for (const usage of spec.usages ?? [])
    if (!['digital signature', 'key encipherment', ...usages].includes(usage))
      ctx.report('certificate', certificate, `unexpected usage "${usage}"`);
  if (spec.privateKey?.algorithm !== 'ECDSA' || ![256, 384].includes(spec.privateKey.size ?? 256))
    ctx.report('certificate', certificate, 'privateKey must be ECDSA P-256 or P-384');
  if (spec.privateKey?.rotationPolicy !== 'Always')
    ctx.report(
      'certificate',
      certificate,
      'privateKey.rotationPolicy must be Always: every renewal gets a fresh key',
    );
  const duration = parseGoDuration(spec.duration);
  const renewBefore = parseGoDuration(spec.renewBefore);
  if (Number.isNaN(duration) || Number.isNaN(renewBefore))
    ctx.report('certificate', certificate, 'needs an explicit duration and renewBefore');
  else if (
    duration > MAX_SVID_LIFETIME_SECONDS ||
    renewBefore >= duration ||
    renewBefore < duration / 10
  ) {
    ctx.report(
      'certificate',
      certificate,
      `duration ${spec.duration} / renewBefore ${spec.renewBefore}: SVIDs live at most 90 days and renew with between 10% and 100% of their lifetime left`,
    );
  }
  const issuer = ctx
    .of<ClusterIssuerObject>('cert-manager.io/v1/ClusterIssuer')
    .find((i) => i.metadata.name === spec.issuerRef.name);
  if (spec.issuerRef.kind !== 'ClusterIssuer' || issuer?.spec.ca === undefined)
    ctx.report(
      'certificate',
      certificate,
      `issuerRef ${spec.issuerRef.kind ?? 'Issuer'}/${spec.issuerRef.name} is not a CA ClusterIssuer of this render`,
    );
}

function checkClientOnlyCertificates(ctx: Context): void {
  const bound = new Set(ctx.deployments.map((d) => ctx.tlsVolume(d)?.certificate));
  for (const certificate of ctx.certificates) {
    if (bound.has(certificate) || certificate.spec.isCA === true) continue;
    if (!isClientOnly(certificate)) {
      ctx.report(
        'certificate',
        certificate,
        `is mounted by no Deployment; a client identity used outside this render needs the annotation ${CLIENT_ONLY_ANNOTATION}: "true"`,
      );
      continue;
    }
    checkSvidCertificate(
      ctx,
      certificate,
      certificate.metadata.labels?.[NAME_LABEL] ?? certificate.metadata.name,
      ['client auth'],
    );
    if ((certificate.spec.dnsNames ?? []).length > 0)
      ctx.report('certificate', certificate, 'a client-only identity has no DNS names');
  }
}

function checkTrustDomain(ctx: Context): void {
  const domains = new Set(ctx.identities().map((i) => spiffeIdParts(i.spiffeId)?.trustDomain));
  if (domains.size > 1)
    ctx.report(
      'certificate',
      ctx.certificates[0]!,
      `SVIDs span several trust domains: ${[...domains].join(', ')}`,
    );
}

// --- one gRPC service Deployment, end to end ---------------------------------------------------------

function checkServiceWorkload(ctx: Context, workload: WorkloadObject): void {
  const spec = workload.spec.template.spec;
  const container = spec.containers[0]!;
  const env = envOf(container);
  const name = workload.metadata.name;
  const namespace = namespaceOf(workload);

  // The Secret, read-only, readable by the non-root user and nobody else.
  const tls = ctx.tlsVolume(workload);
  if (tls === undefined) {
    ctx.report('tls-mount', workload, 'mounts no Secret issued by a cert-manager Certificate');
    return;
  }
  const mount = (container.volumeMounts ?? []).find((m) => m.name === tls.volume.name);
  if (mount === undefined) {
    ctx.report(
      'tls-mount',
      workload,
      `container ${container.name} does not mount the volume ${tls.volume.name}`,
    );
    return;
  }
  if (mount.readOnly !== true)
    ctx.report('tls-mount', workload, `${tls.volume.name} must be mounted readOnly`);
  if (mount.subPath !== undefined || mount.subPathExpr !== undefined)
    ctx.report(
      'tls-mount',
      workload,
      `${tls.volume.name} is mounted with subPath: renewed certificates would never appear in the container`,
    );
  if (tls.volume.secret?.items !== undefined)
    ctx.report(
      'tls-mount',
      workload,
      `${tls.volume.name} selects items: mount the whole Secret (tls.crt, tls.key, ca.crt)`,
    );
  const mode = tls.volume.secret?.defaultMode ?? 0o644;
  if ((mode & ~0o440) !== 0)
    ctx.report(
      'tls-mount',
      workload,
      `defaultMode ${mode.toString(8)} lets others read or write the private key (at most 0440)`,
    );
  const uid = container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
  if (uid !== 0 && (spec.securityContext?.fsGroup === undefined || (mode & 0o040) === 0)) {
    ctx.report(
      'tls-mount',
      workload,
      `a non-root process cannot read the root-owned key: set securityContext.fsGroup and a defaultMode with group read (0440), not ${mode.toString(8)}`,
    );
  }
  const dir = mount.mountPath.replace(/\/$/, '');

  // The grpc-tls environment, pointing into that mount.
  const expectValue = (variable: string, expected: string): void => {
    const value = env.get(variable)?.value;
    if (value !== expected)
      ctx.report(
        'tls-env',
        workload,
        `${variable} must be ${expected}${value === undefined ? ' (missing)' : `, not ${value}`}`,
      );
  };
  expectValue('GRPC_SERVER_CERT_PATH', `${dir}/tls.crt`);
  expectValue('GRPC_SERVER_KEY_PATH', `${dir}/tls.key`);
  expectValue('GRPC_CLIENT_CA_CERT_PATH', `${dir}/ca.crt`);
  expectValue('GRPC_REQUIRE_CLIENT_CERT', 'true');
  const tlsMode = env.get('SIGIL_TLS_MODE')?.value;
  if (tlsMode !== undefined && tlsMode !== 'file')
    ctx.report(
      'tls-env',
      workload,
      `SIGIL_TLS_MODE=${tlsMode}: only file mode belongs in a cluster`,
    );
  for (const [variable, value] of env) {
    if (/INSECURE/.test(variable) && value.value === 'true')
      ctx.report('tls-env', workload, `${variable}=true disables verification`);
  }
  const grpcPort = (container.ports ?? []).find((p) => p.name === 'grpc');
  const listen = env.get('GRPC_LISTEN_ADDR')?.value;
  if (
    grpcPort === undefined ||
    listen === undefined ||
    !listen.endsWith(`:${grpcPort.containerPort}`)
  ) {
    ctx.report(
      'tls-env',
      workload,
      `GRPC_LISTEN_ADDR (${String(listen)}) must listen on the container port named grpc (${String(grpcPort?.containerPort)})`,
    );
  }

  // Its SVID and its Service.
  checkSvidCertificate(ctx, tls.certificate, name, ['server auth', 'client auth']);
  const clusterName = `${name}.${namespace}.svc.cluster.local`;
  for (const dnsName of [name, clusterName]) {
    if (!(tls.certificate.spec.dnsNames ?? []).includes(dnsName))
      ctx.report('certificate', tls.certificate, `dnsNames must include ${dnsName}`);
  }
  const service = ctx
    .of<ServiceObject>('v1/Service')
    .find((s) => s.metadata.name === name && namespaceOf(s) === namespace);
  if (
    service === undefined ||
    service.spec.selector === undefined ||
    !selects({ matchLabels: service.spec.selector }, podLabels(workload))
  ) {
    ctx.report(
      'service',
      workload,
      `needs a Service named ${name} selecting its pods (the name in its certificate)`,
    );
  } else if (
    grpcPort !== undefined &&
    !service.spec.ports.some(
      (p) =>
        p.port === grpcPort.containerPort &&
        (p.targetPort === 'grpc' || p.targetPort === grpcPort.containerPort),
    )
  ) {
    ctx.report('service', service, `must expose the gRPC port ${grpcPort.containerPort}`);
  }

  // Agreement of its authorization policy with the network layer, and each upstream call.
  const policy = ctx.policies.get(workload);
  if (policy !== undefined && grpcPort !== undefined)
    checkPolicyAgainstNetwork(ctx, workload, policy, grpcPort);
  for (const [variable, value] of env) {
    if (SERVICE_ADDR_ENV.test(variable))
      checkUpstream(ctx, workload, container, dir, variable, value.value);
  }
}

/** Finds the file SIGIL_AUTHZ_POLICY names in a mounted ConfigMap, loads and checks it. */
function loadPolicy(ctx: Context, workload: WorkloadObject): void {
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
function allowedCallers(ctx: Context, policy: AuthorizationPolicy): Identity[] {
  return ctx
    .identities()
    .filter((identity) =>
      ctx.options.grpcMethods.some(
        (method) => evaluatePolicy(policy, { spiffeId: identity.spiffeId, method }).allowed,
      ),
    );
}

/** The identities whose pods a NetworkPolicy admits to `port` of `workload`; undefined = anyone. */
function admittedCallers(
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

function checkPolicyAgainstNetwork(
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

function checkUpstream(
  ctx: Context,
  workload: WorkloadObject,
  container: Container,
  dir: string,
  variable: string,
  address: string | undefined,
): void {
  const env = envOf(container);
  const match = address === undefined ? null : /^([a-z0-9.-]+):(\d+)$/.exec(address);
  if (match === null) {
    ctx.report('tls-env', workload, `${variable}=${String(address)} is not host:port`);
    return;
  }
  const host = match[1]!;
  const port = Number(match[2]);
  for (const [name, expected] of [
    ['GRPC_SERVER_CA_CERT_PATH', `${dir}/ca.crt`],
    ['GRPC_CLIENT_CERT_PATH', `${dir}/tls.crt`],
    ['GRPC_CLIENT_KEY_PATH', `${dir}/tls.key`],
    ['GRPC_SERVER_DOMAIN', host],
  ] as const) {
    const value = env.get(name)?.value;
    if (value !== expected)
      ctx.report(
        'tls-env',
        workload,
        `${variable} makes it a client: ${name} must be ${expected}${value === undefined ? ' (missing)' : `, not ${value}`}`,
      );
  }

  const [serviceName, serviceNamespace = namespaceOf(workload)] = host.split('.');
  const service = ctx
    .of<ServiceObject>('v1/Service')
    .find((s) => s.metadata.name === serviceName && namespaceOf(s) === serviceNamespace);
  const selector = service?.spec.selector;
  const upstream =
    selector === undefined
      ? undefined
      : ctx.deployments.find(
          (d) =>
            namespaceOf(d) === serviceNamespace && selects({ matchLabels: selector }, podLabels(d)),
        );
  if (upstream === undefined || !service!.spec.ports.some((p) => p.port === port)) {
    ctx.report(
      'network-flow',
      workload,
      `${variable}=${address}: no Service ${serviceName} in ${serviceNamespace} with port ${port} in front of a Deployment`,
    );
    return;
  }
  const upstreamTls = ctx.tlsVolume(upstream);
  if (upstreamTls !== undefined && !(upstreamTls.certificate.spec.dnsNames ?? []).includes(host)) {
    ctx.report(
      'certificate',
      upstreamTls.certificate,
      `${describeObject(workload)} verifies ${host} (GRPC_SERVER_DOMAIN), which is not among its dnsNames`,
    );
  }
  const expectedId = ctx.identityOf(upstream)?.spiffeId;
  const verified = env.get('GRPC_SERVER_SPIFFE_ID')?.value;
  if (expectedId !== undefined && verified !== expectedId) {
    ctx.report(
      'tls-env',
      workload,
      `${variable} makes it a client of ${upstream.metadata.name}: GRPC_SERVER_SPIFFE_ID must be ${expectedId}${verified === undefined ? ' (missing)' : `, not ${verified}`}`,
    );
  }
  const caller = ctx.identityOf(workload);
  const upstreamPort = upstream.spec.template.spec.containers
    .flatMap((c) => c.ports ?? [])
    .find((p) => p.name === 'grpc');
  if (caller === undefined || upstreamPort === undefined) return;

  const upstreamPolicy = ctx.policies.get(upstream);
  if (
    upstreamPolicy !== undefined &&
    !allowedCallers(ctx, upstreamPolicy).some((i) => i.spiffeId === caller.spiffeId)
  ) {
    ctx.report(
      'network-flow',
      workload,
      `calls ${upstream.metadata.name} (${variable}), whose authorization policy does not allow ${caller.spiffeId}`,
    );
  }
  const egress = ctx.policiesFor(workload, 'Egress');
  const egressAllowed =
    egress.length === 0 ||
    egress
      .flatMap((p) => p.spec.egress ?? [])
      .some(
        (rule) =>
          rulePortsInclude(
            rule,
            upstreamPort.containerPort,
            upstream.spec.template.spec.containers.flatMap((c) => c.ports ?? []),
          ) &&
          (rule.to === undefined ||
            rule.to.length === 0 ||
            rule.to.some(
              (peer) =>
                peer.namespaceSelector === undefined &&
                peer.ipBlock === undefined &&
                selects(peer.podSelector, podLabels(upstream)),
            )),
      );
  if (!egressAllowed)
    ctx.report(
      'network-flow',
      workload,
      `calls ${upstream.metadata.name}:${upstreamPort.containerPort} (${variable}) but no NetworkPolicy lets it out`,
    );
}
