// k8s/rendered/ is what `kubectl kustomize` makes of the kustomizations now: a change to a
// kustomization without `pnpm k8s:render` fails here (and so in CI).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { KUSTOMIZATIONS, K8S_ROOT } from './internal/layout';
import { RENDERED_DIR, renderedFile } from './internal/rendered';
import { describeWithTool, probeKubectl } from './internal/tools';

const SCRIPT = join(K8S_ROOT, 'scripts', 'render.js');

function check(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCRIPT, '--check', '--out', dir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('every kustomization has a committed render, and nothing else is in k8s/rendered/', () => {
  const expected = KUSTOMIZATIONS.map(({ dir }) => basename(renderedFile(dir))).sort();
  expect(readdirSync(RENDERED_DIR).sort()).toEqual(expected);
});

describeWithTool(probeKubectl(), 'k8s/rendered against kubectl kustomize', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sigil-rendered-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('the committed renders are current', () => {
    const { status, output } = check(RENDERED_DIR);
    expect([status, output]).toEqual([0, expect.stringContaining('rendered files are current')]);
  });

  test('a stale, a missing and an extra render are each reported', () => {
    const copy = join(scratch, 'broken');
    cpSync(RENDERED_DIR, copy, { recursive: true });
    writeFileSync(join(copy, 'overlays-dev.yaml'), '# edited by hand\n');
    unlinkSync(join(copy, 'control-plane.yaml'));
    writeFileSync(join(copy, 'overlays-old.yaml'), '');
    const { status, output } = check(copy);
    expect(status).toBe(1);
    expect(output).toContain('overlays-dev.yaml: stale');
    expect(output).toContain('control-plane.yaml: missing');
    expect(output).toContain('overlays-old.yaml: no kustomization renders it');
    expect(output).toContain('run `pnpm k8s:render`');
  });
});

test('without kubectl the render script says what to install (exit 2)', () => {
  const result = spawnSync(process.execPath, [SCRIPT, '--check'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/nonexistent' },
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('install kubectl with kustomize v5 (bash scripts/ci-tools.sh)');
});
