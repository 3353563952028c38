#!/usr/bin/env node
// Renders every kustomization under k8s/ with the real kustomize (`kubectl kustomize`, kustomize
// v5) into k8s/rendered/<dir, slashes as dashes>.yaml: the files the manifest tests read and
// reviewers diff.
//
//   node k8s/scripts/render.js                 rewrite k8s/rendered/ (`pnpm k8s:render`)
//   node k8s/scripts/render.js --check         exit 1 when a committed render is stale, missing or extra
//   node k8s/scripts/render.js --check --out D compare against directory D instead of k8s/rendered/
//
// Exit 2: no kubectl with kustomize v5 on PATH (scripts/ci-tools.sh installs one).
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const K8S_ROOT = path.resolve(__dirname, '..');
const SKIP = new Set(['node_modules', 'test', 'rendered', 'scripts']);

/** The directories under k8s/ holding a kustomization.yaml, relative to k8s/, sorted. */
function findKustomizations(dir = K8S_ROOT) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !SKIP.has(entry.name))
      found.push(...findKustomizations(path.join(dir, entry.name)));
    else if (entry.isFile() && entry.name === 'kustomization.yaml')
      found.push(path.relative(K8S_ROOT, dir).split(path.sep).join('/'));
  }
  return found.sort();
}

/** The kustomize version built into the kubectl on PATH, or an explanation of why there is none. */
function kustomizeVersion() {
  const probe = spawnSync('kubectl', ['version', '--client', '--output=json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (probe.error !== undefined || probe.status !== 0)
    return { error: `kubectl is not runnable (${probe.error?.message ?? probe.stderr.trim()})` };
  const version = JSON.parse(probe.stdout).kustomizeVersion;
  if (typeof version !== 'string' || !version.startsWith('v5.'))
    return { error: `kubectl embeds kustomize ${String(version)}, not v5` };
  return { version };
}

function render(dir) {
  const result = spawnSync('kubectl', ['kustomize', path.join(K8S_ROOT, dir)], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`kubectl kustomize k8s/${dir} failed: ${result.stderr.trim()}`);
  return (
    `# Rendered from k8s/${dir} by \`pnpm k8s:render\` (kubectl kustomize). Do not edit: change\n` +
    `# the kustomization and re-render; k8s/test/render.test.ts fails while this file is stale.\n` +
    result.stdout
  );
}

function main(argv) {
  const check = argv.includes('--check');
  const outIndex = argv.indexOf('--out');
  const out = outIndex === -1 ? path.join(K8S_ROOT, 'rendered') : path.resolve(argv[outIndex + 1]);
  const kustomize = kustomizeVersion();
  if (kustomize.error !== undefined) {
    process.stderr.write(
      `k8s render: ${kustomize.error}; install kubectl with kustomize v5 (bash scripts/ci-tools.sh)\n`,
    );
    return 2;
  }
  const expected = new Map(
    findKustomizations().map((dir) => [`${dir.replaceAll('/', '-')}.yaml`, render(dir)]),
  );
  if (!check) {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    for (const [file, text] of expected) fs.writeFileSync(path.join(out, file), text);
    process.stdout.write(
      `k8s render: wrote ${expected.size} files to ${path.relative(process.cwd(), out) || '.'} (kustomize ${kustomize.version})\n`,
    );
    return 0;
  }
  const present = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.endsWith('.yaml')) : [];
  const problems = [];
  for (const [file, text] of expected) {
    const target = path.join(out, file);
    if (!fs.existsSync(target)) problems.push(`${file}: missing`);
    else if (fs.readFileSync(target, 'utf8') !== text) problems.push(`${file}: stale`);
  }
  for (const file of present)
    if (!expected.has(file)) problems.push(`${file}: no kustomization renders it`);
  if (problems.length > 0) {
    process.stderr.write(
      `k8s render: ${problems.length} rendered file(s) differ from kubectl kustomize (kustomize ${kustomize.version}); run \`pnpm k8s:render\` and commit:\n` +
        problems.map((p) => `  ${p}\n`).join(''),
    );
    return 1;
  }
  process.stdout.write(
    `k8s render: ${expected.size} rendered files are current (kustomize ${kustomize.version})\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
