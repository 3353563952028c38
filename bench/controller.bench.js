#!/usr/bin/env node
// Controller load test: N simulated connectors against one `sigil-controller` process.
//
// Each simulated agent has its own P-256 key and X509-SVID (enrolled with a one-time token through
// @sigil/agent's enrollAgent, exactly as `sigil-connector enroll` does) and its own mutual-TLS
// connection carrying a ControlPlaneService.Connect stream: Hello, then a heartbeat every
// --interval (10 s, first ones spread over the interval), and a Renew by CSR at 30% remaining
// lifetime of a short certificate (--ttl), on a connection of its own. The agents run in --workers
// child processes, the controller in another, so the controller's RSS and CPU are its own.
//
// Reports, per N: enrollments/s (tokens created through the admin API beforehand), heartbeat
// round trip (heartbeat written -> HeartbeatAck read) p50/p99 over the measurement window,
// renewals/s in the window, controller peak RSS and CPU (share of one core), and errors; p50 and
// p99 also as ratios to a baseline measured first in the same run (one agent, same machine).
// Goal: 10k agents on one controller process, heartbeat p99 < 50 ms, RSS < 1 GiB, and in the
// renewal storm no failed renewal and heartbeat p99 < 100 ms; every miss is printed as such.
//
// With --replicas 2 the controllers share one PostgreSQL database (sigil_bench_controller on
// 127.0.0.1:5432, dropped and created for the run) and one DATA_DIR, and every agent lists all
// of them, its home replica first (agent i's home is replica i mod R). After the storm the first
// replica is SIGKILLed and the bench times the failover: until every agent streams again, and
// until the survivor's sigil_controller_connected_agents counts them all.
//
// Run: `pnpm bench controller` (builds first) or `node bench/controller.bench.js` after `pnpm build`.
//   --agents 1000,5000,10000   the N to run, one after the other (default 200: a quick run)
//   --duration 60              seconds of measurement window after every stream is up (default 30)
//   --interval 10000           heartbeat interval, ms (default 10000)
//   --ttl 60                   connector certificate lifetime, s (default 30; renewals every ~20 s)
//   --workers 4                agent processes (default 4)
//   --storm 0                  skip the renewal storm after the window (default 1: run it)
//   --replicas 2               controller replicas on PostgreSQL (default 1: one on SQLite);
//                              --agents is then the whole fleet (20000 on two: 10k each)
//   --failover 0               skip the failover run (default 1 with two or more replicas)
//
// BENCH_CONTROLLER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") adds Node flags to every
// controller process (NODE_OPTIONS refuses --cpu-prof); MALLOC_*, NODE_OPTIONS and LD_PRELOAD (an
// allocator such as jemalloc) pass through too.
//
// Memory per connected agent: the controller's RSS just before the streams open (after
// enrollment, so the enrolled registry is counted in both) and once they are all up and have
// beaten for the settle interval; (after - before) / streams up is reported as KiB per agent.
'use strict';
/* global fetch */
const { fork, spawn, spawnSync } = require('node:child_process');
const { createRequire } = require('node:module');
const { Buffer } = require('node:buffer');
const { randomBytes, X509Certificate } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { clearInterval, clearTimeout, setInterval, setTimeout } = require('node:timers');

const ROOT = path.resolve(__dirname, '..');
const fromAgent = createRequire(path.join(ROOT, 'packages/agent/package.json'));
const grpc = fromAgent('@grpc/grpc-js');
const { enrollAgent, renewalTime } = require('@sigil/agent');
const { createCertificateSigningRequest, generateKeyPair } = require('@sigil/pki');
const { controlplaneV1 } = require('@sigil/proto');

const GOAL = { agents: 10_000, p99Ms: 50, rssBytes: 1024 ** 3, stormP99Ms: 100 };
// Replicated runs (--replicas 2) share one database on the PostgreSQL every machine here runs.
const PG_HOST = '127.0.0.1';
const PG_DATABASE = 'sigil_bench_controller';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

// ---------------------------------------------------------------------------------------------
// Worker: a slice of the simulated agents.

