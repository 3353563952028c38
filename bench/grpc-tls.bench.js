#!/usr/bin/env node
// @sigil/grpc-tls benchmark, client in this process, servers in bench/grpc-tls-server.js.
//
// (a) Unary RPC throughput and p50/p99 latency, a closed loop of CONCURRENCY outstanding calls on
//     one channel: plaintext grpc-js vs Sigil mutual TLS + the authorization interceptor (target
//     >= 0.9x plaintext throughput), with stock grpc-js createSsl mutual TLS and Sigil mutual TLS
//     without the interceptor as references.
// (b) New mutual-TLS connections per second, each a TCP connect, a full handshake with client
//     certificate, and the server's first HTTP/2 frame (the point where a TLS 1.3 server has
//     accepted the client certificate), all against the same Sigil server: Sigil's channel
//     credentials (driven exactly as grpc-js's transport drives them, one connector per
//     subchannel) vs Node's tls.connect with a reused secure context (target >= 0.9x); grpc-js
//     createSsl and grpc-js's experimental certificate-provider credentials as references. And the
//     server side: Node's client against the Sigil server vs against a createSsl server.
// Candidates run round-robin (each round starting with a different one), so machine noise hits
// all alike; figures are medians of rounds. Besides wall-clock rates the report gives rates per
// CPU-second of client plus server process (process.cpuUsage on both sides): on a shared, noisy
// machine that is the steadier measure of what each path costs.
//
// Run: `pnpm bench grpc-tls` (builds first) or `node bench/run.js grpc-tls` after `pnpm build`.
// Knobs: GRPC_TLS_BENCH_ROUNDS (default 9), GRPC_TLS_BENCH_ROUND_MS (default 700),
// GRPC_TLS_BENCH_CONCURRENCY (default 32), GRPC_TLS_BENCH_HANDSHAKE_CONCURRENCY (default 4).
'use strict';
const { Buffer } = require('node:buffer');
const { spawn } = require('node:child_process');
const { createRequire } = require('node:module');
const { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const tls = require('node:tls');
const pki = require('@sigil/pki');
const { createClientCredentials, loadClientTlsConfig } = require('@sigil/grpc-tls');

const fromGrpcTls = createRequire(require.resolve('@sigil/grpc-tls/package.json'));
const grpc = fromGrpcTls('@grpc/grpc-js');
const pino = fromGrpcTls('pino');

const ROUNDS = Number(process.env.GRPC_TLS_BENCH_ROUNDS ?? 9);
const ROUND_MS = Number(process.env.GRPC_TLS_BENCH_ROUND_MS ?? 700);
const CONCURRENCY = Number(process.env.GRPC_TLS_BENCH_CONCURRENCY ?? 32);
const HANDSHAKE_CONCURRENCY = Number(process.env.GRPC_TLS_BENCH_HANDSHAKE_CONCURRENCY ?? 4);
const TRUST_DOMAIN = 'bench.example.org';
const SERVER_ID = `spiffe://${TRUST_DOMAIN}/svc/echo`;
const CLIENT_ID = `spiffe://${TRUST_DOMAIN}/svc/client`;
const PAYLOAD = Buffer.alloc(64, 7);

const Echo = grpc.makeGenericClientConstructor(
  {
    echo: {
      path: '/sigil.bench.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: (b) => b,
      responseDeserialize: (b) => b,
    },
  },
  'Echo',
);

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sigil-grpc-tls-bench-'));
  const cleanups = [() => rmSync(work, { recursive: true, force: true })];
  try {
    const ca = await pki.createCertificateAuthority({ trustDomain: TRUST_DOMAIN });
    const server = await ca.issue({
      spiffeId: SERVER_ID,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      profile: 'svid',
    });
    const client = await ca.issue({ spiffeId: CLIENT_ID, profile: 'svid' });
    const serverDir = writeSecret(path.join(work, 'server'), server);
    const clientDir = writeSecret(path.join(work, 'client'), client);

    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'grpc-tls-server.js'), serverDir, CLIENT_ID],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    cleanups.unshift(
      () =>
        new Promise((resolve) =>
          child.exitCode === null ? (child.once('exit', resolve), child.stdin.end()) : resolve(),
        ),
    );
    // The server answers each request with one JSON line, in order.
    const lines = readline.createInterface({ input: child.stdout });
    const pending = [];
    lines.on('line', (line) => pending.shift()?.resolve(JSON.parse(line)));
    child.once('exit', (code) => {
      for (const waiter of pending.splice(0))
        waiter.reject(new Error(`bench server exited with ${code}`));
    });
    const nextLine = () => new Promise((resolve, reject) => pending.push({ resolve, reject }));
    const ports = await nextLine();
    /** CPU microseconds used so far by the server process. */
    const serverCpu = async () => {
      const reply = nextLine();
      child.stdin.write('cpu\n');
      const { user, system } = await reply;
      return user + system;
    };
    /** Runs a measurement and adds its rate per CPU-second of both processes. */
    const withCpu = async (measure) => {
      const server0 = await serverCpu();
      const client0 = process.cpuUsage();
      const result = await measure();
      const client = process.cpuUsage(client0);
      const cpuSeconds = (client.user + client.system + (await serverCpu()) - server0) / 1e6;
      return { ...result, perCpu: result.count / cpuSeconds };
    };

    const silent = pino({ level: 'silent' });
    const sigilTls = await createClientCredentials(
      loadClientTlsConfig({
        dir: clientDir,
        env: {},
        expectedServerId: SERVER_ID,
        watch: false,
        pollIntervalMs: 0,
        reloadOnSighup: false,
      }),
      { logger: silent },
    );
    cleanups.unshift(() => sigilTls.close());
    const keyPair = {
      ca: Buffer.from(client.caPem),
      key: Buffer.from(client.privateKeyPem),
      cert: Buffer.from(client.chainPem),
    };
    const stockCredentials = grpc.credentials.createSsl(keyPair.ca, keyPair.key, keyPair.cert);

    // (a) unary RPCs
    const unary = [
      {
        id: 'plain',
        label: 'plaintext grpc-js',
        client: new Echo(`127.0.0.1:${ports.plainPort}`, grpc.credentials.createInsecure()),
      },
      {
        id: 'stock',
        label: 'grpc-js createSsl mutual TLS (reference)',
        client: new Echo(`localhost:${ports.stockPort}`, stockCredentials),
      },
      {
        id: 'sigil',
        label: 'Sigil mutual TLS + authorization interceptor',
        client: new Echo(
          `localhost:${ports.sigilPort}`,
          sigilTls.credentials,
          sigilTls.channelOptions,
        ),
      },
      {
        id: 'bare',
        label: 'Sigil mutual TLS, no interceptor (reference)',
        client: new Echo(
          `localhost:${ports.sigilBarePort}`,
          sigilTls.credentials,
          sigilTls.channelOptions,
        ),
      },
    ];
    for (const c of unary) cleanups.unshift(() => c.client.close());
    for (const c of unary) await call(c.client); // connect, and prove each path works (authorization admits the client)

    // (b) handshakes, all against the Sigil server unless noted
    const target = { scheme: 'dns', path: `localhost:${ports.sigilPort}` };
    const reusedContext = tls.createSecureContext(keyPair);
    const providerCredentials = grpc.experimental.createCertificateProviderChannelCredentials(
      staticProvider(keyPair),
      staticProvider(keyPair),
      {},
    );
    const connectors = {
      sigil: sigilTls.credentials._createSecureConnector(target, {}),
      stock: stockCredentials._createSecureConnector(target, {}),
      provider: providerCredentials._createSecureConnector(target, {}),
    };
    cleanups.unshift(() => Object.values(connectors).forEach((c) => c.destroy()));
    const handshakes = [
      {
        id: 'raw',
        label: 'Node tls.connect, reused secure context',
        run: () => rawHandshake(ports.sigilPort, reusedContext),
      },
      {
        id: 'sigil',
        label: 'Sigil channel credentials',
        run: () => connectorHandshake(ports.sigilPort, connectors.sigil),
      },
      {
        id: 'stock',
        label: 'grpc-js createSsl (reference, no rotation)',
        run: () => connectorHandshake(ports.sigilPort, connectors.stock),
      },
      {
        id: 'provider',
        label: 'grpc-js certificate-provider credentials (reference)',
        run: () => connectorHandshake(ports.sigilPort, connectors.provider),
      },
      {
        id: 'raw-stock-server',
        label: 'Node tls.connect -> grpc-js createSsl server',
        run: () => rawHandshake(ports.stockPort, reusedContext),
      },
    ];
    for (const h of handshakes) await h.run();

    const unarySamples = new Map(unary.map((c) => [c.id, []]));
    const handshakeSamples = new Map(handshakes.map((h) => [h.id, []]));
    for (const c of unary) await unaryRound(c.client, Math.min(300, ROUND_MS)); // warm-up
    for (const h of handshakes)
      await closedLoop(h.run, HANDSHAKE_CONCURRENCY, Math.min(300, ROUND_MS));
    // Each round starts with a different candidate, so none always runs right after another.
    const rotate = (list, round) => list.map((_, i) => list[(i + round) % list.length]);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const c of rotate(unary, round)) {
        globalThis.gc?.();
        unarySamples.get(c.id).push(await withCpu(() => unaryRound(c.client, ROUND_MS)));
      }
      for (const h of rotate(handshakes, round)) {
        globalThis.gc?.();
        handshakeSamples
          .get(h.id)
          .push(await withCpu(() => closedLoop(h.run, HANDSHAKE_CONCURRENCY, ROUND_MS)));
      }
    }

    printMachine();
    console.log(
      `rounds: ${ROUNDS} x ${ROUND_MS} ms per candidate, interleaved; medians of rounds (min..max); ` +
        `"per CPU-s" = per CPU-second of client + server process; ratios are medians of per-round ratios\n`,
    );
    const width = 52;
    const report = (samples, candidates, unit, extra = () => '') => {
      for (const c of candidates) {
        const rates = samples.get(c.id).map((s) => s.rate);
        const perCpu = median(samples.get(c.id).map((s) => s.perCpu));
        console.log(
          `  ${c.label.padEnd(width)} ${fmt(median(rates)).padStart(7)} ${unit}/s (${fmt(Math.min(...rates))}..${fmt(Math.max(...rates))})  ${fmt(perCpu).padStart(6)} per CPU-s${extra(c.id)}`,
        );
      }
    };
    const ratios = (samples, id, baseline) => ({
      wall: pairedRatio(
        samples.get(id).map((s) => s.rate),
        samples.get(baseline).map((s) => s.rate),
      ),
      cpu: pairedRatio(
        samples.get(id).map((s) => s.perCpu),
        samples.get(baseline).map((s) => s.perCpu),
      ),
    });
    const show = ({ wall, cpu }) =>
      `${wall.toFixed(2)}x wall-clock, ${cpu.toFixed(2)}x per CPU-second`;

    console.log(
      `(a) unary RPC, ${PAYLOAD.length}-byte echo, ${CONCURRENCY} concurrent calls on one channel, server in another process`,
    );
    const latency = (id, key) => median(unarySamples.get(id).map((s) => s[key]));
    report(
      unarySamples,
      unary,
      'calls',
      (id) => `  p50 ${latency(id, 'p50').toFixed(2)} ms  p99 ${latency(id, 'p99').toFixed(2)} ms`,
    );
    const unaryRatio = ratios(unarySamples, 'sigil', 'plain');
    console.log(`  Sigil mTLS + authz vs plaintext: ${show(unaryRatio)} (target >= 0.9x)`);
    console.log(
      `  latency vs plaintext: p50 ${pairedRatio(
        unarySamples.get('sigil').map((s) => s.p50),
        unarySamples.get('plain').map((s) => s.p50),
      ).toFixed(2)}x, p99 ${pairedRatio(
        unarySamples.get('sigil').map((s) => s.p99),
        unarySamples.get('plain').map((s) => s.p99),
      ).toFixed(2)}x`,
    );
    console.log(
      `  Sigil mTLS + authz vs grpc-js createSsl mTLS: ${show(ratios(unarySamples, 'sigil', 'stock'))}`,
    );
    console.log(
      `  Sigil mTLS without interceptor vs grpc-js createSsl mTLS: ${show(ratios(unarySamples, 'bare', 'stock'))}`,
    );
    console.log(
      `  cost of the authorization interceptor (Sigil mTLS + authz vs without): ${show(ratios(unarySamples, 'sigil', 'bare'))}`,
    );

    console.log(
      `\n(b) new mutual-TLS connections (TCP + handshake + server's first HTTP/2 frame), ${HANDSHAKE_CONCURRENCY} at a time, to the Sigil server`,
    );
    report(handshakeSamples, handshakes, 'conn');
    const handshakeRatio = ratios(handshakeSamples, 'sigil', 'raw');
    console.log(
      `  Sigil credentials vs Node tls with a reused secure context: ${show(handshakeRatio)} (target >= 0.9x)`,
    );
    console.log(
      `  grpc-js certificate-provider credentials vs Node tls: ${show(ratios(handshakeSamples, 'provider', 'raw'))} (a fresh secure context per connection; why Sigil caches one per rotation)`,
    );
    console.log(
      `  server side, Sigil server vs grpc-js createSsl server (same Node client): ${show(ratios(handshakeSamples, 'raw', 'raw-stock-server'))}`,
    );
    const ok = (ratio) => (ratio >= 0.9 ? 'met' : 'MISSED');
    const verdict = (r) => `${ok(r.wall)} wall-clock / ${ok(r.cpu)} per CPU-second`;
    console.log(`\ntargets: unary ${verdict(unaryRatio)}, handshakes ${verdict(handshakeRatio)}`);
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

