// A forward outlives its tunnel: a real sigil-connector process is killed (SIGKILL, no goodbye)
// under a tunneler (in process) with an open, idle forwarded connection, then started again from
// its STATE_DIR on the same port. The local listener stays up throughout; a connection made during
// the outage is refused at once (not left hanging); after the reconnect the same local port
// tunnels again; the tunneler logs each step.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { resolveAgentConfig, startAgent, type RunningAgent } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';
import { ADMIN_TOKEN, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent, spawnAgent } from './support/processes';

jest.setTimeout(120_000);

/** How long a local connection may take to be answered or closed before it counts as hanging. */
const HANG_MS = 3_000;

type Outcome = 'echoed' | 'refused' | 'hang';

/** One round trip through `port`: `echoed` if the echo came back, `refused` if the socket was closed or reset first. */
function roundTrip(port: number, text: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('hang');
    }, HANG_MS);
    const done = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got === text) done('echoed');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done('refused'));
    socket.write(text);
  });
}

/** Resolves with how long `socket` stayed open after `since` once it closes, or 'hang' after HANG_MS. */
function closedWithin(socket: Socket, since: number): Promise<number | 'hang'> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(Date.now() - since);
    const timer = setTimeout(() => resolve('hang'), HANG_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a forward across a connector restart', () => {
  let fx: ControlPlaneFixture;
  let echo: Server;

  const admin = async (path: string, body: unknown): Promise<void> => {
    const res = await fetch(`${fx.controller.adminUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  };
  const tunnelerRecords = (event: string): Record<string, unknown>[] =>
    fx.agentLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.event === event);

  beforeAll(async () => {
    fx = await startControlPlane();
    echo = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
    echo.close();
  });

  it('keeps the local listener, refuses connections during the outage at once, and tunnels again after the reconnect', async () => {
    const connectorAddr = `127.0.0.1:${await freePort()}`;
    const env = await fx.enrollEnv('connector', 'edge-restart', {
      env: { CONNECTOR_LISTEN_ADDR: connectorAddr },
    });
    expect((await runAgent('connector', ['enroll'], env)).code).toBe(0);
    const runEnv: Record<string, string | undefined> = { ...env, ENROLLMENT_TOKEN: undefined };
    const first = spawnAgent('connector', ['run'], runEnv);
    await first.next('stream.connected', 30_000);
    await admin('/api/admin/resources', {
      name: 'echo',
      address: `127.0.0.1:${(echo.address() as AddressInfo).port}`,
      connector_id: 'edge-restart',
    });
    await admin('/api/admin/grants', { resource: 'echo', tunneler_id: 'roamer' });

    const tunnelerEnv = await fx.enrollEnv('tunneler', 'roamer', {
      connectorId: 'edge-restart',
      env: { CONNECTOR_ADDR: connectorAddr, TUNNELER_FORWARDS: '127.0.0.1:0=echo' },
    });
    const roamer: RunningAgent<TunnelerPart> = fx.track(
      await startAgent(
        fx.runtime(
          resolveAgentConfig({
            kind: 'tunneler',
            command: 'run',
            env: tunnelerEnv,
            ephemeral: true,
          }),
        ),
        startTunnelerPart,
      ),
    );
    await waitFor('the tunnel', () => roamer.part.tunnel.up);
    const port = Number(roamer.part.forwards.addresses[0]!.split(':').at(-1));
    await waitFor('a first round trip', async () => (await roundTrip(port, 'one')) === 'echoed');

    // An open, idle tunneled connection when the connector dies.
    const idle = connect(port, '127.0.0.1');
    idle.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      idle.once('data', () => resolve());
      idle.write('idle');
    });

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor('the tunneler to notice', () => !roamer.part.tunnel.up);
    // The open connection is closed, not left hanging on a dead tunnel.
    expect(await closedWithin(idle, killedAt)).not.toBe('hang');
    expect(tunnelerRecords('forward.closed')).toContainEqual(
      expect.objectContaining({ resource: 'echo', reason: 'connector_unavailable' }),
    );
    // The listener is still up; a connection during the outage is refused at once.
    const duringOutage = Date.now();
    expect(await roundTrip(port, 'outage')).toBe('refused');
    expect(Date.now() - duringOutage).toBeLessThan(1_000);
    expect(tunnelerRecords('forward.refused').map((r) => r.reason)).toContain(
      'connector_unavailable',
    );
    expect(
      tunnelerRecords('stream.disconnected').filter((r) => r.stream === 'tunnel').length,
    ).toBeGreaterThanOrEqual(1);

    // The connector again, from its state dir, on the same address.
    const second = spawnAgent('connector', ['run'], runEnv);
    await second.next('stream.connected', 30_000);
    await waitFor('the tunnel again', () => roamer.part.tunnel.up, 30_000);
    // The same local port tunnels again (once the connector has its policy from the controller).
    await waitFor('a round trip after the reconnect', async () => {
      const outcome = await roundTrip(port, 'two');
      expect(outcome).not.toBe('hang');
      return outcome === 'echoed';
    });
    expect(roamer.part.forwards.addresses[0]).toBe(`127.0.0.1:${port}`);
    const connected = tunnelerRecords('stream.connected').filter((r) => r.stream === 'tunnel');
    expect(connected.length).toBeGreaterThanOrEqual(2);
  });
});
