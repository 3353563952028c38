import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { attestWorkload, podUidFromCgroup, unixSelectors } from './attestation';
import { matchEntries } from './entries';
import { peerCredentialsOf } from './peer-credentials';

describe('workload attestation', () => {
  it('reads the real SO_PEERCRED of a unix socket connection and derives the selectors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sigil-peercred-'));
    const socketPath = path.join(dir, 's.sock');
    const seen = new Promise<ReturnType<typeof peerCredentialsOf>>((resolve) => {
      const server = createServer((socket) => {
        resolve(peerCredentialsOf(socket));
        socket.destroy();
        server.close();
      }).listen(socketPath, () => {
        const client = createConnection(socketPath);
        client.on('error', () => undefined).on('close', () => client.destroy());
      });
    });
    const credentials = await seen;
    rmSync(dir, { recursive: true, force: true });
    expect(credentials).toEqual({
      pid: process.pid,
      uid: process.getuid!(),
      gid: process.getgid!(),
    });
    const selectors = await attestWorkload(credentials);
    expect(selectors).toEqual(
      expect.arrayContaining([
        `unix:uid:${process.getuid!()}`,
        `unix:gid:${process.getgid!()}`,
        `unix:path:${process.execPath}`,
      ]),
    );
  });

  it('refuses a process that is gone', async () => {
    await expect(attestWorkload({ pid: 2 ** 22 + 7, uid: 1, gid: 1 })).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_ATTESTATION_FAILED',
    });
  });

  it('names users and groups from passwd and group text', () => {
    expect(
      unixSelectors(
        { pid: 1, uid: 1000, gid: 1001 },
        'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
        'app:x:1000:\nstaff:x:1001:app\n',
      ),
    ).toEqual(['unix:uid:1000', 'unix:gid:1001', 'unix:user:app', 'unix:group:staff']);
    expect(unixSelectors({ pid: 1, uid: 4242, gid: 4242 })).toEqual([
      'unix:uid:4242',
      'unix:gid:4242',
    ]);
  });

  it('finds a Kubernetes pod UID in cgroupfs and systemd layouts, and none outside a pod', () => {
    expect(
      podUidFromCgroup(
        '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-ab.scope\n',
      ),
    ).toBe('1b2c3d4e-0000-1111-2222-333344445555');
    expect(
      podUidFromCgroup(
        '11:memory:/kubepods/besteffort/pod0a1b2c3d-0000-1111-2222-333344445555/abc\n',
      ),
    ).toBe('0a1b2c3d-0000-1111-2222-333344445555');
    expect(podUidFromCgroup('0::/user.slice/user-1000.slice/session-2.scope\n')).toBeUndefined();
  });

  it('matches an entry only when the workload has every one of its selectors', () => {
    const entries = [
      { id: 'a', selectors: ['unix:uid:1000'] },
      { id: 'b', selectors: ['unix:uid:1000', 'unix:path:/usr/bin/node'] },
      { id: 'c', selectors: [] },
    ];
    expect(matchEntries(entries, ['unix:uid:1000', 'unix:gid:1000']).map((e) => e.id)).toEqual([
      'a',
    ]);
    expect(
      matchEntries(entries, ['unix:uid:1000', 'unix:path:/usr/bin/node']).map((e) => e.id),
    ).toEqual(['a', 'b']);
    expect(matchEntries(entries, ['unix:uid:0'])).toEqual([]);
  });
});
