#!/usr/bin/env node
// Data-plane benchmark: TCP through a Sigil tunnel (sigil-tunneler --forward -> one mTLS HTTP/2
// connection -> sigil-connector -> resource) against the same workload direct and through a peer
// baseline, two `socat` processes with OpenSSL mutual TLS (client side TCP-LISTEN -> OPENSSL,
// server side OPENSSL-LISTEN -> TCP), all measured in one run on loopback.
//
// Workloads, per path:
//   - one large transfer: the resource streams --megabytes MiB on one connection (download), and
//     the client streams as much to a sink (upload); MiB/s.
//   - round trips: 64-byte request/echo on one new connection; p50/p99 per round trip after the
//     first 1000, and the latency each path adds to direct. The first 1000 (a fifth of a second)
//     are reported apart: every multi-process path is slower while its idle processes wake up
//     (socat too), the tunnel more, and for longer after a longer idle.
//   - pgbench (select-only, --clients connections, --seconds) against PostgreSQL at
//     127.0.0.1:5432 (database sigil_bench_dataplane, initialised once); tps.
//   - the CPU time each path's own processes spend per MiB and per 1,000 pgbench transactions
//     (the two agents; the socat processes with their forked children), from /proc: unlike the
//     rates, it barely moves with what else the machine runs.
// Before the rounds, every path gets --warmup round trips, a 2 s pgbench and one transfer each way,
// unmeasured: the agents' JavaScript is compiled by then (the first 1000 round trips after start,
// reported as "cold", are several times slower), as in a connector up for a while. Each round
// then runs round trips, pgbench and the transfers, in that order, path after path.
// And the data-path codec: ForwardFrame encode + decode per frame, the generated ts-proto codec
// against @sigil/proto's (controlplaneV1.encodeForwardFrame / decodeForwardFrame).
// Goal (docs/benchmarks.md): tunnel throughput at least 0.8x socat's, added p99 under 1 ms.
//
// Run: `pnpm bench data-plane` (builds first) or `node bench/data-plane.bench.js` after `pnpm build`.
//   --megabytes 256   size of the large transfer (default 256)
//   --round-trips 20000  per path and round; the first 1000 are reported apart (default 20000)
//   --seconds 10      pgbench duration per path (default 10)
//   --clients 4       pgbench connections (default 4)
//   --rounds 3        interleaved rounds; medians are reported (default 3)
//   --warmup 5000     unmeasured round trips per path before the rounds (default 5000)
//
// BENCH_AGENT_NODE_ARGS (e.g. "--max-semi-space-size=16", or "--cpu-prof --cpu-prof-dir=/tmp/prof")
// adds Node flags to the connector and the tunneler (NODE_OPTIONS refuses --cpu-prof).
'use strict';
/* global fetch */
const { Buffer } = require('node:buffer');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { createController } = require('@sigil/controller');
const { controlplaneV1 } = require('@sigil/proto');

const ROOT = path.resolve(__dirname, '..');
const GOAL = { throughputRatio: 0.8, addedP99Ms: 1 };
const PG_DATABASE = 'sigil_bench_dataplane';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const MEGABYTES = option('megabytes', 256);
const ROUND_TRIPS = option('round-trips', 20000);
/** Round trips at the start of each connection kept out of p50/p99 and reported apart. */
const SETTLE_ROUND_TRIPS = 1000;
const SECONDS = option('seconds', 10);
const CLIENTS = option('clients', 4);
const ROUNDS = option('rounds', 3);
const WARMUP = option('warmup', 5000);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

// ---------------------------------------------------------------------------------------------
// Resources: a source (streams N bytes then closes), a sink (counts, answers the count at EOF)
// and an echo server.

const CHUNK = Buffer.alloc(64 * 1024, 7);

function sourceServer() {
  return net.createServer((socket) => {
    let left = MEGABYTES * 1024 * 1024;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    socket.on('error', () => undefined);
    pump();
  });
}

function sinkServer() {
  return net.createServer({ allowHalfOpen: true }, (socket) => {
    let size = 0;
    socket.on('data', (chunk) => (size += chunk.length));
    socket.on('end', () => socket.end(String(size)));
    socket.on('error', () => undefined);
  });
}

