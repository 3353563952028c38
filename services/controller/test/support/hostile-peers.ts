import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { spawnBin } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import type { controlplaneV1 } from '@sigil/proto';
import { controlPlaneClient, enroll, enrollmentClient, StreamRecorder } from './fixtures';

/** The built controller: these suites run it as a real process. */
export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
export const STRONG_ADMIN_TOKEN = 'hardening-4f9c2a7e1b3d8c6f0a5e9d2b7c4f1a8e';

/** Refuses to test a stale build of the controller. */
export function assertFreshBuild(): void {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: build first (pnpm --filter @sigil/controller build)`);
  const built = statSync(MAIN).mtimeMs;
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  const stale = walk(join(__dirname, '..', '..', 'src')).filter(
    (f) => !f.endsWith('.test.ts') && statSync(f).mtimeMs > built,
  );
  if (stale.length > 0)
    throw new Error(
      `dist/ is older than ${stale[0]}: rebuild (pnpm --filter @sigil/controller build)`,
    );
}

/** A controller process with its addresses. */
export interface ControllerProcess {
  bin: BinProcess;
  grpcAddress: string;
  grpcPort: number;
  adminUrl: string;
  caPem: string;
}

/**
 * Starts the built controller with `env` (plus loopback listeners and a strong admin token),
 * optionally under a descriptor limit (`prlimit`, applied right after spawn).
 */
export async function spawnController(
  dataDir: string,
  env: Record<string, string> = {},
  options: { maxDescriptors?: number } = {},
): Promise<ControllerProcess> {
  const bin = spawnBin(MAIN, {
    env: {
      DATA_DIR: dataDir,
      TRUST_DOMAIN: 'hardening.sigil',
      CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
      ADMIN_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_ADMIN_TOKEN: STRONG_ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  if (options.maxDescriptors !== undefined)
    execFileSync('prlimit', [
      `--pid=${bin.child.pid}`,
      `--nofile=${options.maxDescriptors}:${options.maxDescriptors}`,
    ]);
  const started = await bin.next('controller.started');
  const grpcAddress = started['grpcAddress'] as string;
  return {
    bin,
    grpcAddress,
    grpcPort: Number(grpcAddress.split(':').pop()),
    adminUrl: started['adminUrl'] as string,
    caPem: readFileSync(join(dataDir, 'bootstrap-ca.crt'), 'utf8'),
  };
}

/**
 * Runs test/support/stalled-enroll-attacker.ts as its own process against `controller` and
 * resolves to its report when it is done.
 */
export async function runStalledEnrollAttack(
  controller: ControllerProcess,
  options: { streams: number; sessions: number; durationMs: number; localAddress: string },
): Promise<{ opened: number; ended: number; live: number }> {
  const attacker = spawnBin(join(__dirname, 'stalled-enroll-attacker.ts'), {
    nodeArgs: ['-r', join(__dirname, '../../../../scripts/register-ts.js')],
    env: {
      PORT: String(controller.grpcPort),
      CA_PEM: controller.caPem,
      LOCAL_ADDRESS: options.localAddress,
      SESSIONS: String(options.sessions),
      STREAMS: String(options.streams),
      DURATION_MS: String(options.durationMs),
    },
  });
  const report = await attacker.next('attack.done', options.durationMs + 30_000);
  await attacker.stop();
  return report as unknown as { opened: number; ended: number; live: number };
}

/** Resident memory of a process in MiB (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  return kb / 1024;
}

/**
 * A TLS connection as an Enroll client opens it (no client certificate), from `localAddress`;
 * `client` adds an agent's certificate and key, or a TLS session to offer for resumption.
 */
export function openTls(
  port: number,
  caPem: string,
  localAddress = '127.0.0.1',
  client: Pick<ConnectionOptions, 'cert' | 'key' | 'session'> = {},
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({
      socket: connectTcp({ host: '127.0.0.1', port, localAddress }),
      ca: caPem,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
      ...client,
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A plain TCP connection that never says anything. */
export function openTcp(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves to the milliseconds until `socket` closed (the peer closed it), or rejects after `timeoutMs`. */
export function closedWithin(socket: Socket, timeoutMs: number): Promise<number> {
  const opened = Date.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve(0);
    const timer = setTimeout(
      () => reject(new Error(`still open after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', () => undefined);
    socket.resume(); // a paused socket never sees the peer's FIN
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - opened);
    });
  });
}

/** Creates a connector token over the admin API and enrolls with it; returns the identity. */
export async function enrollConnector(
  controller: ControllerProcess,
  id: string,
): Promise<{ chainPem: string; keyPem: string }> {
  const res = await fetch(`${controller.adminUrl}/api/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${STRONG_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'connector', id }),
  });
  if (res.status !== 201) throw new Error(`token creation: ${res.status} ${await res.text()}`);
  const { token } = (await res.json()) as { token: string };
  const client = enrollmentClient(controller.grpcAddress, controller.caPem);
  try {
    return (await enroll(client, { token, kind: 'connector', agentId: id })).identity;
  } finally {
    client.close();
  }
}

/** A connector's Connect stream that heartbeats every `everyMs` and counts the acks. */
export interface Heartbeater {
  readonly acks: () => number;
  /** The longest wait between two acks so far, in ms. */
  readonly longestGapMs: () => number;
  stop(): void;
}

export function startHeartbeats(
  controller: ControllerProcess,
  identity: { chainPem: string; keyPem: string },
  everyMs: number,
): Heartbeater {
  const client: controlplaneV1.ControlPlaneServiceClient = controlPlaneClient(
    controller.grpcAddress,
    controller.caPem,
    identity,
  );
  const stream = new StreamRecorder(client.connect());
  stream.call.write({
    body: { $case: 'hello', hello: { version: '1.0.0', privateIp: '10.0.0.1' } },
  });
  let sequence = 0;
  let lastAck = Date.now();
  let longest = 0;
  stream.call.on('data', (m: controlplaneV1.ControllerMessage) => {
    if (m.body?.$case !== 'heartbeatAck') return;
    const now = Date.now();
    longest = Math.max(longest, now - lastAck);
    lastAck = now;
  });
  const timer = setInterval(() => {
    sequence += 1;
    stream.call.write({
      body: {
        $case: 'heartbeat',
        heartbeat: {
          sequence,
          version: '1.0.0',
          privateIp: '10.0.0.1',
          sentAt: Date.now(),
          certificateNotAfter: 0,
          bundleVersion: 0,
        },
      },
    });
  }, everyMs);
  return {
    acks: () => stream.count('heartbeatAck'),
    longestGapMs: () => Math.max(longest, Date.now() - lastAck),
    stop() {
      clearInterval(timer);
      stream.call.cancel();
      client.close();
    },
  };
}
