import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { prepareSocketPath } from './socket-path';

describe('prepareSocketPath', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'sigil-socket-path-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the missing directories 0755, whatever the umask', async () => {
    const umask = process.umask(0o077);
    try {
      await prepareSocketPath(
        path.join(dir, 'run/sigil/workload-api.sock'),
        'SIGIL_WORKLOAD_API_SOCKET',
      );
    } finally {
      process.umask(umask);
    }
    for (const made of ['run', 'run/sigil'])
      expect((statSync(path.join(dir, made)).mode & 0o7777).toString(8)).toBe('755');
  });

  it('names the setting when the directory cannot be created', async () => {
    writeFileSync(path.join(dir, 'run'), 'a file, not a directory');
    const socket = path.join(dir, 'run/sigil/workload-api.sock');
    await expect(prepareSocketPath(socket, 'SIGIL_WORKLOAD_API_SOCKET')).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_API_UNAVAILABLE',
      message: `SIGIL_WORKLOAD_API_SOCKET ${socket}: cannot create its directory ${path.join(dir, 'run/sigil')} (ENOTDIR); give SIGIL_WORKLOAD_API_SOCKET a path this user may create, or \`off\``,
    });
  });

  it('refuses a directory other users may write, and a file that is not a socket', async () => {
    mkdirSync(path.join(dir, 'open'));
    chmodSync(path.join(dir, 'open'), 0o777);
    await expect(
      prepareSocketPath(path.join(dir, 'open/api.sock'), 'SIGIL_WORKLOAD_API_SOCKET'),
    ).rejects.toThrow(/writable by other users/);
    writeFileSync(path.join(dir, 'api.sock'), '');
    await expect(
      prepareSocketPath(path.join(dir, 'api.sock'), 'SIGIL_WORKLOAD_API_SOCKET'),
    ).rejects.toThrow(/exists and is not a socket/);
  });
});
