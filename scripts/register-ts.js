// Lets a plain `node` child process load this workspace's TypeScript sources the way the Jest
// preset does (`@sigil/<pkg>` -> packages/<pkg>/src/index.ts, `@sigil/proto` -> proto/src/index.ts,
// .ts transpiled on require), so tests that need a real process (signals, exit codes) do not depend
// on a prior build. Usage: node -r scripts/register-ts.js file.ts
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveSigil(request, ...rest) {
  const match = /^@sigil\/([a-z0-9-]+)$/.exec(request);
  let target = request;
  if (match) {
    target =
      match[1] === 'proto'
        ? path.join(root, 'proto/src/index.ts')
        : path.join(root, 'packages', match[1], 'src/index.ts');
  }
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
    },
  });
  module._compile(outputText, filename);
};
