// The object kinds Sigil's manifests may contain, each with its schema validator. A kind missing
// here is refused by the schema check: adding one is a deliberate act.
import {
  Certificate,
  ClusterIssuer,
  Issuer,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';

/** A Kubernetes object as parsed from YAML: only the type meta and the name are known. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** What we know about one kind. */
export interface KindInfo {
  /** Validates an object against the kind's schema; throws with every violation listed. */
  validate(object: unknown): void;
}

interface Validatable {
  validate(): void;
}

function validator(Model: new (data: never) => Validatable): KindInfo {
  return { validate: (object) => new Model(object as never).validate() };
}

const KINDS: Readonly<Record<string, KindInfo>> = {
  'v1/ConfigMap': validator(ConfigMap),
  'v1/Namespace': validator(Namespace),
  'v1/PersistentVolumeClaim': validator(PersistentVolumeClaim),
  'v1/Service': validator(Service),
  'v1/ServiceAccount': validator(ServiceAccount),
  'apps/v1/Deployment': validator(Deployment),
  'apps/v1/StatefulSet': validator(StatefulSet),
  'batch/v1/Job': validator(Job),
  'networking.k8s.io/v1/NetworkPolicy': validator(NetworkPolicy),
  'policy/v1/PodDisruptionBudget': validator(PodDisruptionBudget),
  'cert-manager.io/v1/Certificate': validator(Certificate),
  'cert-manager.io/v1/Issuer': validator(Issuer),
  'cert-manager.io/v1/ClusterIssuer': validator(ClusterIssuer),
};

/** The registry key of an object's kind: `<apiVersion>/<kind>`. */
export function kindKey(object: Pick<KubernetesObject, 'apiVersion' | 'kind'>): string {
  return `${object.apiVersion}/${object.kind}`;
}

/** What we know about the object's kind, or undefined for a kind Sigil does not use. */
export function kindInfo(
  object: Pick<KubernetesObject, 'apiVersion' | 'kind'>,
): KindInfo | undefined {
  return KINDS[kindKey(object)];
}

/** `Kind/namespace/name` (or `Kind/name` when cluster-scoped): how messages name an object. */
export function describeObject(object: KubernetesObject): string {
  const ns = object.metadata.namespace;
  return ns === undefined
    ? `${object.kind}/${object.metadata.name}`
    : `${object.kind}/${ns}/${object.metadata.name}`;
}
