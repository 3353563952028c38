// Lets a plain `node` child process load the TypeScript sources of this workspace, the way the
// jest preset does (`@sigil/<pkg>` -> packages/<pkg>/src/index.ts), so tests that need a real
// process (exit codes, signals) do not depend on a prior build. Usage: node -r <this file> x.ts
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

const root = path.resolve(__dirname, '../../../..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveSigil(request, ...rest) {
  let target = request;
  if (request === '@sigil/proto') target = path.join(root, 'proto/src/index.ts');
  const match = /^@sigil\/([a-z0-9-]+)$/.exec(request);
  if (match && request !== '@sigil/proto') target = path.join(root, 'packages', match[1], 'src/index.ts');
  return resolveFilename.call(this, target, ...rest);
};

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      experimentalDecorators: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};
