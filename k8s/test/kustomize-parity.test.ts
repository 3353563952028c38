// The renderer against the real kustomize (v5, built into kubectl) on every kustomization of
// k8s/ and every valid renderer fixture: the same objects, field for field. The node-svc machine
// image (and so CI) has kubectl; elsewhere this suite is skipped and says why.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { VALID_FIXTURES, createFixtureWriter } from './internal/fixtures';
import { describeObject } from './internal/kinds';
import type { KubernetesObject } from './internal/kinds';
import { renderKustomization } from './internal/kustomize';
import { K8S_ROOT, KUSTOMIZATIONS } from './internal/layout';

const probe = spawnSync('kubectl', ['version', '--client', '--output=json'], {
  encoding: 'utf8',
  timeout: 30_000,
});
const kustomizeVersion =
  probe.status === 0
    ? (JSON.parse(probe.stdout) as { kustomizeVersion?: string }).kustomizeVersion
    : undefined;
const describeWithKubectl = kustomizeVersion?.startsWith('v5.') === true ? describe : describe.skip;
if (kustomizeVersion === undefined)
  console.warn('kustomize parity not checked: no kubectl with kustomize v5 on PATH');

function kubectlKustomize(dir: string): KubernetesObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(out).map((doc) => doc.toJS() as KubernetesObject);
}

/** Objects by identity, in a canonical JSON form (key order does not matter to Kubernetes). */
function byId(objects: readonly KubernetesObject[]): Map<string, unknown> {
  return new Map(
    objects.map((o) => [`${o.apiVersion} ${describeObject(o)}`, JSON.parse(JSON.stringify(o))]),
  );
}

function expectSameRender(dir: string): void {
  const ours = byId(renderKustomization(dir));
  const theirs = byId(kubectlKustomize(dir));
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [id, object] of ours) expect([id, object]).toEqual([id, theirs.get(id)]);
}

describeWithKubectl(`parity with kubectl kustomize (${kustomizeVersion ?? 'absent'})`, () => {
  const fixtures = createFixtureWriter();
  afterAll(() => fixtures.cleanup());

  test.each(KUSTOMIZATIONS.map((k) => k.dir))('k8s/%s', (dir) => {
    expectSameRender(join(K8S_ROOT, dir));
  });

  test.each(Object.keys(VALID_FIXTURES))('fixture %s', (name) => {
    const root = fixtures.write(name, VALID_FIXTURES[name]!);
    for (const sub of name === 'generators' ? ['base', 'overlay'] : [''])
      expectSameRender(join(root, sub));
  });
});
