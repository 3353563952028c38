#!/usr/bin/env node
// Checks the STYLE.md rule "TSDoc with one @example on every public export": for every package
// with a packages/<name>/src/index.ts, every symbol that entry point exports (functions, classes,
// constants, interfaces and types, re-exports followed to their declaration) must carry an
// `@example` TSDoc tag.
//
//   node scripts/check-tsdoc.js
//
// Prints one `package: name` line per export without an @example and exits 1; otherwise prints a
// one-line OK summary and exits 0. Exit code 2: the check itself could not run.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const packagesDir = path.join(root, 'packages');

let ts;
try {
  ts = require(require.resolve('typescript', { paths: [root] }));
} catch (err) {
  console.error(
    `check-tsdoc: cannot load typescript from ${root} (run pnpm install): ${err.message}`,
  );
  process.exit(2);
}

/** Every package with a public entry point, as [name, absolute path of src/index.ts], by name. */
function listPackages() {
  return fs
    .readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => [entry.name, path.join(packagesDir, entry.name, 'src', 'index.ts')])
    .filter(([, entry]) => fs.existsSync(entry))
    .sort(([a], [b]) => a.localeCompare(b));
}

const packages = listPackages();
if (packages.length === 0) {
  console.error(`check-tsdoc: no packages/*/src/index.ts under ${root}`);
  process.exit(2);
}

// One program for all entry points; @sigil/* resolves to the sources, not to built dist/ files.
const program = ts.createProgram(
  packages.map(([, entry]) => entry),
  {
    allowJs: false,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10 ?? ts.ModuleResolutionKind.NodeJs,
    baseUrl: root,
    paths: { '@sigil/*': ['packages/*/src/index.ts'] },
  },
);
const checker = program.getTypeChecker();

const missing = [];
let checked = 0;
for (const [name, entry] of packages) {
  const sourceFile = program.getSourceFile(entry);
  const moduleSymbol = sourceFile && checker.getSymbolAtLocation(sourceFile);
  if (moduleSymbol === undefined) continue; // an index.ts without exports has nothing to document
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    let target = exported;
    if (target.flags & ts.SymbolFlags.Alias) target = checker.getAliasedSymbol(target);
    checked += 1;
    if (!target.getJsDocTags(checker).some((tag) => tag.name === 'example'))
      missing.push(`${name}: ${exported.name}`);
  }
}

if (missing.length > 0) {
  for (const line of missing) console.log(line);
  console.error(
    `check-tsdoc: ${missing.length} of ${checked} public exports lack an @example (STYLE.md: TSDoc with one @example on every export)`,
  );
  process.exit(1);
}
console.log(
  `check-tsdoc: OK, ${checked} public exports of ${packages.length} packages all have an @example`,
);
