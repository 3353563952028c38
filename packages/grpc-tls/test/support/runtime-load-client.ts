// Client half of runtime-rotation-under-load.test.ts, in its own process: credentials from a
// directory (watched), then load until `stop` arrives on stdin — unary calls on several
// long-lived channels, unary calls each on a channel of its own (a new handshake each, whose
// reply shows the client certificate the server saw), and server streams whose sequence numbers
// must never skip. Reports progress and, on `stop`, a summary as JSON lines.
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { EchoClient, unary } from '@sigil/testing';
import { createClientCredentials, loadClientTlsConfig } from '../../src';

const CHANNELS = 3;
const STREAMS = 2;
/** Pause between the calls of one loop: steady load that a busy CI machine can still schedule. */
const PACE_MS = 10;
const pause = () => new Promise((resolve) => setTimeout(resolve, PACE_MS));

async function main(): Promise<void> {
  const [target, dir] = process.argv.slice(2) as [string, string];
  const tls = await createClientCredentials(
    loadClientTlsConfig({
      env: { GRPC_TLS_DIR: dir },
      configFile: false,
      expectedServerId: 'spiffe://example.org/svc/echo',
      debounceMs: 50,
      pollIntervalMs: 0,
      reloadOnSighup: false,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  tls.onReload((result) =>
    report({
      reload: result.status,
      serialNumber: result.certificate?.serialNumber,
      error: result.error?.message,
    }),
  );
  let stopping = false;
  let calls = 0;
  const failures: string[] = [];
  let perCallPeerSerial: string | undefined;
  const call = async (client: grpc.Client) => {
    try {
      const reply = (await unary(client, 'whoAmI', {}, new grpc.Metadata(), {
        deadline: Date.now() + 10_000,
      })) as { peerSerial?: string };
      calls += 1;
      return reply.peerSerial;
    } catch (err) {
      failures.push((err as Error).message);
      return undefined;
    }
  };

  const channels = Array.from(
    { length: CHANNELS },
    () => new EchoClient(target, tls.credentials, tls.channelOptions),
  );
  const loops = channels.map(async (client) => {
    while (!stopping) {
      await call(client);
      await pause();
    }
  });
  loops.push(
    (async () => {
      while (!stopping) {
        // A local subchannel pool: a connection (and handshake) of its own, not a shared one.
        const client = new EchoClient(target, tls.credentials, {
          ...tls.channelOptions,
          'grpc.use_local_subchannel_pool': 1,
        });
        perCallPeerSerial = (await call(client)) ?? perCallPeerSerial;
        client.close();
        await pause();
      }
    })(),
  );
  const streams = Array.from({ length: STREAMS }, (_, index) => {
    const state = { received: 0, gaps: 0, last: -1, error: undefined as string | undefined };
    const stream = channels[index % CHANNELS]!.ticks({}) as grpc.ClientReadableStream<{
      n: number;
    }>;
    stream.on('data', (message: { n: number }) => {
      if (message.n !== state.last + 1) state.gaps += 1;
      state.last = message.n;
      state.received += 1;
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (!(stopping && err.code === grpc.status.CANCELLED)) state.error = err.message;
    });
    return { state, stream };
  });

  const progress = setInterval(
    () =>
      report({
        progress: true,
        calls,
        failed: failures.length,
        perCallPeerSerial,
        streamed: streams.map((s) => s.state.received),
      }),
    100,
  );
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'stop' || stopping) return;
    stopping = true;
    clearInterval(progress);
    void Promise.all(loops).then(() => {
      for (const { stream } of streams) stream.cancel();
      report({
        summary: true,
        calls,
        failed: failures.length,
        failures: failures.slice(0, 5),
        streams: streams.map(({ state }) => ({
          received: state.received,
          gaps: state.gaps,
          ...(state.error ? { error: state.error } : {}),
        })),
      });
      for (const client of channels) client.close();
      tls.close();
      process.exit(0);
    });
  });
}

void main();
