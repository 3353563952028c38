// The object kinds Sigil's manifests may contain, with what the renderer and the validator need
// to know about each. A kind missing here is refused by both: adding one is a deliberate act.
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
  /** Whether objects of this kind live in a namespace. */
  namespaced: boolean;
  /**
   * Whether kustomize has the kind's OpenAPI schema built in. Kinds it does not know (custom
   * resources) are treated by kustomize as namespaced, and their lists are merged without
   * patch merge keys.
   */
  kustomizeKnowsSchema: boolean;
  /** Validates an object against the kind's schema; throws with every violation listed. */
  validate(object: unknown): void;
}

interface Validatable {
  validate(): void;
}

function validator(Model: new (data: never) => Validatable): (object: unknown) => void {
  return (object) => new Model(object as never).validate();
}

const KINDS: Readonly<Record<string, KindInfo>> = {
  'v1/ConfigMap': { namespaced: true, kustomizeKnowsSchema: true, validate: validator(ConfigMap) },
  'v1/Namespace': { namespaced: false, kustomizeKnowsSchema: true, validate: validator(Namespace) },
  'v1/PersistentVolumeClaim': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(PersistentVolumeClaim),
  },
  'v1/Service': { namespaced: true, kustomizeKnowsSchema: true, validate: validator(Service) },
  'v1/ServiceAccount': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(ServiceAccount),
  },
  'apps/v1/Deployment': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(Deployment),
  },
  'apps/v1/StatefulSet': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(StatefulSet),
  },
  'batch/v1/Job': { namespaced: true, kustomizeKnowsSchema: true, validate: validator(Job) },
  'networking.k8s.io/v1/NetworkPolicy': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(NetworkPolicy),
  },
  'policy/v1/PodDisruptionBudget': {
    namespaced: true,
    kustomizeKnowsSchema: true,
    validate: validator(PodDisruptionBudget),
  },
  'cert-manager.io/v1/Certificate': {
    namespaced: true,
    kustomizeKnowsSchema: false,
    validate: validator(Certificate),
  },
  'cert-manager.io/v1/Issuer': {
    namespaced: true,
    kustomizeKnowsSchema: false,
    validate: validator(Issuer),
  },
  'cert-manager.io/v1/ClusterIssuer': {
    namespaced: false,
    kustomizeKnowsSchema: false,
    validate: validator(ClusterIssuer),
  },
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

/** The API group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ``). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The version part of an apiVersion (`apps/v1` -> `v1`). */
export function apiVersionOnly(apiVersion: string): string {
  return apiVersion.slice(apiVersion.indexOf('/') + 1);
}

/** `Kind/namespace/name` (or `Kind/name` when cluster-scoped): how messages name an object. */
export function describeObject(object: KubernetesObject): string {
  const ns = object.metadata.namespace;
  return ns === undefined
    ? `${object.kind}/${object.metadata.name}`
    : `${object.kind}/${ns}/${object.metadata.name}`;
}
