// A small, strict kustomize: exactly the features Sigil's manifests use, with kustomize v5's
// semantics, and a loud ERR_KUSTOMIZE_UNSUPPORTED for anything else, so that it can never
// render something different from `kubectl kustomize` without failing first. Where kubectl is
// installed, kustomize-parity.test.ts compares the two on every kustomization in k8s/.
//
// Supported kustomization fields: resources (files and directories), namespace, labels (pairs
// only: metadata labels), patches (with a target; strategic merge or JSON 6902 add/replace/remove),
// configMapGenerator (files; behavior create or replace), replicas, images (newName, newTag, digest).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SigilError } from '@sigil/errors';
import { applyPatch } from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { apiGroup, apiVersionOnly, describeObject, kindInfo, kindKey } from './kinds';
import type { KubernetesObject } from './kinds';

/** One rendered object and where it came from. */
interface Entry {
  object: KubernetesObject;
  /** The file (or generator) that produced it, for messages. */
  origin: string;
  /** Generated ConfigMaps get a content-hash name suffix at the end of the build. */
  hashSuffix: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const KUSTOMIZATION_FILE = 'kustomization.yaml';
const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'patches',
  'configMapGenerator',
  'replicas',
  'images',
]);
const JSON6902_OPS = new Set(['add', 'replace', 'remove']);
const SCALABLE_KINDS = new Set(['apps/v1/Deployment', 'apps/v1/StatefulSet']);
const POD_TEMPLATE_KINDS = new Set(['apps/v1/Deployment', 'apps/v1/StatefulSet', 'batch/v1/Job']);

/**
 * Patch merge keys of the lists our strategic-merge patches may touch in built-in kinds (from the
 * Kubernetes OpenAPI `x-kubernetes-patch-merge-key`). A patch that reaches any other list of maps
 * that already exists is refused rather than guessed.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  'spec.template.spec.containers': 'name',
  'spec.template.spec.initContainers': 'name',
  'spec.template.spec.containers[].env': 'name',
  'spec.template.spec.initContainers[].env': 'name',
  'spec.template.spec.containers[].ports': 'containerPort',
  'spec.template.spec.containers[].volumeMounts': 'mountPath',
  'spec.template.spec.initContainers[].volumeMounts': 'mountPath',
  'spec.template.spec.volumes': 'name',
  'spec.template.spec.topologySpreadConstraints': 'topologyKey',
};

/** Renders the kustomization in `dir` like `kubectl kustomize dir` (kustomize v5). */
export function renderKustomization(dir: string): KubernetesObject[] {
  const entries = build(resolve(dir), []);
  addHashSuffixes(entries);
  return entries.map((e) => e.object);
}

function unsupported(where: string, what: string): SigilError {
  return new SigilError(
    'ERR_KUSTOMIZE_UNSUPPORTED',
    `${where}: ${what} is not supported by Sigil's kustomize renderer (k8s/test/internal/kustomize.ts); extend it together with its parity test, or express this differently`,
    { details: { where } },
  );
}

