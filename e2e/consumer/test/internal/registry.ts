// A throwaway npm registry (verdaccio) on loopback, serving only what is published to it: no
// uplink, so a consumer that routes the @sigil scope to it gets exactly the packed tarballs.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, run } from './process';

export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Publishes a tarball (already packed by pnpm, so without `workspace:` ranges). */
  publish(tarball: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts verdaccio with its config, storage and users in `dir`; resolves once it answers. */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
      '    max_users: 1',
      'uplinks: {}',
      'packages:',
      "  '@sigil/*':",
      '    access: $all',
      '    publish: $authenticated',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      require.resolve('verdaccio/bin/verdaccio'),
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited: ${output}`);
    const ok = await fetch(`${url}-/ping`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`verdaccio did not answer on ${url}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const user = await fetch(`${url}-/user/org.couchdb.user:sigil`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sigil', password: 'consumer-test', type: 'user', roles: [] }),
  });
  const { token } = (await user.json()) as { token?: string };
  if (!token) {
    child.kill('SIGKILL');
    throw new Error(`verdaccio refused the test user (${user.status})`);
  }
  const userconfig = path.join(dir, 'publish.npmrc');
  fs.writeFileSync(userconfig, `//127.0.0.1:${port}/:_authToken=${token}\n`);

  return {
    url,
    async publish(tarball) {
      await run('npm', ['publish', tarball, `--registry=${url}`, `--userconfig=${userconfig}`], {
        cwd: dir,
      });
    },
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
