// The strict kustomize renderer: what it renders for each feature, and what it refuses.
import { join } from 'node:path';
import { isSigilError } from '@sigil/errors';
import { INVALID_FIXTURES, VALID_FIXTURES, createFixtureWriter } from './internal/fixtures';
import type { KubernetesObject } from './internal/kinds';
import { configMapNameHash, renderKustomization } from './internal/kustomize';
import type { Loose } from './internal/loose';

const fixtures = createFixtureWriter();
afterAll(() => fixtures.cleanup());

function render(name: keyof typeof VALID_FIXTURES, subdir = ''): KubernetesObject[] {
  return renderKustomization(join(fixtures.write(name, VALID_FIXTURES[name]!), subdir));
}
function get(objects: KubernetesObject[], kind: string, namePrefix: string): Loose {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.startsWith(namePrefix));
  if (found === undefined) throw new Error(`no ${kind}/${namePrefix}`);
  return found;
}

test('strategic merge: containers, env and volumes merge by key; null deletes; custom-resource lists are replaced', () => {
  const objects = render('strategic-merge');
  const deployment = get(objects, 'Deployment', 'web');
  expect(deployment.metadata.name).toBe('web');
  expect(deployment.spec.revisionHistoryLimit).toBeUndefined();
  const [app, sidecar] = deployment.spec.template.spec.containers;
  // kustomize's order: the patch's elements, then the ones only the target had.
  expect(app.env).toEqual([
    { name: 'B', value: '3' },
    { name: 'C', value: '4' },
    { name: 'A', value: '1' },
  ]);
  expect(app.resources).toEqual({ limits: { memory: '64Mi' } });
  expect(app.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
  expect(sidecar.name).toBe('sidecar');
  expect(deployment.spec.template.spec.volumes.map((v: Loose) => v.name)).toEqual([
    'tmp',
    'config',
  ]);
  expect(deployment.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
  const certificate = get(objects, 'Certificate', 'web');
  expect(certificate.metadata.name).toBe('web');
  expect(certificate.spec.uris).toEqual(['spiffe://prod.example.org/svc/web']);
  expect(certificate.spec.privateKey).toEqual({
    algorithm: 'ECDSA',
    size: 256,
    rotationPolicy: 'Always',
  });
});

test('JSON 6902: add, replace and remove on every object the label selector picks', () => {
  const deployment = get(render('json6902'), 'Deployment', 'web');
  expect(deployment.spec.replicas).toBe(5);
  expect(deployment.spec.revisionHistoryLimit).toBeUndefined();
  expect(deployment.spec.template.spec.containers[0].env.at(-1)).toEqual({
    name: 'LOG_LEVEL',
    value: 'debug',
  });
});

test('configMapGenerator: files become data, the name gets the content hash, references follow, replace keeps identity', () => {
  const base = render('generators', 'base');
  const configMap = get(base, 'ConfigMap', 'web-config-');
  expect(configMap.metadata.namespace).toBe('apps');
  expect(configMap.data).toEqual({
    'settings.yaml': 'greeting: "<héllo> & goodbye"\nlist:\n  - 1\n',
    'extra.txt': 'tab\there\n',
  });
  expect(configMap.metadata.name).toBe(
    `web-config-${configMapNameHash(configMap as KubernetesObject)}`,
  );
  const pod = get(base, 'Deployment', 'web').spec.template.spec;
  expect(pod.volumes[0].configMap.name).toBe(configMap.metadata.name);
  expect(pod.containers[0].envFrom[0].configMapRef.name).toBe(configMap.metadata.name);

  const overlay = render('generators', 'overlay');
  const replaced = get(overlay, 'ConfigMap', 'web-config-');
  expect(replaced.data).toEqual({ 'settings.yaml': 'greeting: replaced\n' });
  expect(replaced.metadata.namespace).toBe('apps');
  expect(replaced.metadata.name).not.toBe(configMap.metadata.name);
  expect(get(overlay, 'Deployment', 'web').spec.template.spec.volumes[0].configMap.name).toBe(
    replaced.metadata.name,
  );
});

test("the name hash is kustomize's: it depends on the data only (kustomize hashes an empty name)", () => {
  // Vectors computed by kustomize v5.5 (`kubectl kustomize`) for a generated ConfigMap.
  const hash = (name: string, data: Record<string, string>): string =>
    configMapNameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
  expect(hash('cm', { a: 'x' })).toBe('5642bm9b6f');
  expect(hash('another-name', { a: 'x' })).toBe('5642bm9b6f');
  expect(hash('cm', { a: 'y' })).not.toBe('5642bm9b6f');
});

test('namespace, labels, replicas and images', () => {
  const objects = render('transformers');
  const namespace = get(objects, 'Namespace', 'team');
  expect(namespace.metadata).toEqual({
    name: 'team',
    labels: { 'app.kubernetes.io/part-of': 'demo' },
  });
  const deployment = get(objects, 'Deployment', 'web');
  expect(deployment.metadata.namespace).toBe('team');
  expect(deployment.metadata.labels).toEqual({
    'app.kubernetes.io/name': 'web',
    'app.kubernetes.io/part-of': 'demo',
  });
  expect(deployment.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'web' } });
  expect(deployment.spec.template.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'web' });
  expect(deployment.spec.replicas).toBe(4);
  expect(deployment.spec.template.spec.containers.map((c: Loose) => c.image)).toEqual([
    'registry.example/web:1.2.3',
    'registry.example:5000/tools/sidecar@sha256:0000000000000000000000000000000000000000000000000000000000000000',
  ]);
  expect(get(objects, 'Service', 'web').metadata.namespace).toBe('team');
});

test.each(Object.entries(INVALID_FIXTURES))('refuses: %s', (name, { files, code, message }) => {
  const dir = fixtures.write(`invalid-${name.replace(/\W+/g, '-')}`, files);
  let error: unknown;
  try {
    renderKustomization(dir);
  } catch (err) {
    error = err;
  }
  expect(isSigilError(error)).toBe(true);
  expect(error).toMatchObject({ code, message: expect.stringContaining(message) });
});
