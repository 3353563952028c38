// What the rules read and report: the slices of the Kubernetes types they use (objects are
// schema-validated first), and the shape of a violation.
import type { KubernetesObject } from '../kinds';

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

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}
export interface ContainerPort {
  name?: string;
  containerPort: number;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: unknown; configMapKeyRef?: unknown };
}
export interface Probe {
  httpGet?: { path?: string; port: number | string };
  grpc?: { port: number };
  tcpSocket?: { port: number | string };
  exec?: unknown;
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}
export interface Container {
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
export interface Volume {
  name: string;
  secret?: { secretName?: string; defaultMode?: number; items?: unknown[] };
  configMap?: { name?: string; items?: unknown[] };
  hostPath?: unknown;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext & { fsGroup?: number };
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}
export interface WorkloadObject extends KubernetesObject {
  spec: {
    replicas?: number;
    selector: Selector;
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}
export interface CertificateObject extends KubernetesObject {
  spec: {
    secretName: string;
    isCA?: boolean;
    uris?: string[];
    dnsNames?: string[];
    usages?: string[];
    duration?: string;
    renewBefore?: string;
    revisionHistoryLimit?: number;
    privateKey?: { algorithm?: string; size?: number; rotationPolicy?: string };
    issuerRef: { name: string; kind?: string; group?: string };
  };
}
export interface ClusterIssuerObject extends KubernetesObject {
  spec: { selfSigned?: object; ca?: { secretName: string } };
}
export interface NetworkPolicyPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
export interface NetworkPolicyRule {
  from?: NetworkPolicyPeer[];
  to?: NetworkPolicyPeer[];
  ports?: { port?: number | string; protocol?: string }[];
}
export interface NetworkPolicyObject extends KubernetesObject {
  spec: {
    podSelector: Selector;
    policyTypes?: string[];
    ingress?: NetworkPolicyRule[];
    egress?: NetworkPolicyRule[];
  };
}
export interface ServiceObject extends KubernetesObject {
  spec: {
    selector?: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string }[];
  };
}
export interface PodDisruptionBudgetObject extends KubernetesObject {
  spec: { selector?: Selector; minAvailable?: number | string; maxUnavailable?: number | string };
}

/** A workload's identity as the rest of the cluster sees it. */
export interface Identity {
  /** The `app.kubernetes.io/name` its pods carry. */
  name: string;
  namespace: string;
  spiffeId: string;
  /** Labels its pods carry (a client-only identity: just the name label). */
  podLabels: Record<string, string>;
}