function writeSecret(dir, issued) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tls.crt'), issued.chainPem);
  writeFileSync(path.join(dir, 'tls.key'), issued.privateKeyPem, { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.crt'), issued.caPem);
  return dir;
}

/** A grpc-js CertificateProvider serving fixed material (the provider API a file watcher would feed). */
function staticProvider({ ca, key, cert }) {
  return {
    addCaCertificateListener: (listener) => listener({ caCertificate: ca }),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => listener({ certificate: cert, privateKey: key }),
    removeIdentityCertificateListener: () => undefined,
  };
}

function call(client) {
  return new Promise((resolve, reject) =>
    client.echo(PAYLOAD, (err, response) => (err ? reject(err) : resolve(response))),
  );
}

/** One closed-loop round of unary calls: rate and latency percentiles. */
async function unaryRound(client, ms) {
  const latencies = [];
  const { count, rate } = await closedLoop(
    async () => {
      const start = process.hrtime.bigint();
      await call(client);
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    },
    CONCURRENCY,
    ms,
  );
  return { count, rate, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** Keeps `concurrency` runs in flight for `ms`; completed runs per second. */
async function closedLoop(run, concurrency, ms) {
  let done = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (process.hrtime.bigint() < deadline) {
        await run();
        done += 1;
      }
    }),
  );
  return { count: done, rate: done / (Number(process.hrtime.bigint() - start) / 1e9) };
}