function invalid(where: string, what: string): SigilError {
  return new SigilError('ERR_KUSTOMIZE_INVALID', `${where}: ${what}`, { details: { where } });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function parseYamlVersion(text: string, source: string, version: '1.1' | '1.2'): Json[] {
  const docs = parseAllDocuments(text, {
    version,
    uniqueKeys: true,
    merge: false,
    prettyErrors: true,
  });
  if (!Array.isArray(docs)) throw invalid(source, 'no YAML document');
  const values: Json[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0)
      throw invalid(source, `invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    if (doc.warnings.length > 0)
      throw invalid(source, `suspicious YAML: ${doc.warnings.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 0 }) as Json;
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

/**
 * Parses every YAML document in `text`, refusing duplicate keys, aliases and any plain scalar
 * that YAML 1.1 and 1.2 read differently (`yes`, `n`, `0440`, dates...): kustomize reads
 * kustomization files as YAML 1.1 and resources as YAML 1.2, so such a scalar means whatever
 * the reader decides. Quote it (or write octal modes in decimal).
 */
function parseYamlDocuments(text: string, source: string): Json[] {
  const values = parseYamlVersion(text, source, '1.2');
  if (!isDeepStrictEqual(values, parseYamlVersion(text, source, '1.1')))
    throw invalid(
      source,
      'a plain scalar reads differently in YAML 1.1 and 1.2 (yes/no/on/off/y/n, leading-zero numbers, dates, 1:30): quote it',
    );
  return values;
}

/** A path inside the kustomization root (kustomize's default load restrictor). */
function fileInRoot(root: string, file: string, field: string): string {
  const full = resolve(root, file);
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw invalid(
      join(root, KUSTOMIZATION_FILE),
      `${field} "${file}" is outside the kustomization root (kustomize's load restrictor refuses it)`,
    );
  return full;
}

function toKubernetesObject(value: Json, source: string): KubernetesObject {
  if (!isObject(value)) throw invalid(source, 'a document is not a mapping');
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string')
    throw invalid(source, 'a document has no apiVersion/kind');
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '')
    throw invalid(source, `${kind} has no metadata.name`);
  if (kind === 'List' || kind.endsWith('List')) throw unsupported(source, `kind ${kind}`);
  const object = value as unknown as KubernetesObject;
  if (kindInfo(object) === undefined)
    throw unsupported(source, `kind ${kindKey(object)} (add it to k8s/test/internal/kinds.ts)`);
  return object;
}

function sameId(a: KubernetesObject, b: KubernetesObject): boolean {
  return (
    kindKey(a) === kindKey(b) &&
    a.metadata.name === b.metadata.name &&
    (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '')
  );
}

function add(entries: Entry[], entry: Entry): void {
  const clash = entries.find((e) => sameId(e.object, entry.object));
  if (clash !== undefined)
    throw invalid(
      entry.origin,
      `${describeObject(entry.object)} is already defined by ${clash.origin}`,
    );
  entries.push(entry);
}

function stringList(value: Json | undefined, where: string, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalid(where, `${field} must be a list of strings`);
  return value as string[];
}

function objectList(
  value: Json | undefined,
  where: string,
  field: string,
  allowed: readonly string[],
): JsonObject[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isObject))
    throw invalid(where, `${field} must be a list of mappings`);
  for (const item of value as JsonObject[]) {
    for (const key of Object.keys(item))
      if (!allowed.includes(key)) throw unsupported(where, `${field}[].${key}`);
  }
  return value as JsonObject[];
}

function stringMap(value: Json | undefined, where: string, field: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string'))
    throw invalid(where, `${field} must map strings to strings`);
  return value as Record<string, string>;
}

function loadKustomization(dir: string): JsonObject {
  const file = join(dir, KUSTOMIZATION_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_KUSTOMIZE_INVALID',
      `${dir}: no ${KUSTOMIZATION_FILE} (${(cause as Error).message})`,
      { cause, details: { where: dir } },
    );
  }
  const docs = parseYamlDocuments(text, file);
  const k = docs[0];
  if (docs.length !== 1 || !isObject(k)) throw invalid(file, 'expected exactly one mapping');
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    throw unsupported(
      file,
      `${String(k.apiVersion)} ${String(k.kind)} (only kustomize.config.k8s.io/v1beta1 Kustomization)`,
    );
  for (const field of Object.keys(k))
    if (!KUSTOMIZATION_FIELDS.has(field)) throw unsupported(file, `the field "${field}"`);
  return k;
}

