#!/usr/bin/env node
// pnpm demo: the Sigil control plane on this machine, end to end, with real processes.
//
//   node scripts/demo.js          live status table until Ctrl-C
//   node scripts/demo.js --once   run the flow, check heartbeats, renewals and a revocation, print a summary, exit
//
// Starts sigil-controller (embedded store in a temp dir), creates enrollment tokens through the
// admin API, enrolls and runs a connector and two tunnelers (the real bins), and shows what the
// admin API and the agents' /metrics report. Certificates are short-lived so renewals show up.
// Once the second tunneler has renewed, an operator revokes it with `sigil admin tunnelers revoke`:
// it shows REVOKED, its process exits with code 4, and the other agents carry on.
// The data plane: the first tunneler forwards a local port to a demo HTTP resource behind the
// connector (`--forward`, granted by id), and the demo sends requests through it; the TUNNELED
// column shows the bytes each agent carried.
// Needs the built packages (`pnpm demo` builds first). Exit codes: 0 ok, 1 a check or a step failed.
'use strict';
/* global fetch */

const { spawn } = require('node:child_process');
const { Buffer } = require('node:buffer');
const { createHash, randomBytes } = require('node:crypto');
const { createServer } = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { clearInterval, clearTimeout, setInterval, setTimeout } = require('node:timers');

const ROOT = path.resolve(__dirname, '..');
const BINS = {
  controller: path.join(ROOT, 'services/controller/bin/sigil-controller.js'),
  connector: path.join(ROOT, 'services/connector/bin/sigil-connector.js'),
  tunneler: path.join(ROOT, 'services/tunneler/bin/sigil-tunneler.js'),
  sigil: path.join(ROOT, 'packages/cli/bin/sigil.js'),
};
const BUILT = [
  'services/controller/dist/main.js',
  'services/connector/dist/main.js',
  'services/tunneler/dist/main.js',
  'packages/cli/dist/main.js',
];
const CONNECTOR_ID = 'connector-local-01';
const TUNNELER_IDS = ['tunneler-local-01', 'tunneler-local-02'];
// The tunneler the operator revokes once it has renewed, and why.
const REVOKED_ID = 'tunneler-local-02';
const REVOKE_REASON = 'demo: laptop reported lost';
// The revoked agent's exit code (ERR_AGENT_REVOKED in docs/errors.md).
const REVOKED_EXIT_CODE = 4;
// The data plane: a demo resource (an HTTP server in this process) and the tunneler reaching it.
const RESOURCE = 'demo-web';
const FORWARDING_ID = 'tunneler-local-01';
const RESOURCE_BODY = randomBytes(64 * 1024);
const MODES = {
  // Live: renewals every minute or so, heartbeats every 2 s.
  live: { connectorTtl: '90s', tunnelerTtl: '60s', heartbeat: '2s', offlineAfter: '8s' },
  // --once: the first renewal of every agent within ~12 s of its enrollment.
  once: {
    connectorTtl: '15s',
    tunnelerTtl: '15s',
    heartbeat: '1s',
    offlineAfter: '5s',
    deadlineMs: 50_000,
    revocationDeadlineMs: 20_000,
  },
};
const ONCE_MIN_HEARTBEATS = 3;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: node scripts/demo.js [--once]\n  --once  run the flow, check heartbeats, renewals and a revocation end to end, print a summary and exit (0 ok, 1 failed)\n',
  );
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--once');
if (unknown.length > 0) {
  process.stderr.write(`demo: unknown argument ${unknown[0]} (try --help)\n`);
  process.exit(1);
}
const once = args.includes('--once');
const mode = once ? MODES.once : MODES.live;
const startedAt = Date.now();
const tty = Boolean(process.stdout.isTTY) && !once;

const children = [];
let workDir;
let shuttingDown = false;
let ticker;

function fail(message) {
  return new Error(message);
}

function ensureBuilt() {
  const missing = BUILT.filter((file) => !fs.existsSync(path.join(ROOT, file)));
  if (missing.length > 0)
    throw fail(
      `not built: ${missing.join(', ')} missing; run \`pnpm demo\` (it builds) or \`pnpm build\` first`,
    );
}

