// What `pnpm pack:packages` refuses to call publishable: a tarball without README or LICENSE,
// with a `workspace:` range left, without engines/license/repository.directory, or with a
// source map whose sources are not shipped.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkTarball } = require('../../../scripts/pack-packages.js') as {
  checkTarball(pkg: { name: string; dir: string }, file: string): string[];
};

const root = path.resolve(__dirname, '../../..');
let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-pack-check-test-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A .tgz of `files` under `package/`, as npm and pnpm pack them. */
function tarball(files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(tmp, 'package', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  const out = path.join(tmp, 'pkg.tgz');
  execFileSync('tar', ['-czf', out, '-C', tmp, 'package']);
  return out;
}

const pkg = { name: '@sigil/example', dir: path.join(root, 'packages/example') };
const manifest = {
  name: '@sigil/example',
  version: '0.1.0',
  license: 'Apache-2.0',
  engines: { node: '>=20.19' },
  repository: {
    type: 'git',
    url: 'git+https://example.org/sigil.git',
    directory: 'packages/example',
  },
};

test('a complete tarball passes', () => {
  const file = tarball({
    'package.json': JSON.stringify(manifest),
    'README.md': '# example\n',
    LICENSE: 'Apache License\n',
    'dist/index.js': '',
    'dist/index.js.map': JSON.stringify({ version: 3, sources: ['../src/index.ts'], mappings: '' }),
    'src/index.ts': '',
  });
  expect(checkTarball(pkg, file)).toEqual([]);
});

test('each missing piece is named, with the package and its directory', () => {
  const file = tarball({
    'package.json': JSON.stringify({
      name: '@sigil/example',
      version: '0.1.0',
      dependencies: { '@sigil/errors': 'workspace:*' },
    }),
    'dist/index.js.map': JSON.stringify({ version: 3, sources: ['../src/index.ts'], mappings: '' }),
  });
  expect(checkTarball(pkg, file)).toEqual([
    '@sigil/example (packages/example): README.md missing from the tarball',
    '@sigil/example (packages/example): LICENSE missing from the tarball',
    '@sigil/example (packages/example): dependencies.@sigil/errors is "workspace:*"',
    '@sigil/example (packages/example): engines.node is not set',
    '@sigil/example (packages/example): license is not Apache-2.0',
    '@sigil/example (packages/example): repository.directory is not set',
    '@sigil/example (packages/example): dist/index.js.map points at src/index.ts, which is not shipped',
  ]);
});
