import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertFreshBuild,
  closedWithin,
  enrollConnector,
  openTcp,
  openTls,
  rssMiB,
  runStalledEnrollAttack,
  spawnController,
  startHeartbeats,
} from './support/hostile-peers';
import type { ControllerProcess } from './support/hostile-peers';

/** The ceiling docs/controller.md "Limits" promises for this attack with the default limits. */
const RSS_CEILING_MIB = 256;
const ENROLL_PATH = '/sigil.controlplane.v1.EnrollmentService/Enroll';

/** An HTTP/2 session over TLS without a client certificate, from `localAddress`. */
function attackerSession(controller: ControllerProcess, localAddress: string): ClientHttp2Session {
  const session = connectHttp2(`https://127.0.0.1:${controller.grpcPort}`, {
    createConnection: () =>
      connectTls({
        socket: connectTcp({ host: '127.0.0.1', port: controller.grpcPort, localAddress }),
        ca: controller.caPem,
        servername: 'localhost',
        ALPNProtocols: ['h2'],
      }),
  });
  session.on('error', () => undefined);
  return session;
}

describe('hostile peers against the gRPC listener (the built controller, a real process)', () => {
  let dataDir: string;
  let controller: ControllerProcess;

  beforeAll(async () => {
    assertFreshBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-hardening-grpc-'));
    controller = await spawnController(dataDir, {
      CONTROLLER_HANDSHAKE_TIMEOUT: '2s',
      CONTROLLER_UNAUTHENTICATED_CONNECTION_TIMEOUT: '6s',
    });
  });
  afterAll(async () => {
    await controller?.bin.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps RSS under the documented ceiling through 300 stalled 4 MiB Enroll streams, while an agent keeps heartbeating', async () => {
    const agent = startHeartbeats(controller, await enrollConnector(controller, 'healthy-1'), 250);
    const baseline = rssMiB(controller.bin.child.pid!);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(controller.bin.child.pid!));
    }, 100);
    // 300 streams over 30 connections (the per-address cap is 32) from another loopback address,
    // reopened as fast as the controller closes them, for 10 s.
    const attack = await runStalledEnrollAttack(controller, {
      streams: 300,
      sessions: 30,
      durationMs: 10_000,
      localAddress: '127.0.0.2',
    });
    clearInterval(sampler);
    // Every stalled stream was ended by the controller (refused at its 5-byte prefix with
    // RESOURCE_EXHAUSTED, or reset with its connection at the session memory limit).
    expect(attack.opened).toBeGreaterThanOrEqual(300);
    expect(attack.ended).toBeGreaterThanOrEqual(attack.opened - 300);
    expect(peak).toBeLessThan(RSS_CEILING_MIB);
    expect(peak - baseline).toBeLessThan(128);
    expect(agent.acks()).toBeGreaterThan(5);
    expect(agent.longestGapMs()).toBeLessThan(5000);
    agent.stop();
  }, 120_000);

  it('closes a TLS connection that opens no stream, and a TCP connection that never starts TLS, after the handshake timeout', async () => {
    const tls = await openTls(controller.grpcPort, controller.caPem, '127.0.0.3');
    const tcp = await openTcp(controller.grpcPort, '127.0.0.3');
    const [tlsMs, tcpMs] = await Promise.all([
      closedWithin(tls, 15_000),
      closedWithin(tcp, 15_000),
    ]);
    expect(tlsMs).toBeGreaterThanOrEqual(1500);
    expect(tcpMs).toBeGreaterThanOrEqual(1500);
  }, 30_000);

  it('closes an unauthenticated connection that keeps a stalled Enroll stream open, but not an agent stream', async () => {
    const agent = startHeartbeats(controller, await enrollConnector(controller, 'healthy-2'), 500);
    const session = attackerSession(controller, '127.0.0.4');
    const stream = session.request({
      ':method': 'POST',
      ':path': ENROLL_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    stream.write(Buffer.from([0, 0, 0, 0, 100, 1, 2, 3])); // 3 of 100 bytes, then silence
    const closed = new Promise<number>((resolve) => {
      const opened = Date.now();
      session.once('close', () => resolve(Date.now() - opened));
    });
    expect(await closed).toBeGreaterThanOrEqual(4000);
    // The agent's stream outlived the unauthenticated timeout (6 s) and kept heartbeating.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(agent.longestGapMs()).toBeLessThan(3000);
    expect(agent.acks()).toBeGreaterThan(8);
    agent.stop();
  }, 60_000);

  it('caps connections per remote address, closing the extra ones at once', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 40 }, () => openTcp(controller.grpcPort, '127.0.0.5')),
    );
    const outcomes = await Promise.all(
      sockets.map((s) =>
        closedWithin(s, 1000).then(
          (ms) => ms,
          () => Infinity,
        ),
      ),
    );
    // 32 allowed (CONTROLLER_MAX_CONNECTIONS_PER_IP), the other 8 closed on accept.
    expect(outcomes.filter((ms) => ms < 1000).length).toBe(8);
    for (const s of sockets) s.destroy();
    const other = await openTls(controller.grpcPort, controller.caPem, '127.0.0.6');
    expect(other.authorized).toBe(true); // another address is not affected
    other.destroy();
  }, 30_000);
});
