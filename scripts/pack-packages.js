#!/usr/bin/env node
// pnpm pack:packages [--out <dir>]: one installable tarball per public workspace package.
//
// The public packages are read from the workspace (`pnpm ls -r`: every package that is not
// `private`), never from a list kept here. Each is packed with `pnpm pack`, which rewrites
// `workspace:*` to real version ranges (`npm pack` would not), and each tarball is checked before
// it counts as installable: README.md and LICENSE present, no `workspace:` range left, `engines`,
// `repository.directory` and `license` set, and every source map's sources shipped with it.
'use strict';

const { execFile, execFileSync } = require('node:child_process');
const { promisify } = require('node:util');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** @returns {{ name: string, version: string, dir: string }[]} the workspace's public packages */
function listPublicPackages() {
  const out = execFileSync('pnpm', ['ls', '-r', '--json', '--depth', '-1'], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out)
    .filter((pkg) => !pkg.private && path.resolve(pkg.path) !== root)
    .map((pkg) => ({ name: pkg.name, version: pkg.version, dir: pkg.path }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** @returns {Map<string, Buffer>} every file of a .tgz, keyed by its path inside `package/` */
function readTarball(file) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-pack-check-'));
  try {
    execFileSync('tar', ['-xzf', file, '-C', tmp]);
    const files = new Map();
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files.set(path.relative(path.join(tmp, 'package'), full), fs.readFileSync(full));
      }
    };
    walk(tmp);
    return files;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** @returns {string[]} what makes the tarball of `pkg` not publishable; empty when it is */
function checkTarball(pkg, file) {
  const files = readTarball(file);
  const problems = [];
  for (const required of ['package.json', 'README.md', 'LICENSE']) {
    if (!files.has(required)) problems.push(`${required} missing from the tarball`);
  }
  const manifest = JSON.parse(files.get('package.json')?.toString('utf8') ?? '{}');
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is "${range}"`);
    }
  }
  if (!manifest.engines?.node) problems.push('engines.node is not set');
  if (manifest.license !== 'Apache-2.0') problems.push('license is not Apache-2.0');
  if (!manifest.repository?.directory) problems.push('repository.directory is not set');
  for (const [name, content] of files) {
    if (!name.endsWith('.map')) continue;
    for (const source of JSON.parse(content.toString('utf8')).sources ?? []) {
      const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(name), source));
      if (!files.has(shipped)) problems.push(`${name} points at ${shipped}, which is not shipped`);
    }
  }
  return problems.map((problem) => `${pkg.name} (${path.relative(root, pkg.dir)}): ${problem}`);
}

/**
 * Packs every public package into `outDir` (three at a time) and checks each tarball.
 * @param {string} outDir where the tarballs go (created, emptied of old .tgz files)
 * @returns {Promise<{ name: string, version: string, dir: string, tarball: string }[]>}
 */
async function packPackages(outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const old of fs.readdirSync(outDir)) {
    if (old.endsWith('.tgz')) fs.rmSync(path.join(outDir, old));
  }
  const pack = async (pkg) => {
    const { stdout } = await promisify(execFile)(
      'pnpm',
      ['pack', '--json', '--pack-destination', outDir],
      { cwd: pkg.dir, encoding: 'utf8' },
    );
    return { ...pkg, tarball: path.resolve(outDir, path.basename(JSON.parse(stdout).filename)) };
  };
  const pending = listPublicPackages();
  const packed = [];
  while (pending.length > 0) packed.push(...(await Promise.all(pending.splice(0, 3).map(pack))));
  const problems = packed.flatMap((pkg) => checkTarball(pkg, pkg.tarball));
  if (problems.length > 0) {
    throw new Error(`not publishable:\n  ${problems.join('\n  ')}`);
  }
  return packed;
}

module.exports = { listPublicPackages, packPackages, checkTarball };

if (require.main === module) {
  const flag = process.argv.indexOf('--out');
  const outDir = path.resolve(
    flag === -1 ? path.join(root, 'artifacts/packages') : process.argv[flag + 1],
  );
  packPackages(outDir).then(
    (packed) => {
      for (const pkg of packed) {
        console.log(`${pkg.name}@${pkg.version}  ${path.relative(process.cwd(), pkg.tarball)}`);
      }
    },
    (err) => {
      console.error(err.message);
      process.exitCode = 1;
    },
  );
}