function build(dir: string, stack: readonly string[]): Entry[] {
  if (stack.includes(dir))
    throw invalid(dir, `kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  const k = loadKustomization(dir);
  const file = join(dir, KUSTOMIZATION_FILE);
  const entries: Entry[] = [];

  for (const resource of stringList(k.resources, file, 'resources')) {
    if (/^[a-z]+:\/\//.test(resource) || resource.includes('?ref='))
      throw unsupported(file, `remote resource "${resource}"`);
    const path = resolve(dir, resource);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw invalid(file, `resource "${resource}" does not exist`);
    }
    if (isDir) {
      for (const entry of build(path, [...stack, dir])) add(entries, entry);
    } else {
      const source = fileInRoot(dir, resource, 'resource');
      for (const doc of parseYamlDocuments(readFileSync(source, 'utf8'), source))
        add(entries, {
          object: toKubernetesObject(doc, source),
          origin: source,
          hashSuffix: false,
        });
    }
  }

  for (const generator of objectList(k.configMapGenerator, file, 'configMapGenerator', [
    'name',
    'namespace',
    'behavior',
    'files',
  ]))
    generateConfigMap(entries, generator, dir, file);
  for (const patch of objectList(k.patches, file, 'patches', ['path', 'patch', 'target']))
    applyPatchEntry(entries, patch, dir, file);
  if (k.namespace !== undefined) setNamespace(entries, k.namespace, file);
  for (const label of objectList(k.labels, file, 'labels', [
    'pairs',
    'includeSelectors',
    'includeTemplates',
  ]))
    addLabels(entries, label, file);
  for (const replica of objectList(k.replicas, file, 'replicas', ['name', 'count']))
    setReplicas(entries, replica, file);
  for (const image of objectList(k.images, file, 'images', ['name', 'newName', 'newTag', 'digest']))
    setImage(entries, image, file);
  return entries;
}

// --- configMapGenerator -------------------------------------------------------------------------

function generateConfigMap(
  entries: Entry[],
  generator: JsonObject,
  dir: string,
  file: string,
): void {
  const { name, namespace, behavior = 'create' } = generator;
  if (typeof name !== 'string' || name === '')
    throw invalid(file, 'configMapGenerator[].name is required');
  if (namespace !== undefined && typeof namespace !== 'string')
    throw invalid(file, `configMapGenerator ${name}: namespace must be a string`);
  if (behavior !== 'create' && behavior !== 'replace')
    throw unsupported(file, `configMapGenerator ${name}: behavior "${String(behavior)}"`);
  const data: Record<string, string> = {};
  for (const spec of stringList(generator.files, file, `configMapGenerator ${name}: files`)) {
    const eq = spec.indexOf('=');
    const key = eq === -1 ? basename(spec) : spec.slice(0, eq);
    const path = fileInRoot(
      dir,
      eq === -1 ? spec : spec.slice(eq + 1),
      `configMapGenerator ${name}: file`,
    );
    if (!/^[-._a-zA-Z0-9]+$/.test(key))
      throw invalid(file, `configMapGenerator ${name}: "${key}" is not a valid ConfigMap key`);
    if (key in data) throw invalid(file, `configMapGenerator ${name}: key "${key}" appears twice`);
    data[key] = readFileSync(path, 'utf8');
  }
  if (Object.keys(data).length === 0) throw invalid(file, `configMapGenerator ${name}: no files`);
  const origin = `${file} (configMapGenerator ${name})`;
  const object: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    data,
  };

  if (behavior === 'create') {
    add(entries, { object, origin, hashSuffix: true });
    return;
  }
  const matches = entries.filter(
    (e) =>
      kindKey(e.object) === 'v1/ConfigMap' &&
      e.object.metadata.name === name &&
      (namespace === undefined || e.object.metadata.namespace === namespace),
  );
  if (matches.length !== 1)
    throw invalid(
      file,
      `configMapGenerator ${name} (behavior replace) matches ${matches.length} ConfigMaps, expected exactly one`,
    );
  const old = matches[0]!;
  // kustomize keeps the old object's metadata (name, namespace, labels, annotations) and
  // replaces its data.
  old.object = { ...object, metadata: { ...old.object.metadata } };
  old.origin = origin;
}

/**
 * kustomize's hasher (api/hasher): sha256 over Go's json.Marshal of {data, kind, name}, the first
 * 10 hex digits re-lettered. The name is always empty: kustomize looks up "metadata/name" as a
 * single field name, finds nothing and hashes "", so the suffix depends on the data alone.
 */
export function configMapNameHash(configMap: KubernetesObject): string {
  const data = configMap.data === undefined ? '' : configMap.data;
  if (configMap.binaryData !== undefined)
    throw unsupported(describeObject(configMap), 'binaryData');
  const json = goJsonMarshal({ data: data as Json, kind: 'ConfigMap', name: '' });
  const hex = createHash('sha256').update(json, 'utf8').digest('hex').slice(0, 10);
  return hex.replace(/[013ae]/g, (c) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[c as '0']);
}

/** Go's encoding/json output for strings and string maps: sorted keys, HTML-safe escapes. */
function goJsonMarshal(value: Json): string {
  if (typeof value === 'string') {
    // Go (before 1.22) and JavaScript escape \b and \f differently: refuse control characters
    // rather than guess which Go built kustomize.
    if (
      [...value].some((c) => (c < ' ' && c !== '\t' && c !== '\n' && c !== '\r') || c === '\u007f')
    )
      throw unsupported('configMapGenerator', 'control characters in data');
    return JSON.stringify(value).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${goJsonMarshal(key)}:${goJsonMarshal(value[key]!)}`)
      .join(',')}}`;
  }
  throw unsupported('configMapGenerator', `hashing a ${typeof value}`);
}

/** The last step of a build: suffix generated names with their hash, then fix references to them. */
function addHashSuffixes(entries: Entry[]): void {
  for (const entry of entries.filter((e) => e.hashSuffix)) {
    const cm = entry.object;
    const oldName = cm.metadata.name;
    const newName = `${oldName}-${configMapNameHash(cm)}`;
    cm.metadata.name = newName;
    for (const other of entries) {
      if (other === entry) continue;
      renameConfigMapReferences(other.object, oldName, newName, cm.metadata.namespace);
      const leftover = findString(other.object, oldName);
      if (leftover !== undefined)
        throw unsupported(
          other.origin,
          `a reference to the generated ConfigMap ${oldName} at ${describeObject(other.object)} ${leftover} (only pod volumes, env and envFrom are renamed)`,
        );
    }
  }
}

function podSpecOf(object: KubernetesObject): JsonObject | undefined {
  if (!POD_TEMPLATE_KINDS.has(kindKey(object))) return undefined;
  const spec = (object as unknown as JsonObject).spec;
  const template = isObject(spec) ? spec.template : undefined;
  const podSpec = isObject(template) ? template.spec : undefined;
  return isObject(podSpec) ? podSpec : undefined;
}

function renameConfigMapReferences(
  object: KubernetesObject,
  oldName: string,
  newName: string,
  namespace: string | undefined,
): void {
  if ((object.metadata.namespace ?? '') !== (namespace ?? '')) return;
  const podSpec = podSpecOf(object);
  if (podSpec === undefined) return;
  const rename = (holder: Json | undefined): void => {
    if (isObject(holder) && holder.name === oldName) holder.name = newName;
  };
  for (const volume of (podSpec.volumes ?? []) as JsonObject[]) {
    rename(volume.configMap);
    const projected = volume.projected;
    if (isObject(projected))
      for (const source of (projected.sources ?? []) as JsonObject[]) rename(source.configMap);
  }
  for (const container of [
    ...((podSpec.containers ?? []) as JsonObject[]),
    ...((podSpec.initContainers ?? []) as JsonObject[]),
  ]) {
    for (const env of (container.env ?? []) as JsonObject[])
      if (isObject(env.valueFrom)) rename(env.valueFrom.configMapKeyRef);
    for (const envFrom of (container.envFrom ?? []) as JsonObject[]) rename(envFrom.configMapRef);
  }
}

/** The path of the first string value equal to `needle`, if any. */
function findString(value: unknown, needle: string, path = ''): string | undefined {
  if (value === needle) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findString(value[i], needle, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = findString(item, needle, `${path}.${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

// --- patches ------------------------------------------------------------------------------------

interface Target {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: Record<string, string>;
}

function parseTarget(value: Json | undefined, file: string): Target {
  if (value === undefined)
    throw unsupported(file, 'a patch without target (name the target explicitly)');
  if (!isObject(value)) throw invalid(file, 'patches[].target must be a mapping');
  const target: Target = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== 'string') throw invalid(file, `patches[].target.${key} must be a string`);
    switch (key) {
      case 'group':
      case 'version':
      case 'kind':
      case 'namespace':
        target[key] = raw;
        break;
      case 'name':
        // kustomize matches target names as anchored regular expressions: allow only literal names.
        if (!/^[a-z0-9-]+$/.test(raw))
          throw unsupported(file, `target name "${raw}" (only literal names)`);
        target.name = raw;
        break;
      case 'labelSelector':
        target.labelSelector = {};
        for (const term of raw.split(',')) {
          const match = /^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$/.exec(term.trim());
          if (match === null)
            throw unsupported(file, `label selector term "${term}" (only key=value)`);
          target.labelSelector[match[1]!] = match[2]!;
        }
        break;
      default:
        throw unsupported(file, `patches[].target.${key}`);
    }
  }
  return target;
}

