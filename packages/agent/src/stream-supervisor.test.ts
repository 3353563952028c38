import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { createMemoryLogger } from '@sigil/testing';
import { createAgentMetrics, type AgentMetrics } from './agent-metrics';
import { createStreamSupervisor, type StreamSupervisor } from './stream-supervisor';

type Behaviour = 'ack' | 'silent' | 'drain';
type TunnelCall = grpc.ServerDuplexStream<
  controlplaneV1.TunnelerMessage,
  controlplaneV1.ConnectorMessage
>;

/** A real gRPC server on 127.0.0.1 playing the peer of a supervised stream (plaintext: TLS is not what is under test here). */
async function peer(behaviour: Behaviour): Promise<{
  address: string;
  sequences: number[];
  opened: number;
  ended: number;
  close(): Promise<void>;
}> {
  const state = { sequences: [] as number[], opened: 0, ended: 0 };
  const server = new grpc.Server();
  server.addService(controlplaneV1.ConnectorServiceService, {
    tunnel(call: TunnelCall) {
      state.opened += 1;
      call.on('data', (message: controlplaneV1.TunnelerMessage) => {
        if (message.body?.$case !== 'heartbeat') return;
        const { sequence } = message.body.heartbeat;
        state.sequences.push(sequence);
        if (behaviour === 'ack')
          call.write({
            body: { $case: 'heartbeatAck', heartbeatAck: { sequence, receivedAt: Date.now() } },
          });
        if (behaviour === 'drain')
          call.write({
            body: { $case: 'drain', drain: { reason: 'maintenance', reconnectAfterMs: 50 } },
          });
      });
      call.on('end', () => {
        state.ended += 1;
        call.end();
      });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    get sequences() {
      return state.sequences;
    },
    get opened() {
      return state.opened;
    },
    get ended() {
      return state.ended;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const count = async (metrics: AgentMetrics, name: keyof AgentMetrics): Promise<number> =>
  (await (metrics[name] as { get(): Promise<{ values: { value: number }[] }> }).get()).values[0]
    ?.value ?? 0;

describe('createStreamSupervisor', () => {
  let logs = createMemoryLogger();
  let supervisor: StreamSupervisor<controlplaneV1.TunnelerMessage> | undefined;
  let metrics: AgentMetrics;
  const peers: { close(): Promise<void> }[] = [];

  beforeEach(() => {
    logs = createMemoryLogger();
    metrics = createAgentMetrics({
      kind: 'tunneler',
      agentId: 't1',
      version: '1.0.0',
      certificateExpirySeconds: () => 60,
    });
  });
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });

  const supervise = (
    addresses: string[],
    extra: { livenessTimeoutMs?: number; onStateChange?: (up: boolean) => void } = {},
  ) => {
    supervisor = createStreamSupervisor<
      controlplaneV1.TunnelerMessage,
      controlplaneV1.ConnectorMessage
    >({
      name: 'tunnel',
      addresses: () => addresses,
      open: (address) => {
        const client = new controlplaneV1.ConnectorServiceClient(
          address,
          grpc.credentials.createInsecure(),
          { 'grpc.use_local_subchannel_pool': 1 },
        );
        return { stream: client.tunnel(), close: () => client.close() };
      },
      heartbeat: (sequence) => ({
        body: {
          $case: 'heartbeat',
          heartbeat: { tunnelerId: 't1', sequence, version: '1.0.0', sentAt: Date.now() },
        },
      }),
      intervalMs: 20,
      backoff: { initialMs: 20, maxMs: 100 },
      metrics,
      logger: logs.logger,
      ...extra,
    });
    supervisor.start();
    return supervisor;
  };

  it('sends numbered heartbeats, counts acks, and is up from the first answer', async () => {
    const server = await peer('ack');
    peers.push(server);
    const states: boolean[] = [];
    const stream = supervise([server.address], { onStateChange: (up) => states.push(up) });
    await until('five acks', async () => (await count(metrics, 'heartbeatAcks')) >= 5);
    expect(stream.up).toBe(true);
    expect(states).toEqual([true]);
    expect(server.sequences.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(await count(metrics, 'streamConnects')).toBe(1);
    await stream.stop();
    expect(states).toEqual([true, false]);
    await until('the peer to see the stream end', () => server.ended === 1);
  });

  it('declares a silent peer dead after the liveness timeout and reconnects, continuing the sequence', async () => {
    const server = await peer('silent');
    peers.push(server);
    supervise([server.address], { livenessTimeoutMs: 150 });
    await until('a second stream', () => server.opened >= 2);
    expect(logs.records.map((r) => r.event)).toContain('stream.silent');
    expect(await count(metrics, 'reconnects')).toBeGreaterThanOrEqual(1);
    // Sequence numbers run on across streams, so a peer can tell a gap from a reconnect.
    expect(new Set(server.sequences).size).toBe(server.sequences.length);
    expect(server.sequences).toEqual([...server.sequences].sort((a, b) => a - b));
  });

  it('obeys Drain: leaves, waits, and reconnects to the next address', async () => {
    const draining = await peer('drain');
    const healthy = await peer('ack');
    peers.push(draining, healthy);
    const stream = supervise([draining.address, healthy.address]);
    await until(
      'the stream on the second address',
      () => stream.up && stream.address === healthy.address,
    );
    expect(logs.records.map((r) => r.event)).toContain('stream.drain');
    expect(draining.opened).toBe(1);
  });

  it('fails over past an unreachable address with backoff', async () => {
    const healthy = await peer('ack');
    peers.push(healthy);
    const stream = supervise(['127.0.0.1:1', healthy.address]);
    await until('the stream on the reachable address', () => stream.up);
    expect(stream.address).toBe(healthy.address);
    expect(logs.records.map((r) => r.event)).toContain('stream.disconnected');
    expect(await count(metrics, 'reconnects')).toBe(1);
  });

  it('keeps retrying while no peer answers, and stops cleanly', async () => {
    const stream = supervise(['127.0.0.1:1']);
    await until('three attempts', async () => (await count(metrics, 'reconnects')) >= 3);
    expect(stream.up).toBe(false);
    expect(stream.send({ body: undefined })).toBe(false);
    await stream.stop();
    const attempts = await count(metrics, 'reconnects');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await count(metrics, 'reconnects')).toBe(attempts);
  });
});