/** Starts a bin with its own process group (so Ctrl-C reaches the demo only, which then stops it) and logs to a file. */
function start(name, bin, argv, env) {
  const logFile = path.join(workDir, 'logs', `${name}.log`);
  const log = fs.createWriteStream(logFile);
  const proc = spawn(process.execPath, [bin, ...argv], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const child = { name, proc, logFile, lines: [], stderr: [], exitCode: undefined };
  let rest = '';
  proc.stdout.on('data', (chunk) => {
    log.write(chunk);
    const text = rest + chunk.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop();
    child.lines.push(...lines);
  });
  proc.stderr.on('data', (chunk) => {
    log.write(chunk);
    child.stderr.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
  });
  child.exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      child.exitCode = code ?? signal;
      log.end();
      resolve(child.exitCode);
    }),
  );
  children.push(child);
  return child;
}

/** Runs a bin to completion (enroll); a non-zero exit is a failed step with the bin's own one-line reason. */
async function run(name, bin, argv, env) {
  const child = start(name, bin, argv, env);
  const code = await child.exited;
  if (code !== 0)
    throw fail(
      `${name} exited with ${code}: ${child.stderr.filter((l) => l.startsWith('error ')).join(' ') || child.stderr.slice(-3).join(' ')}`,
    );
  return child;
}

