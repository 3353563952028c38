// Sigil as its users get it: every public package packed with pnpm, published to a throwaway
// registry on loopback, installed by name with plain npm into a fresh `npm init -y` project whose
// .npmrc routes only the @sigil scope there; then the documentation's runnable snippets (README
// "Use it in your service", every package README, docs/*.md) are type-checked as CommonJS,
// ESM and bundler code and run, with a real mTLS call between two processes, and
// @arethetypeswrong/cli checks every tarball's types.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, run, startNode } from './internal/process';
import { startLocalRegistry, type LocalRegistry } from './internal/registry';
import { documentsWithSnippets, extractSnippets, type Snippet } from './internal/snippets';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packPackages } = require('../../../scripts/pack-packages.js') as {
  packPackages(outDir: string): { name: string; version: string; dir: string; tarball: string }[];
};

const root = path.resolve(__dirname, '../../..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const attw = path.join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
const SETUP = 8 * 60_000;

/** `docs/integration-guide.md` → `docs-integration-guide` */
const slug = (document: string): string => document.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');

let tmp: string;
let app: string;
let registry: LocalRegistry | undefined;
let packed: ReturnType<typeof packPackages>;
let snippets: Snippet[];

/** Writes the snippets of every document under `<dir>/<slug>/` and compiles them with `tsconfig`. */
function writeProject(dir: string, compilerOptions: Record<string, unknown>): void {
  for (const snippet of snippets) {
    const file = path.join(dir, 'src', slug(snippet.document), snippet.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, snippet.code);
  }
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules/@types')],
        rootDir: 'src',
        outDir: 'out',
        ...compilerOptions,
      },
      include: ['src/**/*.ts'],
    }),
  );
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-consumer-'));
  const docs = documentsWithSnippets(root, []);
  packed = packPackages(path.join(tmp, 'tarballs'));
  snippets = [
    ...docs,
    ...documentsWithSnippets(
      root,
      packed.map((pkg) => pkg.dir),
    ).filter((document) => !docs.includes(document)),
  ].flatMap((document) => extractSnippets(root, document));

  registry = await startLocalRegistry(path.join(tmp, 'registry'));
  await Promise.all(packed.map((pkg) => registry!.publish(pkg.tarball)));

  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  await run('npm', ['init', '-y'], { cwd: app });
  fs.writeFileSync(path.join(app, '.npmrc'), `@sigil:registry=${registry.url}\n`);

  // The README's setup block, as written: npm install by name, then the CA and certificates.
  const setup = snippets.find((s) => s.document === 'README.md' && s.file === 'setup.sh');
  if (!setup) throw new Error('README.md has no <!-- snippet: setup.sh --> block');
  fs.writeFileSync(path.join(app, 'setup.sh'), setup.code);
  await run('sh', ['-e', 'setup.sh'], { cwd: app, timeoutMs: 4 * 60_000 });
  // The package READMEs' examples use the other public packages too.
  const installed = new Set(Object.keys(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).dependencies ?? {}));
  const rest = packed.map((pkg) => pkg.name).filter((name) => !installed.has(name) && name !== '@sigil/cli');
  if (rest.length > 0) await run('npm', ['install', ...rest], { cwd: app, timeoutMs: 4 * 60_000 });
  // A third identity, which the README's policy does not admit.
  await run('npx', ['sigil', 'certs', 'issue', '--ca', './ca', '--out', './other', '--spiffe-id', 'spiffe://example.org/svc/other'], {
    cwd: app,
  });
  for (const snippet of snippets.filter((s) => !s.file.endsWith('.ts') && !s.file.endsWith('.sh'))) {
    fs.writeFileSync(path.join(app, snippet.file), snippet.code);
  }

  // CommonJS (the default of `npm init -y`), ESM ("type": "module", nodenext), and bundler.
  writeProject(path.join(app, 'cjs'), { module: 'node16', moduleResolution: 'node16' });
  writeProject(path.join(app, 'esm'), { module: 'nodenext', moduleResolution: 'nodenext' });
  fs.writeFileSync(path.join(app, 'esm', 'package.json'), JSON.stringify({ type: 'module' }));
  writeProject(path.join(app, 'bundler'), { module: 'preserve', moduleResolution: 'bundler', noEmit: true });
  for (const flavour of ['cjs', 'esm', 'bundler']) {
    await run(process.execPath, [tsc, '-p', path.join(app, flavour)], { cwd: app });
  }
}, SETUP);

