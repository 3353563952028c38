// Lets a plain `node` child process load the TypeScript sources, as jest's moduleNameMapper does:
// `@sigil/<pkg>` resolves to packages/<pkg>/src/index.ts and .ts files are transpiled on require.
// Used where a test needs a real process (signals are not delivered to jest's sandboxed `process`).
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

const root = path.resolve(__dirname, '../../../..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolve(request, ...rest) {
  const workspace = /^@sigil\/([a-z0-9-]+)$/.exec(request);
  if (workspace) {
    request =
      workspace[1] === 'proto'
        ? path.join(root, 'proto/src/index.ts')
        : path.join(root, 'packages', workspace[1], 'src/index.ts');
  }
  return resolveFilename.call(this, request, ...rest);
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