function runWorker() {
  let job;
  const agents = [];
  // The load generator's own event-loop delay: when it is high, latencies measured here are the
  // generator's, not the controller's.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let rtts = [];
  let renewals = 0;
  let renewalFailures = 0;
  let renewalRetries = 0;
  let streamFailures = 0;
  const timers = new Set();
  const later = (ms, fn) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const credentials = (agent) =>
    grpc.credentials.createSsl(
      Buffer.from(job.caPem),
      Buffer.from(agent.keyPem),
      Buffer.from(agent.chainPem),
    );
  const channelOptions = { 'grpc.use_local_subchannel_pool': 1 };

  async function enrollAll() {
    let next = 0;
    let failures = 0;
    const one = async () => {
      while (next < job.tokens.length) {
        const { id, token, home } = job.tokens[next++];
        // Its own failover list, as CONTROLLER_ADDR gives a real agent: its home replica first.
        const addresses = [...job.addresses.slice(home), ...job.addresses.slice(0, home)];
        try {
          const identity = await enrollAgent({
            kind: 'connector',
            agentId: id,
            token,
            controllerAddresses: addresses,
            controllerCaPem: job.caPem,
            controllerCaPath: 'bench',
            version: 'bench',
            privateIp: '127.0.0.1',
            timeoutMs: 120_000,
          });
          agents.push({
            id,
            addresses,
            at: 0,
            attempts: 0,
            keyPem: identity.privateKeyPem,
            chainPem: identity.certificateChainPem,
            validity: identity,
            sequence: 0,
            sent: new Map(),
            up: false,
          });
        } catch (err) {
          failures += 1;
          if (failures <= 3) process.send({ type: 'log', text: `enroll ${id}: ${err.message}` });
        }
      }
    };
    await Promise.all(Array.from({ length: job.enrollConcurrency }, one));
    return failures;
  }

  /**
   * Opens the agent's stream; resolves once the controller answered (or the stream failed). A
   * stream that fails later is opened again on the next address of the agent's list after a
   * full-jitter backoff (up to 500 ms on the first attempt, doubling, capped at 5 s), as
   * @sigil/agent does (RECONNECT_BACKOFF_INITIAL).
   */
  function connect(agent) {
    let settle;
    const settled = new Promise((resolve) => (settle = resolve));
    const client = new controlplaneV1.ControlPlaneServiceClient(
      agent.addresses[agent.at],
      credentials(agent),
      channelOptions,
    );
    const stream = client.connect();
    agent.client = client;
    agent.stream = stream;
    stream.on('data', (message) => {
      agent.up = true;
      agent.attempts = 0;
      settle();
      if (message.body?.$case !== 'heartbeatAck') return;
      const sentAt = agent.sent.get(message.body.heartbeatAck.sequence);
      if (sentAt === undefined) return;
      agent.sent.delete(message.body.heartbeatAck.sequence);
      rtts.push(performance.now() - sentAt);
    });
    stream.on('error', () => {
      settle();
      if (job.stopping) return;
      streamFailures += 1;
      agent.up = false;
      clearTimeout(agent.heartbeat);
      clearInterval(agent.heartbeat);
      client.close();
      agent.at = (agent.at + 1) % agent.addresses.length;
      agent.attempts += 1;
      later(Math.random() * Math.min(5000, 250 * 2 ** agent.attempts), () => connect(agent));
    });
    stream.write({ body: { $case: 'hello', hello: { version: 'bench', privateIp: '127.0.0.1' } } });
    const beat = () => {
      agent.sequence += 1;
      agent.sent.set(agent.sequence, performance.now());
      stream.write({
        body: {
          $case: 'heartbeat',
          heartbeat: {
            sequence: agent.sequence,
            version: 'bench',
            privateIp: '127.0.0.1',
            sentAt: Date.now(),
            certificateNotAfter: agent.validity.notAfter.getTime(),
            bundleVersion: 0,
          },
        },
      });
    };
    // Spread the fleet over one interval, then beat on the interval.
    agent.heartbeat = setTimeout(
      () => {
        beat();
        agent.heartbeat = setInterval(beat, job.interval);
      },
      Math.floor(Math.random() * job.interval),
    );
    if (!agent.scheduled) scheduleRenewal(agent);
    agent.scheduled = true;
    return settled;
  }

  function scheduleRenewal(agent) {
    later(Math.max(0, renewalTime(agent.validity).getTime() - Date.now()), () => renew(agent));
  }

  /**
   * One renewal at a time per agent, as a real agent has (a second one would present the
   * certificate the first is replacing): a renewal asked for while one is in flight waits for it.
   */
  async function renew(agent, reschedule = true) {
    if (agent.renewal === undefined)
      agent.renewal = renewOnce(agent, reschedule).finally(() => (agent.renewal = undefined));
    await agent.renewal;
  }

  /** Renew calls answered "unavailable, retry" (the controller shedding load) are retried. */
  const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

  async function renewOnce(agent, reschedule) {
    if (job.stopping) return;
    try {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await renewCall(agent);
          break;
        } catch (err) {
          if (!RETRYABLE.has(err.code) || attempt === 5 || job.stopping) throw err;
          renewalRetries += 1;
          await sleep(Math.random() * 5000 * attempt);
        }
      }
      renewals += 1;
    } catch (err) {
      renewalFailures += 1;
      if (renewalFailures <= 3)
        process.send({ type: 'log', text: `renew ${agent.id}: ${err.message}` });
      agent.validity = { ...agent.validity, notBefore: new Date(), obtainedAt: new Date() };
    }
    if (reschedule) scheduleRenewal(agent);
  }

  /** One Renew call on a connection of its own; the agent holds the new certificate after it. */
  async function renewCall(agent) {
    const key = await generateKeyPair('ec-p256');
    const csrPem = await createCertificateSigningRequest(key);
    const client = new controlplaneV1.ControlPlaneServiceClient(
      agent.addresses[agent.at],
      credentials(agent),
      channelOptions,
    );
    const response = await new Promise((resolve, reject) =>
      client.renew(
        { csrPem },
        new grpc.Metadata(),
        { deadline: Date.now() + 60_000 },
        (err, res) => {
          client.close();
          if (err) reject(err);
          else resolve(res);
        },
      ),
    );
    const obtainedAt = new Date();
    const leaf = new X509Certificate(response.certificateChainPem);
    agent.keyPem = key.privateKeyPem;
    agent.chainPem = response.certificateChainPem;
    agent.validity = {
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      obtainedAt,
    };
  }

  async function renewAll() {
    let next = 0;
    const one = async () => {
      while (next < agents.length) await renew(agents[next++], false);
    };
    await Promise.all(Array.from({ length: job.enrollConcurrency }, one));
  }

  process.on('message', async (message) => {
    switch (message.type) {
      case 'job':
        job = message;
        return;
      case 'enroll': {
        const failures = await enrollAll();
        process.send({ type: 'enrolled', count: agents.length, failures });
        return;
      }
      case 'connect': {
        // A ramp, not a stampede: at most enrollConcurrency handshakes in flight per process, as
        // a fleet that enrolled over time would connect (a simultaneous reconnect of the whole
        // fleet is what the agents' full-jitter backoff spreads out).
        let next = 0;
        const one = async () => {
          while (next < agents.length) await connect(agents[next++]);
        };
        await Promise.all(Array.from({ length: job.enrollConcurrency }, one));
        const deadline = Date.now() + 120_000;
        while (agents.some((a) => !a.up) && Date.now() < deadline) await sleep(100);
        process.send({ type: 'connected', up: agents.filter((a) => a.up).length });
        return;
      }
      case 'window':
        rtts = [];
        renewals = 0;
        renewalFailures = 0;
        renewalRetries = 0;
        streamFailures = 0;
        loop.reset();
        return;
      case 'report':
        process.send({
          type: 'report',
          rtts,
          renewals,
          renewalFailures,
          renewalRetries,
          streamFailures,
          up: agents.filter((a) => a.up).length,
          loopP99: loop.percentile(99) / 1e6,
        });
        return;
      case 'renew-all':
        await renewAll();
        process.send({ type: 'renewed' });
        return;
      case 'stop':
        job.stopping = true;
        for (const timer of timers) clearTimeout(timer);
        for (const agent of agents) {
          clearTimeout(agent.heartbeat);
          clearInterval(agent.heartbeat);
          agent.stream?.cancel();
          agent.client?.close();
        }
        process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Main: controller, tokens, workers, measurements.

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function processStats(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (CLK_TCK = 100 on Linux).
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
    rss: kb('VmRSS'),
    peakRss: kb('VmHWM'),
    at: performance.now(),
  };
}

/** The controller's own view: event-loop lag p99 and the heartbeat latency histogram (agent sentAt -> controller receipt). */
async function controllerMetrics(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const buckets = [];
  let lagP99;
  // V8 heap (used and reserved) and memory outside it that V8 knows of (Buffers): what of the RSS
  // is JavaScript objects; the rest is native (OpenSSL, nghttp2, malloc).
  const memory = {};
  for (const line of text.split('\n')) {
    const gauge =
      /^sigil_controller_nodejs_(heap_size_used|heap_size_total|external_memory)_bytes (\S+)/.exec(
        line,
      );
    if (gauge !== null) memory[gauge[1]] = Number(gauge[2]);
    const bucket = /^sigil_controller_heartbeat_latency_seconds_bucket\{le="([^"]+)"\} (\S+)/.exec(
      line,
    );
    if (bucket !== null) buckets.push({ le: Number(bucket[1]), count: Number(bucket[2]) });
    const lag = /^sigil_controller_nodejs_eventloop_lag_p99_seconds (\S+)/.exec(line);
    if (lag !== null) lagP99 = Number(lag[1]) * 1000;
  }
  return { buckets, lagP99, memory };
}