/** The first JSON log line of `child` with this event. */
async function event(child, name, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = child.lines.find((l) => l.includes(`"event":"${name}"`));
    if (line !== undefined) return JSON.parse(line);
    if (child.exitCode !== undefined)
      throw fail(
        `${child.name} exited with ${child.exitCode} before logging ${name}: ${child.stderr.slice(-3).join(' ')}`,
      );
    if (Date.now() > deadline)
      throw fail(
        `${child.name} did not log ${name} within ${timeoutMs / 1000} s (see ${child.logFile})`,
      );
    await sleep(50);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function createAdminClient(adminUrl, adminToken) {
  return async (method, route, body) => {
    const response = await fetch(`${adminUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = await response.json();
    if (!response.ok)
      throw fail(
        `${method} ${route}: HTTP ${response.status} ${payload.error ?? ''} ${payload.message ?? ''}`.trim(),
      );
    return payload;
  };
}

/** Prometheus text -> Map("name{labels}" -> value); a labelled metric also gets its bare name, summed. */
async function scrape(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const values = new Map();
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (match === null) continue;
      const value = Number(match[3]);
      if (match[2] === undefined) {
        values.set(match[1], value);
      } else {
        values.set(`${match[1]}${match[2]}`, value);
        values.set(match[1], (values.get(match[1]) ?? 0) + value);
      }
    }
    return values;
  } catch {
    return new Map();
  }
}

function agoText(iso) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return `${seconds}s ago`;
}

async function startControlPlane() {
  const adminToken = randomBytes(24).toString('base64url');
  // The console's sign-in: user `admin` gets this password at the controller's first start.
  const adminPassword = randomBytes(18).toString('base64url');
  const controller = start('controller', BINS.controller, [], {
    DATA_DIR: path.join(workDir, 'controller'),
    TRUST_DOMAIN: 'demo.sigil',
    CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
    ADMIN_LISTEN_ADDR: '127.0.0.1:0',
    SIGIL_ADMIN_TOKEN: adminToken,
    SIGIL_ADMIN_PASSWORD: adminPassword,
    CONNECTOR_CERT_TTL: mode.connectorTtl,
    TUNNELER_CERT_TTL: mode.tunnelerTtl,
    AGENT_OFFLINE_AFTER: mode.offlineAfter,
  });
  const started = await event(controller, 'controller.started');
  const admin = createAdminClient(started.adminUrl, adminToken);
  const common = {
    CONTROLLER_ADDR: started.grpcAddress,
    CONTROLLER_CA_PATH: started.bootstrapCaPath,
    AGENT_HTTP_ADDR: '127.0.0.1:0',
    HEARTBEAT_INTERVAL: mode.heartbeat,
    RECONNECT_BACKOFF_MAX: '5s',
  };

  // The connector: a token through the admin API, `sigil-connector enroll`, then `run` from its STATE_DIR.
  const connectorToken = await admin('POST', '/api/admin/tokens', {
    kind: 'connector',
    id: CONNECTOR_ID,
  });
  const connectorState = path.join(workDir, CONNECTOR_ID);
  await run(`${CONNECTOR_ID}-enroll`, BINS.connector, ['enroll'], {
    ...common,
    ENROLLMENT_TOKEN: connectorToken.token,
    CONNECTOR_ID,
    STATE_DIR: connectorState,
  });
  // A registration entry for this user's processes: the connector hands them an identity over
  // the SPIFFE Workload API socket (docs/workload-api.md).
  const workloadSocket = path.join(workDir, 'workload-api.sock');
  await admin('POST', '/api/admin/entries', {
    spiffe_id: 'spiffe://demo.sigil/demo/workload',
    parent_id: `spiffe://demo.sigil/connector/${CONNECTOR_ID}`,
    selectors: [`unix:uid:${process.getuid()}`],
  });
  const connector = start(CONNECTOR_ID, BINS.connector, ['run'], {
    ...common,
    STATE_DIR: connectorState,
    CONNECTOR_LISTEN_ADDR: '127.0.0.1:0',
    SIGIL_WORKLOAD_API_SOCKET: workloadSocket,
  });
  const connectorHttp = (await event(connector, 'agent.started')).httpUrl;
  const connectorAddr = (await event(connector, 'connector.listening')).address;
  const resource = await startDemoResource(admin);

  // Two tunnelers whose tokens name the connector.
  const tunnelers = await Promise.all(
    TUNNELER_IDS.map(async (id) => {
      const { token } = await admin('POST', '/api/admin/tokens', {
        kind: 'tunneler',
        id,
        connector_id: CONNECTOR_ID,
      });
      const stateDir = path.join(workDir, id);
      await run(`${id}-enroll`, BINS.tunneler, ['enroll'], {
        ...common,
        ENROLLMENT_TOKEN: token,
        TUNNELER_ID: id,
        CONNECTOR_ADDR: connectorAddr,
        STATE_DIR: stateDir,
      });
      const forward = id === FORWARDING_ID ? { TUNNELER_FORWARDS: `127.0.0.1:0=${RESOURCE}` } : {};
      const child = start(id, BINS.tunneler, ['run'], {
        ...common,
        ...forward,
        STATE_DIR: stateDir,
      });
      if (id === FORWARDING_ID) resource.local = (await event(child, 'forward.listening')).address;
      return { kind: 'tunneler', id, child, http: (await event(child, 'agent.started')).httpUrl };
    }),
  );
  const agents = [
    { kind: 'connector', id: CONNECTOR_ID, child: connector, http: connectorHttp },
    ...tunnelers,
  ];
  const workload = start('workload', path.join(__dirname, 'demo-workload.js'), [], {
    SPIFFE_ENDPOINT_SOCKET: `unix://${workloadSocket}`,
  });
  const { spiffeId } = await event(workload, 'workload.svid');
  process.stdout.write(
    `workload got ${spiffeId} from the connector's Workload API (${workloadSocket})\n`,
  );
  for (const agent of agents) watchUnexpectedExit(agent.child);
  watchUnexpectedExit(controller);
  startTraffic(resource);
  return { started, admin, adminToken, adminPassword, agents, connectorAddr, notes: [], resource };
}

/**
 * The demo resource: an HTTP server on loopback (standing in for a private service only the
 * connector reaches), declared with `POST /api/admin/resources` and granted to FORWARDING_ID.
 */
async function startDemoResource(admin) {
  // One TCP connection per request: each is one tunneled connection, audited when it closes.
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(RESOURCE_BODY);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const address = `127.0.0.1:${server.address().port}`;
  await admin('POST', '/api/admin/resources', {
    name: RESOURCE,
    address,
    connector_id: CONNECTOR_ID,
  });
  await admin('POST', '/api/admin/grants', { resource: RESOURCE, tunneler_id: FORWARDING_ID });
  return { address, local: undefined, requests: 0, exact: 0, failures: 0 };
}

/** A request a second through the tunneler's forward, each checked byte for byte. */
function startTraffic(resource) {
  const expected = createHash('sha256').update(RESOURCE_BODY).digest('hex');
  const timer = setInterval(async () => {
    try {
      const body = Buffer.from(await (await fetch(`http://${resource.local}/`)).arrayBuffer());
      resource.requests += 1;
      if (createHash('sha256').update(body).digest('hex') === expected) resource.exact += 1;
    } catch {
      resource.failures += 1;
    }
  }, 1000);
  timer.unref();
}

function watchUnexpectedExit(child) {
  child.exited.then((code) => {
    // A revoked agent is meant to exit (with its own code, checked by --once).
    if (shuttingDown || child.revoked) return;
    void shutdown(
      1,
      `${child.name} exited unexpectedly with ${code}: ${child.stderr.slice(-3).join(' ') || `see ${child.logFile}`}`,
    );
  });
}

/** One row per agent: the controller's view (admin API) joined with the agent's own metrics. */
async function snapshot(plane) {
  const [connectors, tunnelers] = await Promise.all([
    plane.admin('GET', '/api/admin/connectors'),
    plane.admin('GET', '/api/admin/tunnelers'),
  ]);
  return Promise.all(
    plane.agents.map(async (agent) => {
      const view =
        (agent.kind === 'connector' ? connectors : tunnelers).find(
          (entry) => entry.id === agent.id,
        ) ?? {};
      // A process that exited keeps the numbers it last reported.
      const scraped = await scrape(agent.http);
      if (scraped.size > 0) agent.metrics = scraped;
      const metrics = agent.metrics ?? scraped;
      return {
        kind: agent.kind,
        id: agent.id,
        status: view.status ?? '-',
        lastSeen: view.last_seen ?? null,
        version: view.version || '-',
        via: view.connector_id,
        expiresIn: metrics.get('sigil_agent_certificate_expiry_seconds'),
        renewals: metrics.get('sigil_agent_renewals_total{result="success"}') ?? 0,
        heartbeats: metrics.get('sigil_agent_heartbeat_acks_total') ?? 0,
        lastAcked: metrics.get('sigil_agent_last_acked_sequence') ?? 0,
        streams: metrics.get('sigil_agent_stream_connects_total') ?? 0,
        forwarded: metrics.get('sigil_connector_tunneler_heartbeats_forwarded_total'),
        tunneled:
          metrics.get('sigil_connector_forward_bytes_total') ??
          metrics.get('sigil_tunneler_forward_bytes_total'),
        denied: metrics.get('sigil_connector_tunnelers_revoked'),
        exitCode: agent.child.exitCode,
      };
    }),
  );
}

function table(rows) {
  const header = [
    'KIND',
    'ID',
    'STATUS',
    'LAST SEEN',
    'VERSION',
    'CERT EXPIRES',
    'RENEWALS',
    'HEARTBEATS',
    'STREAMS',
    'TUNNELED',
  ];
  const body = rows.map((r) => [
    r.kind,
    r.via ? `${r.id} (via ${r.via})` : r.id,
    r.status,
    agoText(r.lastSeen),
    r.version,
    r.exitCode !== undefined
      ? `(exited ${r.exitCode})`
      : r.expiresIn === undefined
        ? '-'
        : `in ${r.expiresIn}s`,
    String(r.renewals),
    String(r.heartbeats),
    String(r.streams),
    r.tunneled === undefined ? '-' : `${Math.round(r.tunneled / 1024)} KiB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  return [header, ...body].map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

let drawn = 0;
function draw(lines) {
  if (tty) {
    // Redraw in place: up over the previous frame, clear each line, clear anything below.
    const up = drawn > 0 ? `\x1b[${drawn}A` : '';
    process.stdout.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n\x1b[J`);
    drawn = lines.length;
  } else {
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
}

/** The admin console's address and a sign-in that works there (docs/console.md). */
function consoleLine(plane) {
  return `console: ${plane.started.adminUrl}/ user admin password ${plane.adminPassword}`;
}

async function live(plane) {
  const { started, adminToken } = plane;
  process.stdout.write(
    [
      '',
      'Sigil control plane demo (Ctrl-C stops everything and removes the temp dir)',
      `  ${consoleLine(plane)}`,
      `  controller gRPC   ${started.grpcAddress}   bootstrap CA ${started.bootstrapCaPath}`,
      `  admin API         ${started.adminUrl}`,
      `  admin token       export SIGIL_ADMIN_TOKEN=${adminToken}`,
      `  try               curl -s -H "Authorization: Bearer $SIGIL_ADMIN_TOKEN" ${started.adminUrl}/api/admin/connectors`,
      `  or                SIGIL_ADMIN_URL=${started.adminUrl} SIGIL_ADMIN_TOKEN=$SIGIL_ADMIN_TOKEN pnpm exec sigil admin tunnelers ls`,
      `  agent metrics     ${plane.agents.map((a) => `${a.http}/metrics`).join('  ')}`,
      `  logs              ${path.join(workDir, 'logs')}`,
      `  certificates live ${mode.connectorTtl} (connector) and ${mode.tunnelerTtl} (tunnelers), renewed at ~30% remaining; heartbeats every ${mode.heartbeat}`,
      `  revocation        ${REVOKED_ID} is revoked with \`sigil admin tunnelers revoke\` once it has renewed`,
      `  data plane        ${FORWARDING_ID} forwards ${plane.resource.local} to resource ${RESOURCE} (${plane.resource.address}) through ${CONNECTOR_ID}: try curl -s http://${plane.resource.local}/ | wc -c`,
      '',
      '',
    ].join('\n'),
  );
  let tick = 0;
  const refresh = async () => {
    if (shuttingDown) return;
    try {
      const rows = await snapshot(plane);
      if (plane.revocation === undefined && readyToRevoke(rows)) void revoke(plane);
      // Without a terminal, print a frame every 5 s instead of redrawing every second.
      if (tty || tick % 5 === 0)
        draw([
          `${new Date().toISOString().slice(11, 19)}  agents:`,
          ...table(rows),
          ...plane.notes,
        ]);
    } catch (err) {
      if (!shuttingDown) draw([`status unavailable: ${err.message}`]);
    }
    tick += 1;
  };
  await refresh();
  ticker = setInterval(refresh, 1000);
}

/** True once the tunneler to revoke has renewed its certificate: the demo then revokes it. */
function readyToRevoke(rows) {
  return (rows.find((r) => r.id === REVOKED_ID)?.renewals ?? 0) >= 1;
}

/** Runs `sigil admin ARGS` as an operator would, pointed at the demo's controller by its environment. */
async function sigilAdmin(plane, name, argv) {
  const child = start(name, BINS.sigil, ['admin', ...argv], {
    SIGIL_ADMIN_URL: plane.started.adminUrl,
    SIGIL_ADMIN_TOKEN: plane.adminToken,
  });
  const code = await child.exited;
  return {
    command: `sigil admin ${argv.join(' ')}`,
    code,
    stdout: child.lines,
    stderr: child.stderr,
  };
}

/**
 * Revokes REVOKED_ID with `sigil admin tunnelers revoke` and notes it under the table; remembers
 * what the agents had acknowledged at that moment, to check that the others carry on.
 */
async function revoke(plane) {
  const agent = plane.agents.find((a) => a.id === REVOKED_ID);
  agent.child.revoked = true;
  plane.revocation = { before: await snapshot(plane) };
  const argv = ['tunnelers', 'revoke', REVOKED_ID, '--reason', REVOKE_REASON];
  const result = await sigilAdmin(plane, 'sigil-admin-revoke', argv);
  plane.revocation.result = result;
  const clock = () => new Date().toISOString().slice(11, 19);
  plane.notes.push(
    '',
    `${clock()}  $ sigil admin tunnelers revoke ${REVOKED_ID} --reason "${REVOKE_REASON}"`,
    ...(result.code === 0 ? result.stdout : [`exit ${result.code}`, ...result.stderr]).map(
      (line) => `          ${line}`,
    ),
  );
  void agent.child.exited.then((code) =>
    plane.notes.push(
      `${clock()}  ${REVOKED_ID} exited with code ${code}${code === REVOKED_EXIT_CODE ? ' (revoked: it does not retry)' : ''}`,
    ),
  );
  return plane.revocation;
}

/** --once: poll until every check passes or the deadline. */
async function verify(plane) {
  const deadline = startedAt + mode.deadlineMs;
  let results;
  let rows;
  for (;;) {
    rows = await snapshot(plane);
    const audit = await plane.admin('GET', '/api/admin/audit?action=renewal.succeeded&limit=100');
    const tunnels = await plane.admin('GET', '/api/admin/audit?action=tunnel.closed&limit=100');
    results = checks(rows, audit, plane, tunnels);
    if (results.every((c) => c.ok) || Date.now() > deadline) break;
    await sleep(500);
  }
  return { results, rows };
}

function checks(rows, audit, plane, tunnels) {
  const list = [];
  const check = (ok, text) => list.push({ ok, text });
  for (const r of rows) {
    const name = `${r.kind} ${r.id}`;
    const online =
      r.status === 'ONLINE' &&
      r.lastSeen !== null &&
      (r.kind === 'connector' || r.via === CONNECTOR_ID);
    check(
      online,
      `${name} is ONLINE in GET /api/admin/${r.kind}s${r.kind === 'tunneler' ? ` via ${CONNECTOR_ID}` : ''} (status ${r.status}, last seen ${agoText(r.lastSeen)})`,
    );
    check(
      r.heartbeats >= ONCE_MIN_HEARTBEATS && r.heartbeats === r.lastAcked,
      `${name}: heartbeats 1..${r.lastAcked} acknowledged with no gap (acks: ${r.heartbeats})`,
    );
    check(r.renewals >= 1, `${name}: renewed its certificate (renewals: ${r.renewals})`);
    check(
      r.streams === 1,
      `${name}: one stream for the whole run, not torn down by renewal (stream connects: ${r.streams})`,
    );
    check(
      audit.some((a) => a.subject.endsWith(`/${r.kind}/${r.id}`)),
      `${name}: renewal.succeeded in GET /api/admin/audit`,
    );
  }
  const connector = rows.find((r) => r.kind === 'connector');
  check(
    (connector?.forwarded ?? 0) >= 1,
    `${CONNECTOR_ID} forwarded tunneler heartbeats to the controller (${connector?.forwarded ?? 0})`,
  );
  const { resource } = plane;
  check(
    resource.exact >= 2 && resource.exact === resource.requests && resource.failures === 0,
    `${FORWARDING_ID} reached ${RESOURCE} through ${CONNECTOR_ID}: ${resource.exact} of ${resource.requests} requests byte-exact, ${resource.failures} failed`,
  );
  check(
    tunnels.some(
      (a) => a.subject.endsWith(`/tunneler/${FORWARDING_ID}`) && a.details.resource === RESOURCE,
    ),
    `tunnel.closed for ${FORWARDING_ID} -> ${RESOURCE} in GET /api/admin/audit, with its bytes`,
  );
  return list;
}

/**
 * --once: the console the live demo prints is there, and its printed sign-in works: `/` serves
 * the console's page and `POST /api/admin/session` signs in user admin with the password.
 */
async function consoleChecks(plane) {
  const url = `${plane.started.adminUrl}/`;
  const page = await fetch(url);
  const type = page.headers.get('content-type') ?? 'none';
  const signIn = await fetch(`${plane.started.adminUrl}/api/admin/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: plane.adminPassword }),
  });
  const session = await signIn.json().catch(() => ({}));
  return [
    {
      ok: page.status === 200 && type.startsWith('text/html'),
      text: `the console is served at ${url} (GET / ${page.status}, ${type})`,
    },
    {
      ok: signIn.status === 200 && session.user === 'admin' && session.role === 'admin',
      text: `the printed sign-in works: POST /api/admin/session as admin answered ${signIn.status} (role ${session.role ?? 'none'})`,
    },
  ];
}

/** --once, after the first checks: revoke REVOKED_ID, then poll until the revocation checks pass or their deadline. */
async function verifyRevocation(plane) {
  const { before, result } = await revoke(plane);
  const deadline = Date.now() + mode.revocationDeadlineMs;
  let results;
  let rows;
  for (;;) {
    rows = await snapshot(plane);
    const revocations = await plane.admin('GET', '/api/admin/revocations');
    results = revocationChecks(plane, { before, result, rows, revocations });
    if (results.every((c) => c.ok) || Date.now() > deadline) break;
    await sleep(500);
  }
  // The operator's view at the end, as `sigil admin` prints it.
  const listed = await sigilAdmin(plane, 'sigil-admin-ls', ['tunnelers', 'ls']);
  const row = listed.stdout.find((line) => line.startsWith(`${REVOKED_ID} `)) ?? '';
  results.push({
    ok: listed.code === 0 && /\sREVOKED\s/.test(row),
    text: `sigil admin tunnelers ls shows ${REVOKED_ID} REVOKED (exit ${listed.code}: ${row.replace(/\s+/g, ' ').trim() || listed.stderr.join(' ')})`,
  });
  return { results, rows, listed };
}

function revocationChecks(plane, { before, result, rows, revocations }) {
  const list = [];
  const check = (ok, text) => list.push({ ok, text });
  check(
    result.code === 0,
    `${result.command.replace(REVOKE_REASON, JSON.stringify(REVOKE_REASON))} exited ${result.code}: ${(result.code === 0 ? result.stdout : result.stderr).join(' ')}`,
  );
  const revoked = rows.find((r) => r.id === REVOKED_ID);
  check(
    revoked.status === 'REVOKED',
    `tunneler ${REVOKED_ID} is REVOKED in GET /api/admin/tunnelers (status ${revoked.status})`,
  );
  const entry = Array.isArray(revocations)
    ? revocations.find((r) => r.kind === 'tunneler' && r.agent_id === REVOKED_ID)
    : undefined;
  check(
    entry?.reason === REVOKE_REASON,
    `${REVOKED_ID} is in GET /api/admin/revocations with its reason (${entry === undefined ? 'absent' : JSON.stringify(entry.reason)})`,
  );
  const agent = plane.agents.find((a) => a.id === REVOKED_ID);
  const logged = agent.child.lines.some((l) => l.includes('"event":"agent.revoked"'));
  check(
    revoked.exitCode === REVOKED_EXIT_CODE && logged,
    `tunneler ${REVOKED_ID} stopped for good with exit code ${REVOKED_EXIT_CODE} and logged agent.revoked (exit ${revoked.exitCode ?? 'none yet'}, agent.revoked ${logged ? 'logged' : 'not logged'})`,
  );
  const connector = rows.find((r) => r.kind === 'connector');
  check(
    (connector.denied ?? 0) >= 1,
    `${CONNECTOR_ID} has ${REVOKED_ID} on its deny list (sigil_connector_tunnelers_revoked ${connector.denied ?? 0})`,
  );
  for (const r of rows.filter((row) => row.id !== REVOKED_ID)) {
    const was = before.find((b) => b.id === r.id)?.heartbeats ?? 0;
    check(
      r.status === 'ONLINE' && r.heartbeats >= was + 2 && r.streams === 1,
      `${r.kind} ${r.id} carries on after the revocation: ONLINE, heartbeats ${was} -> ${r.heartbeats}, the same stream (stream connects: ${r.streams})`,
    );
  }
  return list;
}

async function shutdown(code, reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  clearInterval(ticker);
  if (reason) process.stderr.write(`\ndemo: ${reason}\n`);
  if (code !== 0) {
    for (const child of children) {
      if (child.stderr.length > 0 && child.exitCode !== 0)
        process.stderr.write(`  ${child.name}: ${child.stderr.slice(-2).join(' | ')}\n`);
    }
  }
  // Tunnelers first, then the connector, then the controller: each gets SIGTERM and drains.
  for (const child of [...children].reverse()) {
    if (child.exitCode !== undefined) continue;
    child.proc.kill('SIGTERM');
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), 5000);
    await child.exited;
    clearTimeout(timer);
  }
  // A failed run keeps its logs for a look; a good one leaves nothing behind.
  const keep = code !== 0 && workDir !== undefined;
  if (keep) process.stderr.write(`demo: logs kept in ${path.join(workDir, 'logs')}\n`);
  else if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  if (!once && code === 0)
    process.stdout.write(
      '\nstopped: controller, connector and tunnelers are down; temp dir removed\n',
    );
  process.exit(code);
}

// Last resort if the demo dies some other way: no orphan processes.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === undefined) child.proc.kill('SIGKILL');
});
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// A closed terminal stops the demo as cleanly as Ctrl-C does.
process.on('SIGHUP', () => void shutdown(0));

async function main() {
  ensureBuilt();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-demo-'));
  fs.mkdirSync(path.join(workDir, 'logs'));
  if (!once) process.stdout.write('starting the controller, a connector and two tunnelers...\n');
  const plane = await startControlPlane();
  if (!once) return live(plane);

  const first = await verify(plane);
  const revocation = await verifyRevocation(plane);
  const results = [...first.results, ...revocation.results, ...(await consoleChecks(plane))];
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const passed = results.filter((c) => c.ok).length;
  const ok = passed === results.length;
  const lines = [
    `sigil demo --once: ${ok ? `all ${results.length} checks passed` : `${results.length - passed} of ${results.length} checks FAILED`} in ${seconds} s`,
    `  controller ${plane.started.grpcAddress}, admin API ${plane.started.adminUrl}, connector ${CONNECTOR_ID} on ${plane.connectorAddr}`,
    `  ${consoleLine(plane)}`,
    ...table(revocation.rows).map((l) => `  ${l}`),
    `  $ sigil admin tunnelers ls`,
    ...revocation.listed.stdout.map((l) => `  ${l}`),
    ...results.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.text}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await shutdown(ok ? 0 : 1, ok ? undefined : 'checks failed');
}

main().catch((err) => shutdown(1, err instanceof Error ? err.message : String(err)));
