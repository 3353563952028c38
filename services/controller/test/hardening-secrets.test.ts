import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin, waitFor } from '@sigil/testing';
import { DATA_FILES, loadOrCreateAuthorities } from '../src/internal/authorities';
import {
  assertFreshBuild,
  MAIN,
  spawnController,
  STRONG_ADMIN_TOKEN,
} from './support/hostile-peers';
import type { ControllerProcess } from './support/hostile-peers';

/** The token a first start prints on stderr (after its `controller.started` log line). */
const generatedToken = (controller: ControllerProcess): Promise<string> =>
  waitFor(
    'the generated admin token on stderr',
    () => /(sigil_admin_\S+)/.exec(controller.bin.stderr.join('\n'))?.[1],
  );

const statusWith = async (controller: ControllerProcess, token: string): Promise<number> =>
  (
    await fetch(`${controller.adminUrl}/api/admin/connectors`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).status;

/** Runs `sigil-controller admin-token rotate` and returns the token it printed. */
async function rotate(
  env: Record<string, string>,
): Promise<{ token: string; code: number | null; stderr: string }> {
  const bin = spawnBin(MAIN, { args: ['admin-token', 'rotate'], env });
  const { code } = await bin.exited;
  return {
    token: bin.stdout.find((l) => l.startsWith('sigil_admin_')) ?? '',
    code,
    stderr: bin.stderr.join('\n'),
  };
}

describe('secrets and the data directory (the built controller, real processes)', () => {
  let root: string;
  beforeAll(() => assertFreshBuild());
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sigil-hardening-secrets-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('admin-token rotate prints a new token once, and the old one dies, in a running controller too', async () => {
    const dataDir = join(root, 'data');
    // First start without SIGIL_ADMIN_TOKEN: a token is generated and printed on stderr.
    let controller = await spawnController(dataDir, { SIGIL_ADMIN_TOKEN: '' });
    const generated = await generatedToken(controller);
    expect(await statusWith(controller, generated)).toBe(200);

    // Rotated while it runs: the running controller drops the old token within seconds.
    const first = await rotate({ DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    expect(first.token).toMatch(/^sigil_admin_[A-Za-z0-9_-]{43}$/);
    await waitFor(
      'the running controller to drop the old token',
      async () => (await statusWith(controller, generated)) === 401,
    );
    expect(await statusWith(controller, first.token)).toBe(200);
    await controller.bin.stop();

    // And after a restart: only the latest rotation works.
    const second = await rotate({ DATA_DIR: dataDir });
    controller = await spawnController(dataDir, { SIGIL_ADMIN_TOKEN: '' });
    expect(await statusWith(controller, first.token)).toBe(401);
    expect(await statusWith(controller, second.token)).toBe(200);
    expect(controller.bin.records.some((r) => JSON.stringify(r).includes(second.token))).toBe(
      false,
    );
    await controller.bin.stop();
  }, 90_000);

  it('a generated token stays dead once SIGIL_ADMIN_TOKEN was set, even after unsetting it; rotate refuses while it is set', async () => {
    const dataDir = join(root, 'data');
    let controller = await spawnController(dataDir, { SIGIL_ADMIN_TOKEN: '' });
    const generated = await generatedToken(controller);
    await controller.bin.stop();
    controller = await spawnController(dataDir); // SIGIL_ADMIN_TOKEN set
    expect(await statusWith(controller, generated)).toBe(401);
    await controller.bin.stop();
    controller = await spawnController(dataDir, { SIGIL_ADMIN_TOKEN: '' }); // unset again
    expect(await statusWith(controller, generated)).toBe(401);
    expect(await statusWith(controller, STRONG_ADMIN_TOKEN)).toBe(200);
    await controller.bin.stop();

    const refused = await rotate({ DATA_DIR: dataDir, SIGIL_ADMIN_TOKEN: STRONG_ADMIN_TOKEN });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_CONFIG_INVALID: SIGIL_ADMIN_TOKEN is set/);
    expect(refused.token).toBe('');
  }, 90_000);

  it('refuses a one-letter SIGIL_ADMIN_TOKEN at start', async () => {
    const bin = spawnBin(MAIN, {
      env: { DATA_DIR: join(root, 'data'), SIGIL_ADMIN_TOKEN: 'a'.repeat(16) },
    });
    const { code } = await bin.exited;
    expect(code).toBe(1);
    expect(bin.stderr.join('\n')).toMatch(/SIGIL_ADMIN_TOKEN is too predictable/);
  }, 30_000);

  it('refuses a DATA_DIR open to other users before writing any key, naming DATA_DIR and the chmod', async () => {
    const dataDir = join(root, 'shared');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o777);
    const bin = spawnBin(MAIN, {
      env: {
        DATA_DIR: dataDir,
        CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
        ADMIN_LISTEN_ADDR: '127.0.0.1:0',
        SIGIL_ADMIN_TOKEN: STRONG_ADMIN_TOKEN,
      },
    });
    const { code } = await bin.exited;
    expect(code).toBe(1);
    expect(bin.stderr.join('\n')).toContain(
      `ERR_DATA_DIR_UNUSABLE: DATA_DIR ${dataDir} is open to other users (mode 777): they could read or replace the keys written there; run: chmod 700 ${dataDir}`,
    );
    expect(existsSync(join(dataDir, DATA_FILES.bootstrapCaKey))).toBe(false);
  }, 30_000);

  it('writes CA keys without following a symbolic link planted at the old predictable temporary name', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const stolen = join(root, 'stolen');
    writeFileSync(stolen, '');
    for (const file of [DATA_FILES.bootstrapCaKey, DATA_FILES.runtimeCaKey])
      symlinkSync(stolen, join(dataDir, `${file}.tmp-${process.pid}`));
    await loadOrCreateAuthorities({ dataDir, trustDomain: 'hardening.sigil', now: new Date() });
    expect(readFileSync(stolen, 'utf8')).toBe('');
    expect(readFileSync(join(dataDir, DATA_FILES.bootstrapCaKey), 'utf8')).toContain('PRIVATE KEY');
  });

  it('warns when --database-url is given on the command line, and never prints its passwords', async () => {
    // Port 1: nothing listens, so the start fails after the warning, naming the store.
    const url = 'postgresql://app:hunter2@127.0.0.1:1/x?sslpassword=hunter2';
    const fromFlag = spawnBin(MAIN, {
      args: ['--database-url', url],
      env: { DATA_DIR: join(root, 'data'), SIGIL_ADMIN_TOKEN: STRONG_ADMIN_TOKEN },
    });
    await fromFlag.exited;
    expect(fromFlag.records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          event: 'controller.secret_on_command_line',
          flag: '--database-url',
        }),
      ]),
    );
    const everything = [...fromFlag.stdout, ...fromFlag.stderr].join('\n');
    expect(everything).not.toContain('hunter2');

    const file = join(root, 'database-url');
    writeFileSync(file, `${url}\n`);
    const fromFile = spawnBin(MAIN, {
      env: {
        DATA_DIR: join(root, 'data'),
        DATABASE_URL_FILE: file,
        SIGIL_ADMIN_TOKEN: STRONG_ADMIN_TOKEN,
      },
    });
    await fromFile.exited;
    expect(fromFile.records.some((r) => r.event === 'controller.secret_on_command_line')).toBe(
      false,
    );
    expect(fromFile.stderr.join('\n')).toMatch(/ERR_STORE_UNAVAILABLE/);
    expect([...fromFile.stdout, ...fromFile.stderr].join('\n')).not.toContain('hunter2');
  }, 60_000);
});