/** The bucket bound under which `p` percent of the heartbeats between two scrapes fell. */
function histogramPercentile(before, after, p) {
  const deltas = after.buckets.map((b, i) => ({
    le: b.le,
    count: b.count - (before.buckets[i]?.count ?? 0),
  }));
  const total = deltas[deltas.length - 1]?.count ?? 0;
  if (total === 0) return NaN;
  const found = deltas.find((b) => b.count >= (p / 100) * total);
  return (found?.le ?? Infinity) * 1000;
}

/**
 * Starts one controller process. Replicas share `workDir`'s DATA_DIR (the CA files and the sealing
 * key, as docs/operations.md "Running replicas" has them copied) and `databaseUrl`.
 */
async function startController({ workDir, ttl, agents, adminToken, databaseUrl }) {
  // Every simulated agent connects from 127.0.0.1: the per-address guards, sized for a real
  // network, would refuse the load generator itself. Room for a stream and a renewal per agent
  // (all of the fleet, for the replica that survives a failover).
  const connections = String(2 * agents + 64);
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CONTROLLER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      path.join(ROOT, 'services/controller/bin/sigil-controller.js'),
    ],
    {
      env: {
        PATH: process.env.PATH,
        DATA_DIR: path.join(workDir, 'controller'),
        CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
        ADMIN_LISTEN_ADDR: '127.0.0.1:0',
        SIGIL_ADMIN_TOKEN: adminToken,
        CONNECTOR_CERT_TTL: `${ttl}s`,
        CONTROLLER_MAX_CONNECTIONS: connections,
        CONTROLLER_MAX_CONNECTIONS_PER_IP: connections,
        CONTROLLER_ENROLL_RATE_PER_IP: '100000',
        CONTROLLER_ENROLL_RATE: '100000',
        AGENT_OFFLINE_AFTER: '60s',
        ENROLLMENT_TOKEN_TTL: '1h',
        LOG_LEVEL: 'info',
        ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
        // Allocator choice and tuning and Node/V8 flags, passed through to compare
        // (docs/benchmarks.md "Memory per agent").
        ...Object.fromEntries(
          Object.entries(process.env).filter(
            ([name]) =>
              name.startsWith('MALLOC_') || name === 'NODE_OPTIONS' || name === 'LD_PRELOAD',
          ),
        ),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const started = await new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk.toString('utf8');
      const line = buffer.split('\n').find((l) => l.includes('"event":"controller.started"'));
      if (line === undefined) return;
      child.stdout.off('data', onData);
      // Keep draining the logs so the pipe never blocks the controller.
      child.stdout.resume();
      resolve(JSON.parse(line));
    };
    child.stdout.on('data', onData);
    child.on('exit', (code) =>
      reject(new Error(`sigil-controller exited with ${code} before starting`)),
    );
  });
  return { child, started };
}