function matchesTarget(object: KubernetesObject, target: Target): boolean {
  const labels = object.metadata.labels ?? {};
  return (
    (target.group === undefined || apiGroup(object.apiVersion) === target.group) &&
    (target.version === undefined || apiVersionOnly(object.apiVersion) === target.version) &&
    (target.kind === undefined || object.kind === target.kind) &&
    (target.name === undefined || object.metadata.name === target.name) &&
    (target.namespace === undefined || object.metadata.namespace === target.namespace) &&
    Object.entries(target.labelSelector ?? {}).every(([k, v]) => labels[k] === v)
  );
}

function applyPatchEntry(entries: Entry[], spec: JsonObject, dir: string, file: string): void {
  const target = parseTarget(spec.target, file);
  let text: string;
  let where: string;
  if (typeof spec.path === 'string' && spec.patch === undefined) {
    where = fileInRoot(dir, spec.path, 'patch');
    text = readFileSync(where, 'utf8');
  } else if (typeof spec.patch === 'string' && spec.path === undefined) {
    where = `${file} (inline patch)`;
    text = spec.patch;
  } else {
    throw invalid(file, 'each patch needs exactly one of path or patch');
  }
  const docs = parseYamlDocuments(text, where);
  if (docs.length !== 1) throw unsupported(where, 'a patch with several documents');
  const patch = docs[0]!;
  const selected = entries.filter((e) => matchesTarget(e.object, target));
  // kustomize silently skips a target that matches nothing; a typo must not pass here.
  if (selected.length === 0)
    throw invalid(where, `the patch target ${JSON.stringify(spec.target)} matches no object`);
  for (const entry of selected) {
    entry.object = Array.isArray(patch)
      ? applyJson6902(entry.object, patch, where)
      : applyStrategicMerge(entry.object, patch, where);
  }
}

