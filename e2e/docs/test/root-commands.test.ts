// The repository root's commands (`pnpm exec sigil`, `pnpm exec sigil-controller`, ...) come from
// @sigil/commands, and the root depends on no other workspace package: turbo folds the files of
// the root's workspace dependencies into every task's hash, so one more would make an edit of any
// file of that package (and of its dependencies) rebuild every package (docs/ci.md, Turbo cache).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
// Tests of @sigil/commands live here: every file of that package is in every turbo task's hash.
const COMMANDS = join(ROOT, 'tools', 'commands');

interface Manifest {
  name: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** [command, package directory, bin file] of every bin a workspace package ships. */
function workspaceBins(): [string, string, string][] {
  return ['packages', 'services', 'examples'].flatMap((group) =>
    readdirSync(join(ROOT, group))
      .map((name) => join(ROOT, group, name))
      .filter((dir) => existsSync(join(dir, 'package.json')))
      .flatMap((dir) =>
        Object.entries(manifest(dir).bin ?? {}).map(([command, file]): [string, string, string] => [
          command,
          dir,
          file,
        ]),
      ),
  );
}

/** Runs a command with `--help`, without the caller's TLS and Sigil settings. */
function help(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(GRPC_|SIGIL_)/.test(key)),
  );
  return new Promise((done) => {
    execFile(file, ['--help'], { cwd: ROOT, env, encoding: 'utf8' }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

// Each run starts two Node processes per command; all run at once.
jest.setTimeout(60_000);

describe('the commands of the repository root', () => {
  it('come from @sigil/commands, the only workspace package the root depends on, which depends on none', () => {
    const root = manifest(ROOT);
    const workspaceDeps = Object.keys({ ...root.dependencies, ...root.devDependencies }).filter(
      (name) => name.startsWith('@sigil/'),
    );
    expect(workspaceDeps).toEqual(['@sigil/commands']);
    const commands = manifest(COMMANDS);
    expect({ ...commands.dependencies, ...commands.devDependencies }).toEqual({});
  });

  it('include every bin of a workspace package and behave exactly as that bin', async () => {
    const bins = workspaceBins();
    expect(bins.length).toBeGreaterThan(0);
    expect(Object.keys(manifest(COMMANDS).bin ?? {}).sort()).toEqual(
      bins.map(([command]) => command).sort(),
    );
    await Promise.all(
      bins.map(async ([command, dir, file]) => {
        const [viaRoot, direct] = await Promise.all([
          help(join(ROOT, 'node_modules', '.bin', command)),
          help(join(dir, file)),
        ]);
        expect({ command, ...viaRoot }).toEqual({ command, ...direct });
      }),
    );
  });

  it('include every command the docs run with `pnpm exec` at the root', () => {
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)];
    const missing = docs
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        [...readFileSync(join(ROOT, file), 'utf8').matchAll(/pnpm exec ([a-z][a-z0-9-]*)/g)].map(
          (match) => ({ command: match[1] ?? '', file }),
        ),
      )
      .filter(({ command }) => !existsSync(join(ROOT, 'node_modules', '.bin', command)));
    expect(missing).toEqual([]);
  });
});