/** A fresh, empty PostgreSQL database for the replicas of one run; returns its URL. */
function createBenchDatabase() {
  const psql = (sql) => {
    const result = spawnSync('psql', ['-h', PG_HOST, '-U', 'postgres', '-d', 'test', '-c', sql], {
      encoding: 'utf8',
    });
    if (result.status !== 0)
      throw new Error(`psql ${sql}: ${result.stderr || result.error?.message}`);
  };
  psql(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
  psql(`CREATE DATABASE ${PG_DATABASE}`);
  return `postgresql://postgres@${PG_HOST}:5432/${PG_DATABASE}`;
}

/** Resolves to the value of one series (`name{labels}`) on `adminUrl`'s /metrics. */
async function gauge(adminUrl, series) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

async function createTokens(started, adminToken, count, prefix) {
  const tokens = new Array(count);
  let next = 0;
  const one = async () => {
    while (next < count) {
      const index = next++;
      const id = `${prefix}-${index}`;
      const response = await fetch(`${started.adminUrl}/api/admin/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'connector', id }),
      });
      if (response.status !== 201)
        throw new Error(`POST /api/admin/tokens: HTTP ${response.status}`);
      tokens[index] = { id, token: (await response.json()).token };
    }
  };
  await Promise.all(Array.from({ length: 32 }, one));
  return tokens;
}

function request(worker, message, reply) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.type === 'log') return process.stdout.write(`    worker: ${m.text}\n`);
      if (m.type !== reply) return;
      worker.off('message', onMessage);
      resolve(m);
    };
    worker.on('message', onMessage);
    worker.send(message);
  });
}

async function scenario({
  agents,
  duration,
  interval,
  ttl,
  workers: workerCount,
  storm = true,
  replicas: replicaCount = 1,
  failover = false,
}) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-controller-bench-'));
  const adminToken = randomBytes(24).toString('base64url');
  const databaseUrl = replicaCount > 1 ? createBenchDatabase() : undefined;
  const replicas = [];
  const workers = [];
  try {
    // One after the other: the first creates the CAs in the shared DATA_DIR.
    for (let i = 0; i < replicaCount; i += 1)
      replicas.push(await startController({ workDir, ttl, agents, adminToken, databaseUrl }));
    const [first] = replicas;
    const stats = () => replicas.map((r) => processStats(r.child.pid));
    const metrics = () => Promise.all(replicas.map((r) => controllerMetrics(r.started.adminUrl)));
    const caPem = fs.readFileSync(first.started.bootstrapCaPath, 'utf8');
    let t = performance.now();
    const tokens = (await createTokens(first.started, adminToken, agents, `bench-${agents}`)).map(
      (token, index) => ({ ...token, home: index % replicaCount }),
    );
    const tokenRate = agents / ((performance.now() - t) / 1000);

    const count = Math.min(workerCount, agents);
    for (let i = 0; i < count; i += 1) {
      const worker = fork(path.join(__dirname, 'controller.bench.js'), ['--worker'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: ['--disable-warning=DEP0123'],
      });
      worker.send({
        type: 'job',
        addresses: replicas.map((r) => r.started.grpcAddress),
        caPem,
        interval,
        enrollConcurrency: 8,
        tokens: tokens.filter((_, index) => index % count === i),
      });
      workers.push(worker);
    }
    const ask = (type, reply) => Promise.all(workers.map((w) => request(w, { type }, reply)));
    t = performance.now();
    const enrollStart = stats();
    const enrolled = await ask('enroll', 'enrolled');
    const enrollSeconds = (performance.now() - t) / 1000;
    const enrollCpu = cpuShares(enrollStart, stats(), enrollSeconds);
    const enrolledCount = enrolled.reduce((s, r) => s + r.count, 0);
    const enrollFailures = enrolled.reduce((s, r) => s + r.failures, 0);

    // Settle the enrollment's garbage first: the baseline of the memory-per-agent figure.
    await sleep(2000);
    const beforeStreams = stats();
    const heapBeforeStreams = (await metrics())[0].memory;
    t = performance.now();
    const connected = await ask('connect', 'connected');
    const connectSeconds = (performance.now() - t) / 1000;
    const up = connected.reduce((s, r) => s + r.up, 0);
    // The first replica's share of the streams (all of them with one replica).
    const firstUp = Math.round(up / replicaCount);

    // One interval to settle (the first heartbeats are spread over it), then the window.
    await sleep(Math.min(interval, 10_000));
    const withStreams = stats();
    const heapWithStreams = (await metrics())[0].memory;
    for (const w of workers) w.send({ type: 'window' });
    const before = stats();
    const controllerBefore = await metrics();
    await sleep(duration * 1000);
    const after = stats();
    const controllerAfter = await metrics();
    const reports = await ask('report', 'report');
    const rtts = reports.flatMap((r) => r.rtts).sort((a, b) => a - b);
    const windowSeconds = (after[0].at - before[0].at) / 1000;

    // Then every agent renews once, as fast as the agents can, while the heartbeats go on.
    for (const w of workers) w.send({ type: 'window' });
    const stormStart = stats();
    const controllerStormStart = await metrics();
    if (storm) await ask('renew-all', 'renewed');
    const stormEnd = stats();
    const controllerStormEnd = await metrics();
    const stormReports = await ask('report', 'report');
    const stormRtts = stormReports.flatMap((r) => r.rtts).sort((a, b) => a - b);
    const stormSeconds = (stormEnd[0].at - stormStart[0].at) / 1000;

    // Failover: the first replica is SIGKILLed; its agents open their streams again on the next
    // address of their list. Timed until every agent has a stream answered again (the agents'
    // view) and until the survivor counts every agent connected (its own gauge).
    let failoverResult;
    if (failover && replicaCount > 1) {
      const killedAt = performance.now();
      first.child.kill('SIGKILL');
      const survivor = replicas[1];
      let agentsBack;
      let survivorBack;
      const deadline = killedAt + 180_000;
      while (
        (agentsBack === undefined || survivorBack === undefined) &&
        performance.now() < deadline
      ) {
        await sleep(250);
        const now = performance.now();
        if (agentsBack === undefined) {
          const back = (await ask('report', 'report')).reduce((s, r) => s + r.up, 0);
          if (back >= up) agentsBack = (now - killedAt) / 1000;
        }
        if (survivorBack === undefined) {
          const counted = await gauge(
            survivor.started.adminUrl,
            'sigil_controller_connected_agents{kind="connector"}',
          );
          if (counted >= up) survivorBack = (now - killedAt) / 1000;
        }
      }
      const survivorStats = processStats(survivor.child.pid);
      failoverResult = {
        agentsBack,
        survivorBack,
        survivorRss: survivorStats.rss,
        survivorPeakRss: survivorStats.peakRss,
      };
    }
    return {
      replicas: replicaCount,
      failover: failoverResult,
      controllerOneWayP99: histogramPercentile(controllerBefore[0], controllerAfter[0], 99),
      controllerLagP99: Math.max(...controllerAfter.map((m) => m.lagP99)),
      generatorLagP99: Math.max(...reports.map((r) => r.loopP99)),
      stormRenewals: stormReports.reduce((sum, r) => sum + r.renewals, 0),
      stormFailures: stormReports.reduce((sum, r) => sum + r.renewalFailures, 0),
      stormRetries: stormReports.reduce((sum, r) => sum + r.renewalRetries, 0),
      stormRate: stormReports.reduce((sum, r) => sum + r.renewals, 0) / stormSeconds,
      stormCpu: cpuShares(stormStart, stormEnd, stormSeconds),
      stormP99: percentile(stormRtts, 99),
      stormControllerOneWayP99: histogramPercentile(
        controllerStormStart[0],
        controllerStormEnd[0],
        99,
      ),
      stormControllerLagP99: Math.max(...controllerStormEnd.map((m) => m.lagP99)),
      stormGeneratorLagP99: Math.max(...stormReports.map((r) => r.loopP99)),
      agents,
      tokenRate,
      enrolledCount,
      enrollFailures,
      enrollRate: enrolledCount / enrollSeconds,
      enrollCpu,
      connectSeconds,
      up,
      firstUp,
      stillUp: reports.reduce((s, r) => s + r.up, 0),
      heartbeats: rtts.length,
      p50: percentile(rtts, 50),
      p99: percentile(rtts, 99),
      renewals: reports.reduce((s, r) => s + r.renewals, 0),
      renewalRate: reports.reduce((s, r) => s + r.renewals, 0) / windowSeconds,
      renewalFailures: reports.reduce((s, r) => s + r.renewalFailures, 0),
      streamFailures: reports.reduce((s, r) => s + r.streamFailures, 0),
      cpu: cpuShares(before, after, windowSeconds),
      rss: after.map((a) => a.rss),
      // The high-water mark through the renewal storm.
      peakRss: stormEnd.map((e) => e.peakRss),
      rssBeforeStreams: beforeStreams[0].rss,
      rssWithStreams: withStreams[0].rss,
      heapPerAgent: Object.fromEntries(
        Object.keys(heapWithStreams).map((k) => [
          k,
          (heapWithStreams[k] - (heapBeforeStreams[k] ?? 0)) / 1024 / Math.max(1, firstUp),
        ]),
      ),
    };
  } finally {
    for (const worker of workers) {
      worker.send({ type: 'stop' });
      await new Promise((resolve) =>
        worker.exitCode !== null ? resolve() : worker.once('exit', resolve),
      );
    }
    for (const { child } of replicas) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await new Promise((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve()
          : child.once('exit', resolve),
      );
    }
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** Each replica's CPU between two stats() readings, as a share of one core. */
function cpuShares(start, end, seconds) {
  return end.map((e, i) => (e.cpuSeconds - start[i].cpuSeconds) / seconds);
}

const ms = (value) => (Number.isNaN(value) ? '-' : `${value.toFixed(2)} ms`);
const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
/** One figure per replica, `a / b`. */
const each = (values, format) => values.map(format).join(' / ');
const pct = (share) => `${(share * 100).toFixed(0)}%`;
const perAgentKib = (r) => (r.rssWithStreams - r.rssBeforeStreams) / 1024 / Math.max(1, r.firstUp);
const seconds = (value) => (value === undefined ? 'not within 180 s' : `${value.toFixed(1)} s`);

async function main() {
  const sizes = String(option('agents', '200')).split(',').map(Number);
  const duration = Number(option('duration', '30'));
  const interval = Number(option('interval', '10000'));
  const ttl = Number(option('ttl', '30'));
  const workers = Number(option('workers', '4'));
  const storm = option('storm', '1') !== '0';
  const replicas = Number(option('replicas', '1'));
  const failover = option('failover', replicas > 1 ? '1' : '0') !== '0';
  process.stdout.write(
    `controller load test on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${mib(os.totalmem())} RAM, Node ${process.version}\n`,
  );
  process.stdout.write(
    `heartbeat every ${interval} ms, certificates of ${ttl} s (renewed at ~30% remaining), ${duration} s windows, ${workers} agent processes, ${replicas === 1 ? 'one controller (SQLite)' : `${replicas} controller replicas on PostgreSQL (${PG_HOST}), agents spread over them`}\n\n`,
  );

  // Baseline: one agent beating fast on the same machine: the round trip with nothing else going on.
  const baseline = await scenario({ agents: 1, duration: 5, interval: 100, ttl, workers: 1 });
  process.stdout.write(
    `baseline (1 agent, heartbeat every 100 ms): p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)}, controller RSS ${mib(baseline.rss[0])}\n\n`,
  );

  const rows = [];
  for (const agents of sizes) {
    process.stdout.write(`N = ${agents}: enrolling, connecting, measuring ${duration} s ...\n`);
    const r = await scenario({
      agents,
      duration,
      interval,
      ttl,
      workers,
      storm,
      replicas,
      failover,
    });
    rows.push(r);
    process.stdout.write(
      [
        `  tokens           ${r.tokenRate.toFixed(0)}/s through the admin API`,
        `  enrollments      ${r.enrolledCount}/${agents} at ${r.enrollRate.toFixed(0)}/s (${r.enrollFailures} failed), controller CPU ${each(r.enrollCpu, pct)} of one core meanwhile`,
        `  streams up       ${r.up}/${r.enrolledCount} after ${r.connectSeconds.toFixed(1)} s; ${r.stillUp} at the end of the window, ${r.streamFailures} stream errors`,
        `  heartbeat RTT    p50 ${ms(r.p50)} (${(r.p50 / baseline.p50).toFixed(1)}x baseline), p99 ${ms(r.p99)} (${(r.p99 / baseline.p50).toFixed(1)}x baseline p50) over ${r.heartbeats} heartbeats`,
        `  (as seen by)     controller: one-way heartbeat latency p99 <= ${ms(r.controllerOneWayP99)}, event-loop lag p99 ${ms(r.controllerLagP99)}; agent processes: event-loop delay p99 ${ms(r.generatorLagP99)}`,
        `  renewals         ${r.renewals} scheduled ones in the window, ${r.renewalRate.toFixed(1)}/s (${r.renewalFailures} failed)`,
        `  renewal storm    every agent renewed once: ${r.stormRenewals} at ${r.stormRate.toFixed(0)}/s (${r.stormFailures} failed; ${r.stormRetries} calls answered "unavailable, retry" and retried), controller CPU ${each(r.stormCpu, pct)}, heartbeat p99 meanwhile ${ms(r.stormP99)}`,
        `  (as seen by)     controller: one-way heartbeat latency p99 <= ${ms(r.stormControllerOneWayP99)}, event-loop lag p99 ${ms(r.stormControllerLagP99)}; agent processes: event-loop delay p99 ${ms(r.stormGeneratorLagP99)}`,
        `  controller       RSS ${each(r.rss, mib)} (peak ${each(r.peakRss, mib)}), CPU ${each(r.cpu, pct)} of one core${r.replicas > 1 ? ' (per replica)' : ''}`,
        `  memory/agent     RSS ${mib(r.rssBeforeStreams)} before the streams, ${mib(r.rssWithStreams)} with ${r.firstUp} up${r.replicas > 1 ? ' (the first replica)' : ''}: ${perAgentKib(r).toFixed(1)} KiB per connected agent (V8 heap used ${r.heapPerAgent.heap_size_used?.toFixed(1)}, heap reserved ${r.heapPerAgent.heap_size_total?.toFixed(1)}, external ${r.heapPerAgent.external_memory?.toFixed(1)} KiB/agent)`,
        ...(r.failover === undefined
          ? []
          : [
              `  failover         first replica SIGKILLed: every agent streaming again after ${seconds(r.failover.agentsBack)}, the survivor counting all ${r.up} connected after ${seconds(r.failover.survivorBack)}; survivor RSS ${mib(r.failover.survivorRss)} (peak ${mib(r.failover.survivorPeakRss)})`,
            ]),
        '',
      ].join('\n'),
    );
  }

  process.stdout.write(
    '| agents | replicas | enroll/s | heartbeat p50 | heartbeat p99 | renewals/s (storm) | controller RSS (peak) | KiB/agent | controller CPU | errors | failover |\n',
  );
  process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    const errors =
      r.enrollFailures +
      r.renewalFailures +
      r.stormFailures +
      r.streamFailures +
      (r.enrolledCount - r.up);
    process.stdout.write(
      `| ${r.agents} | ${r.replicas} | ${r.enrollRate.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.stormRate.toFixed(0)} | ${each(r.rss, mib)} (${each(r.peakRss, mib)}) | ${perAgentKib(r).toFixed(1)} | ${each(r.cpu, pct)} | ${errors} | ${r.failover === undefined ? '-' : seconds(r.failover.agentsBack)} |\n`,
    );
  }
  const largest = rows.find((r) => r.agents / r.replicas >= GOAL.agents);
  if (largest === undefined) {
    process.stdout.write(
      `\ngoal (${GOAL.agents} agents, p99 < ${GOAL.p99Ms} ms, RSS < 1 GiB; in the renewal storm no failed renewal, p99 < ${GOAL.stormP99Ms} ms): not measured in this run; use --agents 1000,5000,10000 (or 20000 --replicas 2)\n`,
    );
    return;
  }
  const misses = [];
  if (largest.up < largest.agents)
    misses.push(`${largest.agents - largest.up} agents never got a stream up`);
  if (!(largest.p99 < GOAL.p99Ms))
    misses.push(`heartbeat p99 ${ms(largest.p99)} >= ${GOAL.p99Ms} ms`);
  if (!(Math.max(...largest.peakRss) < GOAL.rssBytes))
    misses.push(`controller peak RSS ${each(largest.peakRss, mib)} >= 1 GiB`);
  const stormRan = largest.stormRenewals + largest.stormFailures > 0;
  if (stormRan && !(largest.stormP99 < GOAL.stormP99Ms))
    misses.push(
      `heartbeat p99 in the renewal storm ${ms(largest.stormP99)} >= ${GOAL.stormP99Ms} ms`,
    );
  if (largest.stormFailures > 0)
    misses.push(`${largest.stormFailures} renewals failed in the renewal storm`);
  process.stdout.write(
    misses.length === 0
      ? `\ngoal met at ${largest.agents} agents\n`
      : `\ngoal MISSED at ${largest.agents} agents: ${misses.join('; ')}\n`,
  );
}

if (process.argv.includes('--worker')) {
  runWorker();
} else {
  main().catch((err) => {
    process.stderr.write(`controller bench: ${err.message}\n`);
    process.exit(1);
  });
}