afterAll(async () => {
  await registry?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('installs every @sigil package by name from the loopback registry and the rest from npm', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; resolved?: string }>;
  };
  for (const pkg of packed) {
    const entry = lock.packages[`node_modules/${pkg.name}`];
    expect({ name: pkg.name, version: entry?.version, resolved: entry?.resolved?.startsWith(registry!.url) }).toEqual({
      name: pkg.name,
      version: pkg.version,
      resolved: true,
    });
  }
  expect(lock.packages['node_modules/@grpc/grpc-js']?.resolved).toMatch(/^https:\/\/registry\.npmjs\.org\//);
});

test('npx sigil --version and ca init work from the installed @sigil/cli', async () => {
  const cli = packed.find((pkg) => pkg.name === '@sigil/cli');
  const { stdout } = await run('npx', ['sigil', '--version'], { cwd: app });
  expect(stdout.trim()).toBe(cli?.version);
  expect(fs.readFileSync(path.join(app, 'ca', 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
  expect(fs.existsSync(path.join(app, 'client', 'tls.key'))).toBe(true);
});

describe.each(['cjs', 'esm'])("the README's server and client (%s) make an mTLS call", (flavour) => {
  const script = (file: string): string => path.join(app, flavour, 'out', 'README', file.replace(/\.ts$/, '.js'));
  const envOf = (file: string): Record<string, string> =>
    snippets.find((s) => s.document === 'README.md' && s.file === file)?.env ?? {};

  test(
    'the admitted client gets its own SPIFFE ID back; another identity gets PERMISSION_DENIED',
    async () => {
      const port = await freePort();
      const server = await startNode(script('server.ts'), {
        cwd: app,
        env: { ...envOf('server.ts'), GRPC_LISTEN_ADDR: `127.0.0.1:${port}` },
        ready: 'listening on',
      });
      try {
        const admitted = await run(process.execPath, [script('client.ts')], {
          cwd: app,
          env: { ...envOf('client.ts'), GREETER_ADDR: `127.0.0.1:${port}` },
        });
        expect(admitted.stdout).toContain("hello: 'spiffe://example.org/svc/client'");

        const denied = await run(process.execPath, [script('client.ts')], {
          cwd: app,
          env: { ...envOf('client.ts'), GRPC_TLS_DIR: 'other', GREETER_ADDR: `127.0.0.1:${port}` },
          allowFailure: true,
        });
        expect(denied.code).not.toBe(0);
        expect(denied.stderr).toContain('PERMISSION_DENIED');
      } finally {
        expect(await server.stop()).toBe(0);
      }
    },
    60_000,
  );
});

test(
  'every other runnable snippet runs as CommonJS and as ESM',
  async () => {
    const runnable = snippets.filter(
      (s) => s.file.endsWith('.ts') && !(s.document === 'README.md' && ['server.ts', 'client.ts'].includes(s.file)),
    );
    expect(runnable.length).toBeGreaterThan(0);
    for (const snippet of runnable) {
      for (const flavour of ['cjs', 'esm']) {
        const script = path.join(app, flavour, 'out', slug(snippet.document), snippet.file.replace(/\.ts$/, '.js'));
        const result = await run(process.execPath, [script], { cwd: app, env: { ...snippet.env }, allowFailure: true, timeoutMs: 30_000 });
        expect({ snippet: `${snippet.document}:${snippet.line} (${flavour})`, code: result.code, stderr: result.stderr }).toEqual({
          snippet: `${snippet.document}:${snippet.line} (${flavour})`,
          code: 0,
          stderr: expect.any(String),
        });
      }
    }
  },
  120_000,
);

test(
  'types resolve under node10, node16 (CJS and ESM) and bundler for every tarball (attw)',
  async () => {
    const results = await Promise.all(
      packed.map((pkg) => run(process.execPath, [attw, pkg.tarball, '--format', 'ascii'], { cwd: tmp, allowFailure: true, timeoutMs: 90_000 })),
    );
    expect(results.map((result, index) => ({ name: packed[index]?.name, code: result.code, problems: result.code === 0 ? '' : result.stdout }))).toEqual(
      packed.map((pkg) => ({ name: pkg.name, code: 0, problems: '' })),
    );
  },
  120_000,
);