function echoServer() {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => undefined);
  });
}

// ---------------------------------------------------------------------------------------------
// Workloads against one local port.

function download(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let size = 0;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (chunk) => (size += chunk.length));
    socket.on('end', () => {
      const seconds = (performance.now() - started) / 1000;
      if (size !== MEGABYTES * 1024 * 1024) reject(new Error(`download got ${size} bytes`));
      else resolve(MEGABYTES / seconds);
    });
    socket.on('error', reject);
  });
}

function upload(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let answer = '';
    let left = MEGABYTES * 1024 * 1024;
    const pump = () => {
      while (left > 0) {
        left -= CHUNK.length;
        if (!socket.write(CHUNK)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.on('connect', pump);
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => {
      const seconds = (performance.now() - started) / 1000;
      if (Number(answer) !== MEGABYTES * 1024 * 1024) reject(new Error(`sink got ${answer}`));
      else resolve(MEGABYTES / seconds);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/**
 * `count` round trips on one new connection: p50/p99 of those after the first SETTLE_ROUND_TRIPS,
 * and p99 of those first ones (`firstP99`), which pay for the path's processes waking up from idle.
 */
function roundTrips(port, count = ROUND_TRIPS) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const message = Buffer.alloc(64, 1);
    const times = [];
    let sentAt = 0;
    let got = 0;
    const send = () => {
      got = 0;
      sentAt = performance.now();
      socket.write(message);
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      got += chunk.length;
      if (got < message.length) return;
      times.push(performance.now() - sentAt);
      if (times.length < count) send();
      else {
        socket.destroy();
        const sorted = (list) => [...list].sort((a, b) => a - b);
        const steady = sorted(times.slice(SETTLE_ROUND_TRIPS));
        resolve({
          p50: percentile(steady, 0.5),
          p99: percentile(steady, 0.99),
          firstP99: percentile(sorted(times.slice(0, SETTLE_ROUND_TRIPS)), 0.99),
        });
      }
    });
    socket.on('error', reject);
  });
}

function pgbench(port, seconds = SECONDS) {
  const run = spawnSync(
    'pgbench',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'postgres',
      '-n',
      '-S',
      '-c',
      String(CLIENTS),
      '-j',
      '2',
      '-T',
      String(seconds),
      PG_DATABASE,
    ],
    { encoding: 'utf8' },
  );
  const tps = /tps = ([\d.]+)/.exec(run.stdout);
  const latency = /latency average = ([\d.]+) ms/.exec(run.stdout);
  if (run.status !== 0 || tps === null)
    throw new Error(`pgbench failed: ${run.stderr || run.stdout}`);
  return { tps: Number(tps[1]), latencyMs: Number(latency?.[1] ?? NaN) };
}

// ---------------------------------------------------------------------------------------------
// CPU time of a path's processes (user + system, with their reaped children: socat forks one per
// connection), ms, from /proc/<pid>/stat; NaN where there is no /proc.

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