/** Resolves when the server's first bytes arrive on `socket` (its HTTP/2 SETTINGS), then closes it. */
function firstServerFrame(socket) {
  return new Promise((resolve, reject) => {
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

function rawHandshake(port, secureContext) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: 'localhost', secureContext, ALPNProtocols: ['h2'] },
      () => firstServerFrame(socket).then(resolve, reject),
    );
    socket.once('error', reject);
  });
}

function connectorHandshake(port, connector) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      connector
        .connect(socket)
        .then(({ socket: secure }) => firstServerFrame(secure))
        .then(resolve, reject);
    });
    socket.once('error', reject);
  });
}

/** Candidates of one round run back to back: the median of their per-round ratios resists load drift. */
function pairedRatio(values, baselines) {
  return median(values.map((value, round) => value / baselines[round]));
}

function median(values) {
  return percentile(values, 0.5);
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const index = (sorted.length - 1) * p;
  return (sorted[Math.floor(index)] + sorted[Math.ceil(index)]) / 2;
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

function printMachine() {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    model =
      (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/) ?? [])[1] ?? model;
  } catch {
    // not Linux
  }
  console.log(
    `machine: ${os.availableParallelism?.() ?? os.cpus().length} cores, ${model}, node ${process.version}, ${os.platform()} ${os.release()}, load ${os.loadavg()[0].toFixed(1)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
