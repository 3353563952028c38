// Where the kustomizations live and how each is checked.
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The k8s/ directory. */
export const K8S_ROOT = resolve(__dirname, '..', '..');

/** One kustomization of k8s/ and the rule profile it is deployed with (none: a building block). */
export interface KustomizationUnderTest {
  dir: string;
  profile?: 'workloads' | 'control-plane';
}

/** Every kustomization in k8s/; the manifests test fails when one exists that is not listed here. */
export const KUSTOMIZATIONS: readonly KustomizationUnderTest[] = [
  { dir: 'cert-manager' },
  { dir: 'base' },
  { dir: 'overlays/dev', profile: 'workloads' },
  { dir: 'overlays/prod', profile: 'workloads' },
  { dir: 'control-plane', profile: 'control-plane' },
  { dir: 'tunneler', profile: 'control-plane' },
  { dir: 'overlays/control-plane-dev', profile: 'control-plane' },
  { dir: 'overlays/control-plane-prod', profile: 'control-plane' },
];

/** The directories under k8s/ holding a kustomization.yaml, relative to k8s/. */
export function findKustomizations(dir = K8S_ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (
      entry.isDirectory() &&
      !['node_modules', 'test', 'rendered', 'scripts'].includes(entry.name)
    )
      found.push(...findKustomizations(join(dir, entry.name)));
    else if (entry.isFile() && entry.name === 'kustomization.yaml')
      found.push(relative(K8S_ROOT, dir));
  }
  return found.sort();
}