function cpuMs(processes) {
  let ticks = 0;
  for (const child of processes) {
    try {
      // Fields after the command name: state is 0, utime 11, stime 12, cutime 13, cstime 14.
      const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      for (const i of [11, 12, 13, 14]) ticks += Number(fields[i]);
    } catch {
      return NaN;
    }
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Runs `workload` and returns its result with the CPU ms `processes` spent on it. */
async function measured(processes, workload) {
  const before = cpuMs(processes);
  const result = await workload();
  await sleep(300); // socat reaps a finished connection's child (and adds its CPU) on SIGCHLD
  return { result, cpuMs: cpuMs(processes) - before };
}

// ---------------------------------------------------------------------------------------------
// The data-path codec: µs per encode + decode of one data frame, generated against @sigil/proto's.

function codecBench() {
  // The Forward (de)serializers of the generated definition and of the one the agents use.
  const codec = (service) => ({
    encode: service.forward.requestSerialize,
    decode: service.forward.requestDeserialize,
  });
  const generated = codec(controlplaneV1.ConnectorServiceService);
  const dataPath = codec(controlplaneV1.ConnectorServiceDataPathService);
  const perFrame = (codec, frame, n) => {
    const started = performance.now();
    for (let i = 0; i < n; i += 1) codec.decode(codec.encode(frame));
    return ((performance.now() - started) * 1000) / n;
  };
  process.stdout.write(
    '| ForwardFrame data, encode + decode | generated µs | @sigil/proto µs | speed-up |\n|---|---:|---:|---:|\n',
  );
  for (const size of [64, 64 * 1024]) {
    const frame = { body: { $case: 'data', data: Buffer.alloc(size, 7) } };
    const n = size > 1024 ? 20_000 : 500_000;
    const times = { generated: [], dataPath: [] };
    for (let i = 0; i < 3; i += 1) {
      times.generated.push(perFrame(generated, frame, n));
      times.dataPath.push(perFrame(dataPath, frame, n));
    }
    const g = median(times.generated);
    const d = median(times.dataPath);
    process.stdout.write(
      `| ${size.toLocaleString('en-US')} bytes | ${g.toFixed(2)} | ${d.toFixed(2)} | ${(g / d).toFixed(1)}x |\n`,
    );
  }
  process.stdout.write('\n');
}

// ---------------------------------------------------------------------------------------------
// Set-up: controller (in this process, idle while measuring), connector and tunneler as their
// bins, socat pairs with an OpenSSL mutual-TLS hop.

function agent(bin, env) {
  const flags = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, path.join(ROOT, bin), 'run', '--ephemeral'], {
    env: { ...process.env, LOG_LEVEL: 'warn', AGENT_HTTP_ADDR: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

function socatPair(targetPort, certDir) {
  const tlsPort = portsInUse.next();
  const localPort = portsInUse.next();
  const tls = `cert=${certDir}/cert.pem,key=${certDir}/key.pem,cafile=${certDir}/cert.pem,verify=1`;
  const server = spawn(
    'socat',
    [
      `OPENSSL-LISTEN:${tlsPort},bind=127.0.0.1,reuseaddr,fork,${tls}`,
      `TCP:127.0.0.1:${targetPort},nodelay`,
    ],
    { stdio: 'ignore' },
  );
  const client = spawn(
    'socat',
    [
      `TCP-LISTEN:${localPort},bind=127.0.0.1,reuseaddr,fork,nodelay`,
      `OPENSSL:127.0.0.1:${tlsPort},${tls},commonname=localhost,nodelay`,
    ],
    { stdio: 'ignore' },
  );
  return { port: localPort, children: [server, client] };
}

const portsInUse = {
  list: [],
  next() {
    return this.list.shift();
  },
};

async function waitConnectable(port, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write('x'));
      socket.on('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up`);
    await sleep(200);
  }
}

async function main() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-bench-dataplane-'));
  const agents = [];
  const socats = [];
  const servers = [];
  let controller;
  try {
    codecBench();
    for (let i = 0; i < 12; i += 1) portsInUse.list.push(await freePort());
    const certDir = path.join(scratch, 'tls');
    fs.mkdirSync(certDir);
    spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${certDir}/key.pem`,
        '-out',
        `${certDir}/cert.pem`,
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );

    const source = sourceServer();
    const sink = sinkServer();
    const echo = echoServer();
    servers.push(source, sink, echo);
    const ports = {
      source: await listen(source),
      sink: await listen(sink),
      echo: await listen(echo),
      pg: 5432,
    };

    const exists = spawnSync(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-d',
        'test',
        '-tAc',
        `SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'`,
      ],
      { encoding: 'utf8' },
    );
    if (exists.stdout.trim() !== '1') {
      spawnSync(
        'psql',
        ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-c', `CREATE DATABASE ${PG_DATABASE}`],
        { stdio: 'ignore' },
      );
      spawnSync(
        'pgbench',
        ['-h', '127.0.0.1', '-U', 'postgres', '-i', '-s', '2', '-q', PG_DATABASE],
        { stdio: 'ignore' },
      );
    }

    controller = createController({
      dataDir: path.join(scratch, 'controller'),
      trustDomain: 'bench.sigil',
      controllerListenAddress: '127.0.0.1:0',
      adminListenAddress: '127.0.0.1:0',
      adminToken: 'bench-admin-token-0123456789abcdef',
      logger: require('pino')({ level: 'warn' }),
    });
    await controller.start();
    const admin = async (method, route, body) => {
      const res = await fetch(`${controller.adminUrl}${route}`, {
        method,
        headers: {
          authorization: 'Bearer bench-admin-token-0123456789abcdef',
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const connectorPort = portsInUse.next();
    const common = {
      CONTROLLER_ADDR: controller.grpcAddress,
      CONTROLLER_CA_PATH: controller.bootstrapCaPath,
    };
    const connectorToken = await admin('POST', '/api/admin/tokens', {
      kind: 'connector',
      id: 'bench-edge',
    });
    agents.push(
      agent('services/connector/bin/sigil-connector.js', {
        ...common,
        ENROLLMENT_TOKEN: connectorToken.token,
        CONNECTOR_ID: 'bench-edge',
        CONNECTOR_LISTEN_ADDR: `127.0.0.1:${connectorPort}`,
        SIGIL_WORKLOAD_API_SOCKET: 'off',
      }),
    );
    const names = Object.keys(ports);
    for (const name of names)
      await admin('POST', '/api/admin/resources', {
        name,
        address: `127.0.0.1:${ports[name]}`,
        connector_id: 'bench-edge',
      });
    await admin('POST', '/api/admin/tokens', {
      kind: 'tunneler',
      id: 'bench-laptop',
      connector_id: 'bench-edge',
      labels: ['bench'],
    }).then(async (t) => {
      const local = {};
      for (const name of names) local[name] = await freePort();
      for (const name of names)
        await admin('POST', '/api/admin/grants', { resource: name, label: 'bench' });
      agents.push(
        agent('services/tunneler/bin/sigil-tunneler.js', {
          ...common,
          ENROLLMENT_TOKEN: t.token,
          TUNNELER_ID: 'bench-laptop',
          CONNECTOR_ADDR: `127.0.0.1:${connectorPort}`,
          TUNNELER_FORWARDS: names.map((n) => `127.0.0.1:${local[n]}=${n}`).join(','),
        }),
      );
      ports.tunnel = local;
    });
    const socat = {};
    for (const name of ['source', 'sink', 'echo', 'pg']) {
      const pair = socatPair(ports[name], certDir);
      socats.push(...pair.children);
      socat[name] = pair.port;
    }
    await waitConnectable(ports.tunnel.echo, 'the tunnel');
    await waitConnectable(socat.echo, 'socat');

    const paths = {
      direct: { source: ports.source, sink: ports.sink, echo: ports.echo, pg: 5432 },
      'sigil tunnel': ports.tunnel,
      'socat + OpenSSL mTLS': socat,
    };
    const processes = { direct: [], 'sigil tunnel': agents, 'socat + OpenSSL mTLS': socats };
    const results = Object.fromEntries(
      Object.keys(paths).map((p) => [
        p,
        {
          down: [],
          up: [],
          p50: [],
          p99: [],
          firstP99: [],
          tps: [],
          pgLatency: [],
          cpuDown: [],
          cpuPg: [],
        },
      ]),
    );
    const cold = {};
    for (const [name, p] of Object.entries(paths)) {
      cold[name] = await roundTrips(p.echo, Math.max(WARMUP, SETTLE_ROUND_TRIPS + 1));
      pgbench(p.pg, 2);
      await download(p.source);
      await upload(p.sink);
    }
    process.stdout.write('warm-up done\n');
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, p] of Object.entries(paths)) {
        const r = results[name];
        const rt = await roundTrips(p.echo);
        r.p50.push(rt.p50);
        r.p99.push(rt.p99);
        r.firstP99.push(rt.firstP99);
        const pg = await measured(processes[name], async () => pgbench(p.pg));
        r.tps.push(pg.result.tps);
        r.pgLatency.push(pg.result.latencyMs);
        r.cpuPg.push(pg.cpuMs / ((pg.result.tps * SECONDS) / 1000));
        const down = await measured(processes[name], () => download(p.source));
        r.down.push(down.result);
        r.cpuDown.push(down.cpuMs / MEGABYTES);
        r.up.push(await upload(p.sink));
      }
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
    }

    const m = (name, key) => median(results[name][key]);
    const fmt = (v, digits = 1) =>
      v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    process.stdout.write(
      `\nmachine: ${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}, Node ${process.version}\n`,
    );
    process.stdout.write(
      `${ROUNDS} interleaved rounds after a warm-up of ${WARMUP} round trips, 2 s of pgbench and a transfer each way per path; medians. Transfer ${MEGABYTES} MiB; ${ROUND_TRIPS} round trips of 64 bytes (the first ${SETTLE_ROUND_TRIPS} apart); pgbench -S -c ${CLIENTS} -T ${SECONDS}\n\n`,
    );
    process.stdout.write(
      '| path | download MiB/s | upload MiB/s | round trip p50 ms | p99 ms | first 1000 p99 ms | cold p99 ms | pgbench tps | pgbench latency ms | path CPU ms per MiB down | per 1k pgbench tx |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n',
    );
    for (const name of Object.keys(paths))
      process.stdout.write(
        `| ${name} | ${fmt(m(name, 'down'), 0)} | ${fmt(m(name, 'up'), 0)} | ${fmt(m(name, 'p50'), 3)} | ${fmt(m(name, 'p99'), 3)} | ${fmt(m(name, 'firstP99'), 3)} | ${fmt(cold[name].firstP99, 3)} | ${fmt(m(name, 'tps'), 0)} | ${fmt(m(name, 'pgLatency'), 3)} | ${fmt(m(name, 'cpuDown'), 2)} | ${fmt(m(name, 'cpuPg'), 0)} |\n`,
      );
    const tunnel = 'sigil tunnel';
    const peer = 'socat + OpenSSL mTLS';
    const ratio = (key) => m(tunnel, key) / m(peer, key);
    const added = (key) => m(tunnel, key) - m('direct', key);
    const verdict = (ok) => (ok ? 'met' : 'MISSED');
    process.stdout.write('\n| ratio | value | goal |\n|---|---:|---|\n');
    process.stdout.write(
      `| tunnel / socat, download | ${fmt(ratio('down'), 2)}x | >= ${GOAL.throughputRatio}x: ${verdict(ratio('down') >= GOAL.throughputRatio)} |\n`,
    );
    process.stdout.write(
      `| tunnel / socat, upload | ${fmt(ratio('up'), 2)}x | >= ${GOAL.throughputRatio}x: ${verdict(ratio('up') >= GOAL.throughputRatio)} |\n`,
    );
    process.stdout.write(`| tunnel / socat, pgbench tps | ${fmt(ratio('tps'), 2)}x | |\n`);
    process.stdout.write(
      `| tunnel / direct, pgbench tps | ${fmt(m(tunnel, 'tps') / m('direct', 'tps'), 2)}x | |\n`,
    );
    process.stdout.write(`| added per round trip, p50 | ${fmt(added('p50'), 3)} ms | |\n`);
    process.stdout.write(
      `| added per round trip, p99 | ${fmt(added('p99'), 3)} ms | < ${GOAL.addedP99Ms} ms: ${verdict(added('p99') < GOAL.addedP99Ms)} |\n`,
    );
    process.stdout.write(
      `| added per round trip, p99 of the first ${SETTLE_ROUND_TRIPS}: after idle / after start | ${fmt(added('firstP99'), 3)} / ${fmt(cold[tunnel].firstP99 - cold.direct.firstP99, 3)} ms | |\n`,
    );
    process.stdout.write(
      `| path CPU, tunnel / socat: per MiB down, per pgbench tx | ${fmt(ratio('cpuDown'), 2)}x, ${fmt(ratio('cpuPg'), 2)}x | |\n`,
    );
    process.stdout.write(
      `| socat added per round trip, p50 / p99 | ${fmt(m(peer, 'p50') - m('direct', 'p50'), 3)} / ${fmt(m(peer, 'p99') - m('direct', 'p99'), 3)} ms | |\n`,
    );
  } finally {
    for (const child of [...agents, ...socats]) child.kill('SIGTERM');
    for (const server of servers) server.close();
    if (controller !== undefined) await controller.stop({ graceMs: 200 }).catch(() => undefined);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`data-plane bench failed: ${err.stack}\n`);
    process.exit(1);
  },
);
