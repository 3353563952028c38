// Sigil as its users get it: every public package packed with pnpm, published to a throwaway
// registry on loopback, installed by name with plain npm into a fresh `npm init -y` project whose
// .npmrc routes only the @sigil scope there; then the documentation's runnable snippets (README
// "Use it in your service", every package README, docs/*.md) are type-checked as CommonJS,
// ESM and bundler code and run, with a real mTLS call between two processes, and
// @arethetypeswrong/cli checks every tarball's types.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, run, startNode } from './internal/process';
import { startLocalRegistry, type LocalRegistry } from './internal/registry';
import { documentsWithSnippets, extractSnippets, type Snippet } from './internal/snippets';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packPackages } = require('../../../scripts/pack-packages.js') as {
  packPackages(
    outDir: string,
  ): Promise<{ name: string; version: string; dir: string; tarball: string }[]>;
};

const root = path.resolve(__dirname, '../../..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const SETUP = 8 * 60_000;

/** `docs/integration-guide.md` → `docs-integration-guide` */
const slug = (document: string): string =>
  document.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');

let tmp: string;
let app: string;
let registry: LocalRegistry | undefined;
let packed: Awaited<ReturnType<typeof packPackages>>;
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
  // Packing and the registry's start-up overlap.
  const [packing, starting] = await Promise.allSettled([
    packPackages(path.join(tmp, 'tarballs')),
    startLocalRegistry(path.join(tmp, 'registry')),
  ]);
  if (starting.status === 'fulfilled') registry = starting.value; // afterAll closes it
  if (packing.status === 'rejected') throw packing.reason;
  if (starting.status === 'rejected') throw starting.reason;
  packed = packing.value;
  const registryNow = starting.value;
  snippets = [
    ...docs,
    ...documentsWithSnippets(
      root,
      packed.map((pkg) => pkg.dir),
    ).filter((document) => !docs.includes(document)),
  ].flatMap((document) => extractSnippets(root, document));

  await Promise.all(packed.map((pkg) => registryNow.publish(pkg.tarball)));

  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  await run('npm', ['init', '-y'], { cwd: app });
  fs.writeFileSync(path.join(app, '.npmrc'), `@sigil:registry=${registryNow.url}\n`);

  // The README's setup block, as written: npm install by name, then the CA and certificates.
  const setup = snippets.find((s) => s.document === 'README.md' && s.file === 'setup.sh');
  if (!setup) throw new Error('README.md has no <!-- snippet: setup.sh --> block');
  fs.writeFileSync(path.join(app, 'setup.sh'), setup.code);
  await run('sh', ['-e', 'setup.sh'], { cwd: app, timeoutMs: 4 * 60_000 });
  // The package READMEs' examples use the other public packages too.
  const installed = new Set(
    Object.keys(
      JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).dependencies ?? {},
    ),
  );
  const rest = packed
    .map((pkg) => pkg.name)
    .filter((name) => !installed.has(name) && name !== '@sigil/cli');
  if (rest.length > 0) await run('npm', ['install', ...rest], { cwd: app, timeoutMs: 4 * 60_000 });
  // A third identity, which the README's policy does not admit.
  await run(
    'npx',
    [
      'sigil',
      'certs',
      'issue',
      '--ca',
      './ca',
      '--out',
      './other',
      '--spiffe-id',
      'spiffe://example.org/svc/other',
    ],
    {
      cwd: app,
    },
  );
  for (const snippet of snippets.filter(
    (s) => !s.file.endsWith('.ts') && !s.file.endsWith('.sh'),
  )) {
    fs.writeFileSync(path.join(app, snippet.file), snippet.code);
  }

  // CommonJS (the default of `npm init -y`), ESM ("type": "module", nodenext), and bundler.
  writeProject(path.join(app, 'cjs'), { module: 'node16', moduleResolution: 'node16' });
  writeProject(path.join(app, 'esm'), { module: 'nodenext', moduleResolution: 'nodenext' });
  fs.writeFileSync(path.join(app, 'esm', 'package.json'), JSON.stringify({ type: 'module' }));
  writeProject(path.join(app, 'bundler'), {
    module: 'preserve',
    moduleResolution: 'bundler',
    noEmit: true,
  });
  const compiled = await Promise.allSettled(
    ['cjs', 'esm', 'bundler'].map((flavour) =>
      run(process.execPath, [tsc, '-p', path.join(app, flavour)], { cwd: app }),
    ),
  );
  for (const outcome of compiled) if (outcome.status === 'rejected') throw outcome.reason;
}, SETUP);

