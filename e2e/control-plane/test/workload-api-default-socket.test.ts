// A connector serves the Workload API at /run/sigil/workload-api.sock when nothing says otherwise.
// Each connector here runs in a mount namespace of its own over an empty /run (unshare and a
// tmpfs), and the workloads join it (nsenter), so the test never touches the machine's /run.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { spawnBin, type BinProcess } from '@sigil/testing';
import { adminRequest, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(60_000);

const WORKLOAD = path.join(__dirname, 'support', 'workload-client.js');
const UID_WORKLOAD = 23301;
const DEFAULT_SOCKET = '/run/sigil/workload-api.sock';
/** Runs node in a new mount namespace whose /run is an empty tmpfs. */
const PRIVATE_RUN = [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"',
  'sh',
];
/** Runs node in the mount namespace of `pid`, as `uid` when given. */
const inside = (pid: number, uid?: number): string[] => [
  'nsenter',
  '-t',
  String(pid),
  '-m',
  ...(uid === undefined ? [] : ['-S', String(uid), '-G', String(uid)]),
];

describe('the default Workload API socket', () => {
  let fx: ControlPlaneFixture;
  let connector: BinProcess;

  const connectorEnv = async (id: string, socket: string | undefined) => ({
    ...(await fx.enrollEnv('connector', id)),
    SIGIL_WORKLOAD_API_SOCKET: socket,
  });

  beforeAll(async () => {
    fx = await startControlPlane();
    const created = await adminRequest(fx, 'POST', 'entries', {
      spiffe_id: 'spiffe://e2e.sigil/workload/default-socket',
      parent_id: 'spiffe://e2e.sigil/connector/wl-default',
      selectors: [`unix:uid:${UID_WORKLOAD}`],
    });
    expect(created.status).toBe(201);
    connector = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await connectorEnv('wl-default', undefined),
      { prefix: PRIVATE_RUN },
    );
  });
  afterAll(async () => {
    await killAll();
    await fx?.cleanup();
  });

  it('is served without any setting, its directory 0755 and the socket 0666', async () => {
    expect(await connector.next('workload_api.listening', 30_000)).toMatchObject({
      socket: DEFAULT_SOCKET,
    });
    const root = `/proc/${connector.child.pid!}/root`;
    const directory = statSync(`${root}/run/sigil`);
    expect(directory.isDirectory() && (directory.mode & 0o7777).toString(8)).toBe('755');
    const socket = statSync(`${root}${DEFAULT_SOCKET}`);
    expect(socket.isSocket() && (socket.mode & 0o777).toString(8)).toBe('666');
    await connector.next('workload_svid.issued', 30_000);
    const workload = spawnBin(WORKLOAD, {
      args: ['x509'],
      env: { SPIFFE_ENDPOINT_SOCKET: `unix://${DEFAULT_SOCKET}` },
      prefix: inside(connector.child.pid!, UID_WORKLOAD),
    });
    expect(await workload.next('x509')).toMatchObject({
      uid: UID_WORKLOAD,
      svids: [{ spiffeId: 'spiffe://e2e.sigil/workload/default-socket' }],
    });
    await workload.exited;
  });

  it('a second connector on the default path runs without it, warning with the fix; one asked to serve there stops', async () => {
    await connector.next('workload_api.listening', 30_000);
    const second = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await connectorEnv('wl-default-2', undefined),
      { prefix: inside(connector.child.pid!) },
    );
    expect(await second.next('workload_api.not_served', 30_000)).toMatchObject({
      level: 'warn',
      socket: DEFAULT_SOCKET,
      reason: `SIGIL_WORKLOAD_API_SOCKET ${DEFAULT_SOCKET}: another process is already serving this socket`,
      fix: expect.stringContaining('SIGIL_WORKLOAD_API_SOCKET'),
    });
    await second.next('connector.listening', 30_000);
    expect(second.child.exitCode).toBeNull();

    const asked = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await connectorEnv('wl-default-4', DEFAULT_SOCKET),
      { prefix: inside(connector.child.pid!) },
    );
    const { code } = await asked.exited;
    const output = [...asked.stdout, ...asked.stderr].join('\n');
    expect({ code, output }).toEqual({
      code: 3,
      output: expect.stringContaining(
        `SIGIL_WORKLOAD_API_SOCKET ${DEFAULT_SOCKET}: another process is already serving this socket`,
      ),
    });
    expect(connector.child.exitCode).toBeNull();
  });

  it('is not served with SIGIL_WORKLOAD_API_SOCKET=off, so another connector runs beside', async () => {
    const third = spawnAgent(
      'connector',
      ['run', '--ephemeral'],
      await connectorEnv('wl-default-3', 'off'),
      { prefix: inside(connector.child.pid!) },
    );
    await third.next('connector.listening', 30_000);
    expect(third.records.filter((r) => r.event === 'workload_api.listening')).toEqual([]);
    expect(connector.child.exitCode).toBeNull();
  });
});
