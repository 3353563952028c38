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
// Goal: 10k agents on one controller process, heartbeat p99 < 50 ms, RSS < 1 GiB; every miss is
// printed as such.
//
// Run: `pnpm bench controller` (builds first) or `node bench/controller.bench.js` after `pnpm build`.
//   --agents 1000,5000,10000   the N to run, one after the other (default 200: a quick run)
//   --duration 60              seconds of measurement window after every stream is up (default 30)
//   --interval 10000           heartbeat interval, ms (default 10000)
//   --ttl 60                   connector certificate lifetime, s (default 30; renewals every ~20 s)
//   --workers 4                agent processes (default 4)
//   --storm 0                  skip the renewal storm after the window (default 1: run it)
//
// Memory per connected agent: the controller's RSS just before the streams open (after
// enrollment, so the enrolled registry is counted in both) and once they are all up and have
// beaten for the settle interval; (after - before) / streams up is reported as KiB per agent.
'use strict';
/* global fetch */
const { fork, spawn } = require('node:child_process');
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

const GOAL = { agents: 10_000, p99Ms: 50, rssBytes: 1024 ** 3 };

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
        const { id, token } = job.tokens[next++];
        try {
          const identity = await enrollAgent({
            kind: 'connector',
            agentId: id,
            token,
            controllerAddresses: [job.address],
            controllerCaPem: job.caPem,
            controllerCaPath: 'bench',
            version: 'bench',
            privateIp: '127.0.0.1',
            timeoutMs: 120_000,
          });
          agents.push({
            id,
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

  /** Opens the agent's stream; resolves once the controller answered (or the stream failed). */
  function connect(agent) {
    let settle;
    const settled = new Promise((resolve) => (settle = resolve));
    const client = new controlplaneV1.ControlPlaneServiceClient(
      job.address,
      credentials(agent),
      channelOptions,
    );
    const stream = client.connect();
    agent.client = client;
    agent.stream = stream;
    stream.on('data', (message) => {
      agent.up = true;
      settle();
      if (message.body?.$case !== 'heartbeatAck') return;
      const sentAt = agent.sent.get(message.body.heartbeatAck.sequence);
      if (sentAt === undefined) return;
      agent.sent.delete(message.body.heartbeatAck.sequence);
      rtts.push(performance.now() - sentAt);
    });
    stream.on('error', () => {
      settle();
      if (!job.stopping) streamFailures += 1;
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
    later(Math.floor(Math.random() * job.interval), () => {
      beat();
      agent.heartbeat = setInterval(beat, job.interval);
    });
    scheduleRenewal(agent);
    return settled;
  }

  function scheduleRenewal(agent) {
    later(Math.max(0, renewalTime(agent.validity).getTime() - Date.now()), () => renew(agent));
  }

  async function renew(agent, reschedule = true) {
    if (job.stopping) return;
    try {
      const key = await generateKeyPair('ec-p256');
      const csrPem = await createCertificateSigningRequest(key);
      const client = new controlplaneV1.ControlPlaneServiceClient(
        job.address,
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
      renewals += 1;
    } catch (err) {
      renewalFailures += 1;
      if (renewalFailures <= 3)
        process.send({ type: 'log', text: `renew ${agent.id}: ${err.message}` });
      agent.validity = { ...agent.validity, notBefore: new Date(), obtainedAt: new Date() };
    }
    if (reschedule) scheduleRenewal(agent);
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
        streamFailures = 0;
        loop.reset();
        return;
      case 'report':
        process.send({
          type: 'report',
          rtts,
          renewals,
          renewalFailures,
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

async function startController(workDir, ttl, agents) {
  // Every simulated agent connects from 127.0.0.1: the per-address guards, sized for a real
  // network, would refuse the load generator itself. Room for a stream and a renewal per agent.
  const connections = String(2 * agents + 64);
  const adminToken = randomBytes(24).toString('base64url');
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'services/controller/bin/sigil-controller.js')],
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
        // glibc allocator tuning, passed through to compare (docs/benchmarks.md "Memory per agent").
        ...Object.fromEntries(
          Object.entries(process.env).filter(([name]) => name.startsWith('MALLOC_')),
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
  return { child, started, adminToken };
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

async function scenario({ agents, duration, interval, ttl, workers: workerCount, storm = true }) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-controller-bench-'));
  const { child, started, adminToken } = await startController(workDir, ttl, agents);
  const workers = [];
  try {
    const caPem = fs.readFileSync(started.bootstrapCaPath, 'utf8');
    let t = performance.now();
    const tokens = await createTokens(started, adminToken, agents, `bench-${agents}`);
    const tokenRate = agents / ((performance.now() - t) / 1000);

    const count = Math.min(workerCount, agents);
    for (let i = 0; i < count; i += 1) {
      const worker = fork(path.join(__dirname, 'controller.bench.js'), ['--worker'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: ['--disable-warning=DEP0123'],
      });
      worker.send({
        type: 'job',
        address: started.grpcAddress,
        caPem,
        interval,
        enrollConcurrency: 8,
        tokens: tokens.filter((_, index) => index % count === i),
      });
      workers.push(worker);
    }
    t = performance.now();
    const enrollStart = processStats(child.pid);
    const enrolled = await Promise.all(
      workers.map((w) => request(w, { type: 'enroll' }, 'enrolled')),
    );
    const enrollSeconds = (performance.now() - t) / 1000;
    const enrollCpu = (processStats(child.pid).cpuSeconds - enrollStart.cpuSeconds) / enrollSeconds;
    const enrolledCount = enrolled.reduce((s, r) => s + r.count, 0);
    const enrollFailures = enrolled.reduce((s, r) => s + r.failures, 0);

    // Settle the enrollment's garbage first: the baseline of the memory-per-agent figure.
    await sleep(2000);
    const beforeStreams = processStats(child.pid);
    const heapBeforeStreams = (await controllerMetrics(started.adminUrl)).memory;
    t = performance.now();
    const connected = await Promise.all(
      workers.map((w) => request(w, { type: 'connect' }, 'connected')),
    );
    const connectSeconds = (performance.now() - t) / 1000;
    const up = connected.reduce((s, r) => s + r.up, 0);

    // One interval to settle (the first heartbeats are spread over it), then the window.
    await sleep(Math.min(interval, 10_000));
    const withStreams = processStats(child.pid);
    const heapWithStreams = (await controllerMetrics(started.adminUrl)).memory;
    for (const w of workers) w.send({ type: 'window' });
    const before = processStats(child.pid);
    const controllerBefore = await controllerMetrics(started.adminUrl);
    await sleep(duration * 1000);
    const after = processStats(child.pid);
    const controllerAfter = await controllerMetrics(started.adminUrl);
    const reports = await Promise.all(workers.map((w) => request(w, { type: 'report' }, 'report')));
    const rtts = reports.flatMap((r) => r.rtts).sort((a, b) => a - b);
    const windowSeconds = (after.at - before.at) / 1000;

    // Then every agent renews once, as fast as the agents can, while the heartbeats go on.
    for (const w of workers) w.send({ type: 'window' });
    const stormStart = processStats(child.pid);
    if (storm) await Promise.all(workers.map((w) => request(w, { type: 'renew-all' }, 'renewed')));
    const stormEnd = processStats(child.pid);
    const stormReports = await Promise.all(
      workers.map((w) => request(w, { type: 'report' }, 'report')),
    );
    const stormRtts = stormReports.flatMap((r) => r.rtts).sort((a, b) => a - b);
    const stormSeconds = (stormEnd.at - stormStart.at) / 1000;
    return {
      controllerOneWayP99: histogramPercentile(controllerBefore, controllerAfter, 99),
      controllerLagP99: controllerAfter.lagP99,
      generatorLagP99: Math.max(...reports.map((r) => r.loopP99)),
      stormRenewals: stormReports.reduce((sum, r) => sum + r.renewals, 0),
      stormFailures: stormReports.reduce((sum, r) => sum + r.renewalFailures, 0),
      stormRate: stormReports.reduce((sum, r) => sum + r.renewals, 0) / stormSeconds,
      stormCpu: (stormEnd.cpuSeconds - stormStart.cpuSeconds) / stormSeconds,
      stormP99: percentile(stormRtts, 99),
      agents,
      tokenRate,
      enrolledCount,
      enrollFailures,
      enrollRate: enrolledCount / enrollSeconds,
      enrollCpu,
      connectSeconds,
      up,
      stillUp: reports.reduce((s, r) => s + r.up, 0),
      heartbeats: rtts.length,
      p50: percentile(rtts, 50),
      p99: percentile(rtts, 99),
      renewals: reports.reduce((s, r) => s + r.renewals, 0),
      renewalRate: reports.reduce((s, r) => s + r.renewals, 0) / windowSeconds,
      renewalFailures: reports.reduce((s, r) => s + r.renewalFailures, 0),
      streamFailures: reports.reduce((s, r) => s + r.streamFailures, 0),
      cpu: (after.cpuSeconds - before.cpuSeconds) / windowSeconds,
      rss: after.rss,
      peakRss: after.peakRss,
      rssBeforeStreams: beforeStreams.rss,
      rssWithStreams: withStreams.rss,
      heapPerAgent: Object.fromEntries(
        Object.keys(heapWithStreams).map((k) => [
          k,
          (heapWithStreams[k] - (heapBeforeStreams[k] ?? 0)) / 1024 / Math.max(1, up),
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
    child.kill('SIGTERM');
    await new Promise((resolve) =>
      child.exitCode !== null ? resolve() : child.once('exit', resolve),
    );
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const ms = (value) => (Number.isNaN(value) ? '-' : `${value.toFixed(2)} ms`);
const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
const perAgentKib = (r) => (r.rssWithStreams - r.rssBeforeStreams) / 1024 / Math.max(1, r.up);

async function main() {
  const sizes = String(option('agents', '200')).split(',').map(Number);
  const duration = Number(option('duration', '30'));
  const interval = Number(option('interval', '10000'));
  const ttl = Number(option('ttl', '30'));
  const workers = Number(option('workers', '4'));
  const storm = option('storm', '1') !== '0';
  process.stdout.write(
    `controller load test on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${mib(os.totalmem())} RAM, Node ${process.version}\n`,
  );
  process.stdout.write(
    `heartbeat every ${interval} ms, certificates of ${ttl} s (renewed at ~30% remaining), ${duration} s windows, ${workers} agent processes\n\n`,
  );

  // Baseline: one agent beating fast on the same machine: the round trip with nothing else going on.
  const baseline = await scenario({ agents: 1, duration: 5, interval: 100, ttl, workers: 1 });
  process.stdout.write(
    `baseline (1 agent, heartbeat every 100 ms): p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)}, controller RSS ${mib(baseline.rss)}\n\n`,
  );

  const rows = [];
  for (const agents of sizes) {
    process.stdout.write(`N = ${agents}: enrolling, connecting, measuring ${duration} s ...\n`);
    const r = await scenario({ agents, duration, interval, ttl, workers, storm });
    rows.push(r);
    process.stdout.write(
      [
        `  tokens           ${r.tokenRate.toFixed(0)}/s through the admin API`,
        `  enrollments      ${r.enrolledCount}/${agents} at ${r.enrollRate.toFixed(0)}/s (${r.enrollFailures} failed), controller CPU ${(r.enrollCpu * 100).toFixed(0)}% of one core meanwhile`,
        `  streams up       ${r.up}/${r.enrolledCount} after ${r.connectSeconds.toFixed(1)} s; ${r.stillUp} at the end of the window, ${r.streamFailures} stream errors`,
        `  heartbeat RTT    p50 ${ms(r.p50)} (${(r.p50 / baseline.p50).toFixed(1)}x baseline), p99 ${ms(r.p99)} (${(r.p99 / baseline.p50).toFixed(1)}x baseline p50) over ${r.heartbeats} heartbeats`,
        `  (as seen by)     controller: one-way heartbeat latency p99 <= ${ms(r.controllerOneWayP99)}, event-loop lag p99 ${ms(r.controllerLagP99)}; agent processes: event-loop delay p99 ${ms(r.generatorLagP99)}`,
        `  renewals         ${r.renewals} scheduled ones in the window, ${r.renewalRate.toFixed(1)}/s (${r.renewalFailures} failed)`,
        `  renewal storm    every agent renewed once: ${r.stormRenewals} at ${r.stormRate.toFixed(0)}/s (${r.stormFailures} failed), controller CPU ${(r.stormCpu * 100).toFixed(0)}%, heartbeat p99 meanwhile ${ms(r.stormP99)}`,
        `  controller       RSS ${mib(r.rss)} (peak ${mib(r.peakRss)}), CPU ${(r.cpu * 100).toFixed(0)}% of one core`,
        `  memory/agent     RSS ${mib(r.rssBeforeStreams)} before the streams, ${mib(r.rssWithStreams)} with ${r.up} up: ${perAgentKib(r).toFixed(1)} KiB per connected agent (V8 heap used ${r.heapPerAgent.heap_size_used?.toFixed(1)}, heap reserved ${r.heapPerAgent.heap_size_total?.toFixed(1)}, external ${r.heapPerAgent.external_memory?.toFixed(1)} KiB/agent)`,
        '',
      ].join('\n'),
    );
  }

  process.stdout.write(
    '| agents | enroll/s | heartbeat p50 | heartbeat p99 | renewals/s (storm) | controller RSS (peak) | KiB/agent | controller CPU | errors |\n',
  );
  process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    const errors =
      r.enrollFailures +
      r.renewalFailures +
      r.stormFailures +
      r.streamFailures +
      (r.enrolledCount - r.up);
    process.stdout.write(
      `| ${r.agents} | ${r.enrollRate.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.stormRate.toFixed(0)} | ${mib(r.rss)} (${mib(r.peakRss)}) | ${perAgentKib(r).toFixed(1)} | ${(r.cpu * 100).toFixed(0)}% | ${errors} |\n`,
    );
  }
  const largest = rows.find((r) => r.agents >= GOAL.agents);
  if (largest === undefined) {
    process.stdout.write(
      `\ngoal (${GOAL.agents} agents, p99 < ${GOAL.p99Ms} ms, RSS < 1 GiB): not measured in this run; use --agents 1000,5000,10000\n`,
    );
    return;
  }
  const misses = [];
  if (largest.up < largest.agents)
    misses.push(`${largest.agents - largest.up} agents never got a stream up`);
  if (!(largest.p99 < GOAL.p99Ms))
    misses.push(`heartbeat p99 ${ms(largest.p99)} >= ${GOAL.p99Ms} ms`);
  if (!(largest.peakRss < GOAL.rssBytes))
    misses.push(`controller peak RSS ${mib(largest.peakRss)} >= 1 GiB`);
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