function applyJson6902(object: KubernetesObject, ops: Json[], where: string): KubernetesObject {
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || !JSON6902_OPS.has(op.op))
      throw unsupported(
        where,
        `JSON patch operation ${JSON.stringify(isObject(op) ? op.op : op)} (only add, replace, remove)`,
      );
  }
  try {
    return applyPatch(clone(object), ops as unknown as Operation[], true, true).newDocument;
  } catch (cause) {
    throw new SigilError(
      'ERR_KUSTOMIZE_INVALID',
      `${where}: cannot apply to ${describeObject(object)}: ${(cause as Error).message.split('\n')[0]}`,
      { cause, details: { where } },
    );
  }
}

function applyStrategicMerge(
  object: KubernetesObject,
  patch: Json,
  where: string,
): KubernetesObject {
  if (!isObject(patch)) throw invalid(where, 'a strategic merge patch must be a mapping');
  if (patch.apiVersion !== object.apiVersion || patch.kind !== object.kind)
    throw invalid(
      where,
      `patch ${String(patch.apiVersion)} ${String(patch.kind)} applied to ${kindKey(object)} ${object.metadata.name}`,
    );
  const info = kindInfo(object)!;
  const { name, namespace } = object.metadata;
  const merged = mergeValue(
    clone(object) as unknown as Json,
    patch,
    '',
    info.kustomizeKnowsSchema,
    where,
  ) as unknown as KubernetesObject;
  // With a target, the patch's own name is only a placeholder: kustomize restores the target's.
  merged.metadata.name = name;
  if (namespace === undefined) delete merged.metadata.namespace;
  else merged.metadata.namespace = namespace;
  return merged;
}

function mergeValue(
  dest: Json | undefined,
  src: Json,
  path: string,
  schemaKnown: boolean,
  where: string,
): Json {
  if (isObject(src)) {
    const result: JsonObject = isObject(dest) ? dest : {};
    for (const [key, value] of Object.entries(src)) {
      if (key.startsWith('$')) throw unsupported(where, `the strategic merge directive ${key}`);
      const child = path === '' ? key : `${path}.${key}`;
      if (value === null) delete result[key];
      else result[key] = mergeValue(result[key], value, child, schemaKnown, where);
    }
    return result;
  }
  if (Array.isArray(src)) {
    if (!Array.isArray(dest) || dest.length === 0) return src;
    if (src.every((item) => !isObject(item) && !Array.isArray(item))) {
      // Lists of scalars: replaced (none of the scalar lists we patch has a merge strategy).
      return src;
    }
    const mergeKey = schemaKnown ? MERGE_KEYS[path] : undefined;
    if (mergeKey === undefined) throw unsupported(where, `merging the existing list ${path}`);
    // kustomize's order: the patch's elements first (merged into their counterparts), then the
    // elements only the target has, each group in its own order.
    const keyOf = (item: Json): Json => (isObject(item) ? (item[mergeKey] ?? null) : null);
    for (const item of [...src, ...dest]) {
      if (keyOf(item) === null)
        throw invalid(where, `an element of ${path} lacks its merge key ${mergeKey}`);
    }
    const merged = src.map((item) => {
      const counterpart = dest.find((d) => keyOf(d) === keyOf(item));
      return counterpart === undefined
        ? item
        : mergeValue(counterpart, item, `${path}[]`, schemaKnown, where);
    });
    return [...merged, ...dest.filter((d) => !src.some((item) => keyOf(item) === keyOf(d)))];
  }
  return src;
}

