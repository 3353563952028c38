// The committed renders of k8s/rendered/ (written by `pnpm k8s:render` with kubectl kustomize):
// what every manifest test reads, so the rules judge exactly what kustomize produces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject } from './kinds';
import { K8S_ROOT } from './layout';

/** k8s/rendered/. */
export const RENDERED_DIR = join(K8S_ROOT, 'rendered');

/** The rendered file of a kustomization (`overlays/dev` -> `k8s/rendered/overlays-dev.yaml`). */
export function renderedFile(dir: string): string {
  return join(RENDERED_DIR, `${dir.replaceAll('/', '-')}.yaml`);
}

/** The objects of a kustomization's committed render, parsed as plain JSON values. */
export function loadRendered(dir: string): KubernetesObject[] {
  const text = readFileSync(renderedFile(dir), 'utf8');
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${renderedFile(dir)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as KubernetesObject;
  });
}