afterAll(async () => {
  await registry?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
});

test('installs every @sigil package by name: the very tarballs packed, from the loopback registry', () => {
  // npm records each package's integrity; the @sigil ones must be the sha512 of our tarballs.
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string }>;
  };
  const sha512 = (file: string): string =>
    `sha512-${crypto.createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
  expect(
    packed.map((pkg) => {
      const entry = lock.packages[`node_modules/${pkg.name}`];
      return { name: pkg.name, version: entry?.version, integrity: entry?.integrity };
    }),
  ).toEqual(
    packed.map((pkg) => ({ name: pkg.name, version: pkg.version, integrity: sha512(pkg.tarball) })),
  );
  expect(lock.packages['node_modules/@grpc/grpc-js']?.version).toMatch(/^1\./);
});

test('npx sigil --version and ca init work from the installed @sigil/cli', async () => {
  const cli = packed.find((pkg) => pkg.name === '@sigil/cli');
  const { stdout } = await run('npx', ['sigil', '--version'], { cwd: app });
  expect(stdout.trim()).toBe(cli?.version);
  expect(fs.readFileSync(path.join(app, 'ca', 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
  expect(fs.existsSync(path.join(app, 'client', 'tls.key'))).toBe(true);
});

describe.each(['cjs', 'esm'])(
  "the README's server and client (%s) make an mTLS call",
  (flavour) => {
    const script = (file: string): string =>
      path.join(app, flavour, 'out', 'README', file.replace(/\.ts$/, '.js'));
    const envOf = (file: string): Record<string, string> =>
      snippets.find((s) => s.document === 'README.md' && s.file === file)?.env ?? {};

    test('the admitted client gets its own SPIFFE ID back; another identity gets PERMISSION_DENIED', async () => {
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
    }, 60_000);
  },
);

test('every other runnable snippet runs as CommonJS and as ESM; every serving one serves and drains', async () => {
  const scenario = (s: Snippet): boolean =>
    s.document === 'README.md' && ['server.ts', 'client.ts'].includes(s.file);
  const exercised = snippets.filter(
    (s) => s.file.endsWith('.ts') && s.mode !== 'check' && !scenario(s),
  );
  expect(exercised.length).toBeGreaterThan(0);
  const jobs = exercised.flatMap((snippet) =>
    ['cjs', 'esm'].map((flavour) => ({ snippet, flavour })),
  );
  const exercise = async ({ snippet, flavour }: { snippet: Snippet; flavour: string }) => {
    const name = `${snippet.document}:${snippet.line} (${flavour})`;
    const script = path.join(
      app,
      flavour,
      'out',
      slug(snippet.document),
      snippet.file.replace(/\.ts$/, '.js'),
    );
    if (snippet.mode === 'serves') {
      const port = await freePort();
      const server = await startNode(script, {
        cwd: app,
        env: { ...snippet.env, GRPC_LISTEN_ADDR: `127.0.0.1:${port}` },
        ready: port,
      }).catch((err: Error) => err);
      if (server instanceof Error) return { snippet: name, code: -1, output: server.message };
      const code = await server.stop();
      return { snippet: name, code: code ?? -1, output: server.output() };
    }
    const result = await run(process.execPath, [script], {
      cwd: app,
      env: { ...snippet.env },
      allowFailure: true,
      timeoutMs: 30_000,
    });
    return { snippet: name, code: result.code, output: result.stdout + result.stderr };
  };
  const results: { snippet: string; code: number; output: string }[] = [];
  // Three at a time: each is a node process starting up.
  for (let at = 0; at < jobs.length; at += 3) {
    results.push(...(await Promise.all(jobs.slice(at, at + 3).map(exercise))));
  }
  expect(results.filter((result) => result.code !== 0)).toEqual([]);
}, 120_000);

test('types resolve under node10, node16 (CJS and ESM) and bundler for every tarball (arethetypeswrong)', async () => {
  const result = await run(
    process.execPath,
    [path.join(root, 'scripts/check-package-types.js'), ...packed.map((pkg) => pkg.tarball)],
    { cwd: root, allowFailure: true, timeoutMs: 90_000 },
  );
  expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
    code: 0,
    output: expect.stringContaining(`@sigil/grpc-tls@`),
  });
}, 120_000);