// --- namespace, labels, replicas, images --------------------------------------------------------

function setNamespace(entries: Entry[], namespace: Json, file: string): void {
  if (typeof namespace !== 'string' || namespace === '')
    throw invalid(file, 'namespace must be a non-empty string');
  for (const { object, origin } of entries) {
    const info = kindInfo(object)!;
    if (!info.kustomizeKnowsSchema && !info.namespaced) {
      // kustomize does not know this custom resource is cluster-scoped and would give it a namespace.
      throw invalid(
        origin,
        `${describeObject(object)} is cluster-scoped but kustomize would set namespace ${namespace} on it; keep it in a kustomization without namespace:`,
      );
    }
    if (kindKey(object).startsWith('rbac.authorization.k8s.io/'))
      throw unsupported(origin, 'RBAC objects under a namespace transformer');
    if (info.namespaced) object.metadata.namespace = namespace;
  }
}

function addLabels(entries: Entry[], label: JsonObject, file: string): void {
  if (label.includeSelectors === true || label.includeTemplates === true)
    throw unsupported(file, 'labels with includeSelectors or includeTemplates');
  const pairs = stringMap(label.pairs, file, 'labels[].pairs');
  for (const { object } of entries)
    object.metadata.labels = { ...object.metadata.labels, ...pairs };
}

function setReplicas(entries: Entry[], replica: JsonObject, file: string): void {
  const { name, count } = replica;
  if (
    typeof name !== 'string' ||
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 0
  )
    throw invalid(file, 'replicas[] needs a name and a whole count');
  const targets = entries.filter(
    (e) => SCALABLE_KINDS.has(kindKey(e.object)) && e.object.metadata.name === name,
  );
  if (targets.length === 0)
    throw invalid(file, `replicas: no Deployment or StatefulSet named ${name}`);
  for (const { object } of targets)
    (object as unknown as { spec: JsonObject }).spec.replicas = count;
}

/** Splits `registry:5000/repo/name:tag@sha256:...` into name, tag and digest. */
function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const rest = at === -1 ? image : image.slice(0, at);
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/'))
    return {
      name: rest.slice(0, colon),
      tag: rest.slice(colon + 1),
      ...(digest === undefined ? {} : { digest }),
    };
  return { name: rest, ...(digest === undefined ? {} : { digest }) };
}

function setImage(entries: Entry[], image: JsonObject, file: string): void {
  const { name, newName, newTag, digest } = image;
  if (typeof name !== 'string') throw invalid(file, 'images[].name is required');
  if (newTag !== undefined && digest !== undefined)
    throw unsupported(file, `images ${name}: both newTag and digest`);
  for (const value of [newName, newTag, digest])
    if (value !== undefined && typeof value !== 'string')
      throw invalid(file, `images ${name}: newName, newTag and digest are strings`);
  let matched = 0;
  for (const { object, origin } of entries) {
    const podSpec = podSpecOf(object);
    for (const container of [
      ...((podSpec?.containers ?? []) as JsonObject[]),
      ...((podSpec?.initContainers ?? []) as JsonObject[]),
    ]) {
      if (typeof container.image !== 'string')
        throw invalid(
          origin,
          `${describeObject(object)}: container ${String(container.name)} has no image`,
        );
      const current = splitImage(container.image);
      if (current.name !== name) continue;
      matched++;
      const repo = (newName as string | undefined) ?? current.name;
      if (digest !== undefined) container.image = `${repo}@${digest as string}`;
      else if (newTag !== undefined) container.image = `${repo}:${newTag as string}`;
      else
        container.image = `${repo}${current.tag === undefined ? '' : `:${current.tag}`}${current.digest === undefined ? '' : `@${current.digest}`}`;
    }
    if (podSpec === undefined && findKey(object, 'image'))
      throw unsupported(
        origin,
        `an image field outside a pod template in ${describeObject(object)}`,
      );
  }
  if (matched === 0) throw invalid(file, `images: no container uses ${name}`);
}

function findKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => findKey(v, key));
  if (isObject(value)) return Object.entries(value).some(([k, v]) => k === key || findKey(v, key));
  return false;
}
