// The embedded SQLite store serves one replica: a second controller process on the same DATA_DIR
// is refused with one clear error, and a first controller killed with SIGKILL leaves no stale lock.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

const spawnController = (dataDir: string): BinProcess =>
  spawnBin(MAIN, {
    env: {
      DATA_DIR: dataDir,
      TRUST_DOMAIN: 'lock.sigil',
      CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
      ADMIN_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_ADMIN_TOKEN: 'lock-test-admin-token-0123456789',
      LOG_LEVEL: 'info',
    },
  });

describe('one controller per DATA_DIR on the embedded SQLite store', () => {
  let dataDir: string;
  const children: BinProcess[] = [];
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the controller first`);
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-lock-'));
  });
  afterAll(async () => {
    for (const child of children) await child.stop(1000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second process naming DATA_DIR and DATABASE_URL, and starts again after the first is killed with SIGKILL', async () => {
    const first = spawnController(dataDir);
    children.push(first);
    await first.next('controller.started', 20_000);

    const second = spawnController(dataDir);
    children.push(second);
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    const message = second.stderr.join('\n');
    expect(message).toContain('error ERR_DATA_DIR_LOCKED');
    expect(message).toContain(`DATA_DIR ${dataDir}`);
    expect(message).toContain('DATABASE_URL');
    expect(second.records.some((r) => r.event === 'controller.started')).toBe(false);

    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const third = spawnController(dataDir);
    children.push(third);
    await third.next('controller.started', 20_000);
    expect((await third.stop(5000)).code).toBe(0);
  }, 60_000);
});
