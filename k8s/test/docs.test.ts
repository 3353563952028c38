// The operator docs link correctly: every link into k8s/ or deploy/ names a file or directory that exists,
// and every anchor into the integration guide, troubleshooting and alerts pages lands on a heading.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { K8S_ROOT } from './internal/layout';
import { headingAnchors } from './internal/markdown';

const DOCS = join(K8S_ROOT, '..', 'docs');
const OWN_DOCS = ['integration-guide.md', 'troubleshooting.md', 'alerts.md', 'containers.md'];
const ROOT = join(K8S_ROOT, '..');

test.each(OWN_DOCS)(
  'docs/%s: links into k8s/ and anchors into the operator docs resolve',
  (doc) => {
    const text = readFileSync(join(DOCS, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? join(DOCS, doc) : resolve(dirname(join(DOCS, doc)), path);
      if (
        target.startsWith(K8S_ROOT) ||
        target.startsWith(join(ROOT, 'deploy')) ||
        target === join(ROOT, '.dockerignore') ||
        OWN_DOCS.some((d) => target === join(DOCS, d)) ||
        target.startsWith(join(DOCS, 'alerts'))
      ) {
        expect([link, existsSync(target)]).toEqual([link, true]);
      }
      if (anchor !== undefined && OWN_DOCS.some((d) => target === join(DOCS, d))) {
        expect([link, headingAnchors(readFileSync(target, 'utf8')).has(anchor)]).toEqual([
          link,
          true,
        ]);
      }
    }
  },
);
