import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, createStreamNonce, verifyPossessionProof } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { createMemoryLogger } from '@sigil/testing';
import { issueTestIdentity } from '../test/support/identity';
import { createAgentMetrics, type AgentMetrics } from './agent-metrics';
import { tcpReachable } from './internal/tcp-reachable';
import {
  createStreamSupervisor,
  type RevocationEvidence,
  type StreamSupervisor,
  type StreamSupervisorOptions,
} from './stream-supervisor';

/**
 * ack/silent/drain: heartbeats answered so. revoke: a Revoked message, then PERMISSION_DENIED.
 * refuse-revoked / refuse: every stream refused with PERMISSION_DENIED saying it is revoked / not
 * approved. challenge: acks, a StreamChallenge at open (after `challengeDelayMs`), and each valid
 * Reauthenticate answered with StreamExtended and a new nonce.
 */
type Behaviour = 'ack' | 'silent' | 'drain' | 'revoke' | 'refuse-revoked' | 'refuse' | 'challenge';

interface Reauthentication {
  chain: string;
  valid: boolean;
}
type TunnelCall = grpc.ServerDuplexStream<
  controlplaneV1.TunnelerMessage,
  controlplaneV1.ConnectorMessage
>;

/** A real gRPC server on 127.0.0.1 playing the peer of a supervised stream (plaintext: TLS is not what is under test here). */
async function peer(
  behaviour: Behaviour,
  challengeDelayMs = 0,
): Promise<{
  address: string;
  sequences: number[];
  opened: number;
  ended: number;
  reauthentications: Reauthentication[];
  close(): Promise<void>;
}> {
  const state = {
    sequences: [] as number[],
    opened: 0,
    ended: 0,
    reauthentications: [] as Reauthentication[],
  };
  const server = new grpc.Server();
  server.addService(controlplaneV1.ConnectorServiceService, {
    tunnel(call: TunnelCall) {
      state.opened += 1;
      if (behaviour === 'refuse-revoked' || behaviour === 'refuse') {
        call.emit('error', {
          code: grpc.status.PERMISSION_DENIED,
          details:
            behaviour === 'refuse'
              ? 'tunneler t1 is not approved for connector edge-1'
              : 'tunneler t1 is revoked: the controller put it on the deny list of connector edge-1',
        });
        return;
      }
      let nonce: Buffer | undefined;
      if (behaviour === 'challenge') {
        setTimeout(() => {
          nonce = createStreamNonce();
          call.write({ body: { $case: 'challenge', challenge: { nonce } } });
        }, challengeDelayMs);
      }
      call.on('data', (message: controlplaneV1.TunnelerMessage) => {
        if (message.body?.$case === 'reauthenticate') {
          const { certificateChainPem, signature } = message.body.reauthenticate;
          const valid =
            nonce !== undefined &&
            Buffer.from(message.body.reauthenticate.nonce).equals(nonce) &&
            verifyPossessionProof(certificateChainPem, nonce, signature);
          state.reauthentications.push({ chain: certificateChainPem, valid });
          nonce = createStreamNonce();
          call.write({
            body: {
              $case: 'streamExtended',
              streamExtended: { notAfter: Date.now() + 60_000, nextNonce: nonce },
            },
          });
          return;
        }
        if (message.body?.$case !== 'heartbeat') return;
        const { sequence } = message.body.heartbeat;
        state.sequences.push(sequence);
        if (behaviour === 'revoke') {
          call.write({
            body: {
              $case: 'revoked',
              revoked: {
                reason: 'laptop stolen',
                revokedAt: Date.UTC(2026, 11, 2, 1, 0),
                spiffeId: 'spiffe://example.org/tunneler/t1',
              },
            },
          });
          call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'revoked' });
          return;
        }
        if (behaviour === 'ack' || behaviour === 'challenge')
          call.write({
            body: {
              $case: 'heartbeatAck',
              heartbeatAck: { sequence, receivedAt: Date.now(), bundleVersion: 0 },
            },
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
    get reauthentications() {
      return state.reauthentications;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A loopback port nothing listens on (bound, then released): a connect is refused at once. */
async function refusedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/**
 * A loopback port where a TCP connect hangs, as to a host that vanished: a child process listens
 * with a backlog of 1 and blocks its event loop, so nothing is accepted; once the accept queue is
 * full (two connections) the kernel drops further SYNs.
 */
async function hangingPort(): Promise<{ address: string; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const server = require('node:net').createServer();
       server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
         process.stdout.write(server.address().port + '\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (data) => resolve(Number(String(data).trim()))),
  );
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i += 1)
    fillers.push(
      await new Promise<Socket>((resolve) => {
        const socket: Socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
      }),
    );
  const address = `127.0.0.1:${port}`;
  if (await tcpReachable(address, 300)) throw new Error(`a connect to ${address} does not hang`);
  return {
    address,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
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
    extra: Partial<
      StreamSupervisorOptions<controlplaneV1.TunnelerMessage, controlplaneV1.ConnectorMessage>
    > = {},
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
          heartbeat: {
            tunnelerId: 't1',
            sequence,
            version: '1.0.0',
            sentAt: Date.now(),
            bundleVersion: 0,
          },
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

  describe('revocation', () => {
    it('stops for good on a Revoked message and hands over the reason', async () => {
      const server = await peer('revoke');
      peers.push(server);
      const told: RevocationEvidence[] = [];
      supervise([server.address], { onRevoked: (e) => told.push(e) });
      await until('the revocation', () => told.length === 1);
      expect(told[0]!.revoked).toMatchObject({
        reason: 'laptop stolen',
        revokedAt: Date.UTC(2026, 11, 2, 1, 0),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.opened).toBe(1);
      expect(await count(metrics, 'reconnects')).toBe(0);
      expect(told).toHaveLength(1);
    });

    it('stops for good when a stream is refused because the identity is revoked', async () => {
      const server = await peer('refuse-revoked');
      peers.push(server);
      const told: RevocationEvidence[] = [];
      supervise([server.address], { onRevoked: (e) => told.push(e) });
      await until('the revocation', () => told.length === 1);
      expect(told[0]!.refusal).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.opened).toBe(1);
    });

    it('keeps retrying an ordinary PERMISSION_DENIED (not approved yet)', async () => {
      const server = await peer('refuse');
      peers.push(server);
      const told: RevocationEvidence[] = [];
      supervise([server.address], { onRevoked: (e) => told.push(e) });
      await until('three attempts', () => server.opened >= 3);
      expect(told).toEqual([]);
    });
  });

  describe('in-band re-authentication', () => {
    const ca = createCertificateAuthority({ trustDomain: 'example.org', commonName: 'Test CA' });
    const credentials = async (n: number) => {
      const authority = await ca;
      return Promise.all(Array.from({ length: n }, () => issueTestIdentity({ ca: authority })));
    };

    it('answers each nonce after a renewal with the new chain and key, on the same stream', async () => {
      const [first, second, third] = await credentials(3);
      const server = await peer('challenge');
      peers.push(server);
      let credential = first!;
      const stream = supervise([server.address], {
        reauthentication: {
          credential: () => credential,
          message: (reauthenticate) => ({ body: { $case: 'reauthenticate', reauthenticate } }),
        },
      });
      await until('five acks', async () => (await count(metrics, 'heartbeatAcks')) >= 5);
      // Bound to the certificate it opened with: nothing to present.
      stream.reauthenticate();
      expect(server.reauthentications).toEqual([]);
      credential = second!;
      stream.reauthenticate();
      await until('the first extension', () => server.reauthentications.length === 1);
      await until('the extension acknowledged', async () =>
        (await metrics.streamReauthentications.get()).values.some(
          (v) => v.labels.result === 'extended' && v.value === 1,
        ),
      );
      credential = third!;
      stream.reauthenticate();
      await until('the second extension', () => server.reauthentications.length === 2);
      expect(server.reauthentications).toEqual([
        { chain: second!.certificateChainPem, valid: true },
        { chain: third!.certificateChainPem, valid: true },
      ]);
      const acks = await count(metrics, 'heartbeatAcks');
      await until('more acks', async () => (await count(metrics, 'heartbeatAcks')) >= acks + 3);
      expect(await count(metrics, 'streamConnects')).toBe(1);
      expect(server.opened).toBe(1);
      expect(logs.records.filter((r) => r.event === 'stream.extended')).toHaveLength(2);
    });

    it('presents a certificate renewed before the challenge arrived as soon as it does', async () => {
      const [first, second] = await credentials(2);
      const server = await peer('challenge', 200);
      peers.push(server);
      let credential = first!;
      supervise([server.address], {
        reauthentication: {
          credential: () => credential,
          message: (reauthenticate) => ({ body: { $case: 'reauthenticate', reauthenticate } }),
        },
      });
      credential = second!;
      await until('the re-authentication', () => server.reauthentications.length === 1);
      expect(server.reauthentications).toEqual([
        { chain: second!.certificateChainPem, valid: true },
      ]);
    });
  });
  describe('peer probes', () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('ignores a probe started for an earlier wait: a stop and start in between keep the new backoff', async () => {
      const hanging = await hangingPort();
      const refusing = await peer('refuse');
      peers.push(refusing, hanging);
      // The first stream fails UNAVAILABLE; the wait probes the next address, which hangs.
      const addresses = [await refusedPort(), hanging.address];
      const stream = supervise(addresses, {
        backoff: { initialMs: 60_000, maxMs: 60_000, random: () => 0.99 },
      });
      const disconnects = () => logs.records.filter((r) => r.event === 'stream.disconnected');
      await until('the first stream to fail', () => disconnects().length === 1);
      // The probe starts 1 s into the wait and hangs for its 1 s timeout: restart meanwhile, now
      // against a reachable peer that refuses the stream (its backoff is never cut short).
      await sleep(1_300);
      addresses.splice(0, 2, refusing.address, refusing.address);
      await stream.stop();
      stream.start();
      await until('the refused stream', () => refusing.opened === 1 && disconnects().length === 2);
      // The stale probe times out within a second; had it kept probing, it would find the peer
      // reachable a second later and reopen within 2 s.
      await sleep(4_500);
      expect(logs.records.filter((r) => r.event === 'stream.peer_back')).toEqual([]);
      expect(refusing.opened).toBe(1);
    }, 20_000);
  });
});
