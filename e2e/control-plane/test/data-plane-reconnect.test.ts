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

/** Resolves with how long `socket` stayed open after `since` once it closes, or 'hang' after `timeoutMs`. */
function closedWithin(
  socket: Socket,
  since: number,
  timeoutMs = HANG_MS,
): Promise<number | 'hang'> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(Date.now() - since);
    const timer = setTimeout(() => resolve('hang'), timeoutMs);
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

/** An open tunneled connection through `port`, once one byte went through. */
async function openIdle(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.write('idle');
  });
  return socket;
}

describe('a forward across a connector restart', () => {
  let fx: ControlPlaneFixture;
  let echo: Server;
  // Left by the first test for the second: the running connector, the tunneler and its port.
  let connector: ReturnType<typeof spawnAgent>;
  let roamer: RunningAgent<TunnelerPart>;
  let port: number;

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
    roamer = fx.track(
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
    port = Number(roamer.part.forwards.addresses[0]!.split(':').at(-1));
    await waitFor('a first round trip', async () => (await roundTrip(port, 'one')) === 'echoed');

    // An open, idle tunneled connection when the connector dies.
    const idle = await openIdle(port);

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
    connector = spawnAgent('connector', ['run'], runEnv);
    await connector.next('stream.connected', 30_000);
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

  it('resets the forwards on a connector that froze (no FIN, no RST) once a keepalive ping goes unanswered, and tunnels again when it thaws', async () => {
    const lost = (): number =>
      tunnelerRecords('forward.closed').filter((r) => r.reason === 'connector_unavailable').length;
    const idle = await openIdle(port);
    const before = lost();
    const frozenAt = Date.now();
    connector.child.kill('SIGSTOP');
    let closedAfter: number | 'hang';
    try {
      // Keepalive: a ping every 10 s, 5 s to answer it.
      closedAfter = await closedWithin(idle, frozenAt, 25_000);
    } finally {
      connector.child.kill('SIGCONT');
    }
    expect(closedAfter).not.toBe('hang');
    expect(lost()).toBeGreaterThan(before);
    await waitFor(
      'a round trip after the thaw',
      async () => (await roundTrip(port, 'three')) === 'echoed',
      45_000,
    );
    process.stdout.write(
      `frozen connector: the open forward was reset after ${String(closedAfter)} ms\n`,
    );
  });
});
