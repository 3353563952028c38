#!/usr/bin/env node
// node scripts/check-package-types.js <tarball>...: @arethetypeswrong's analysis (the engine of
// `attw --pack`, strict profile) of each packed package, in one process: its types must resolve
// under moduleResolution node10, node16 from CommonJS, node16 from ESM (= nodenext) and bundler,
// with no problem of any kind. Exits 1 naming each package and problem otherwise.
'use strict';

const { readFile } = require('node:fs/promises');
const path = require('node:path');

async function main(tarballs) {
  if (tarballs.length === 0) {
    console.error('usage: node scripts/check-package-types.js <tarball>...');
    return 2;
  }
  // ESM-only package.
  const { checkPackage, createPackageFromTarballData } = await import('@arethetypeswrong/core');
  let failed = false;
  for (const tarball of tarballs) {
    const pkg = createPackageFromTarballData(new Uint8Array(await readFile(tarball)));
    const analysis = await checkPackage(pkg);
    const name = `${analysis.packageName}@${analysis.packageVersion}`;
    if (!analysis.types) {
      failed = true;
      console.log(`${name}: ships no types (${path.basename(tarball)})`);
    } else if (analysis.problems.length > 0) {
      failed = true;
      for (const problem of analysis.problems) {
        const where = [problem.entrypoint, problem.resolutionKind].filter(Boolean).join(' under ');
        console.log(`${name}: ${problem.kind}${where ? ` (${where})` : ''}`);
      }
    } else {
      console.log(`${name}: types resolve under node10, node16 (CJS and ESM) and bundler`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
