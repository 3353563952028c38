import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@sigil/testing';
import {
  assertFreshBuild,
  enrollConnector,
  openTcp,
  spawnController,
  startHeartbeats,
  STRONG_ADMIN_TOKEN,
} from './support/hostile-peers';
import type { ControllerProcess } from './support/hostile-peers';

/** One admin API request from `localAddress`, so a test can play several clients. */
function adminRequest(
  controller: ControllerProcess,
  path: string,
  options: { token?: string; localAddress?: string; method?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const url = new URL(path, controller.adminUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'GET',
        localAddress: options.localAddress ?? '127.0.0.1',
        agent: false,
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The raw status line the admin port answers `text` with. */
function rawStatusLine(controller: ControllerProcess, text: string): Promise<string> {
  const url = new URL(controller.adminUrl);
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: url.hostname, port: Number(url.port) }, () =>
      socket.write(text),
    );
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) {
        resolve(answer.split('\r\n')[0]!);
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

const auditRows = async (
  controller: ControllerProcess,
  action?: string,
): Promise<Array<{ action: string; details: Record<string, unknown> }>> => {
  const res = await adminRequest(
    controller,
    `/api/admin/audit?limit=1000${action === undefined ? '' : `&action=${action}`}`,
    { token: STRONG_ADMIN_TOKEN, localAddress: '127.0.0.200' },
  );
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as Array<{ action: string; details: Record<string, unknown> }>;
};

describe('hostile peers against the admin API (the built controller, a real process)', () => {
  let dataDir: string;
  let controller: ControllerProcess;

  beforeAll(async () => {
    assertFreshBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-hardening-admin-'));
    controller = await spawnController(
      dataDir,
      {
        ADMIN_REQUEST_TIMEOUT: '3s',
        ADMIN_AUTH_FAILURES_PER_MINUTE: '10',
        AUDIT_SUMMARY_INTERVAL: '1s',
      },
      { maxDescriptors: 1024 },
    );
  });
  afterAll(async () => {
    await controller?.bin.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a malformed absolute request target with 400 before authentication, not 500', async () => {
    expect(await rawStatusLine(controller, 'GET http://[bad/ HTTP/1.1\r\nHost: x\r\n\r\n')).toBe(
      'HTTP/1.1 400 Bad Request',
    );
    expect(
      await rawStatusLine(
        controller,
        'GET http://[bad/api/admin/tokens HTTP/1.1\r\nHost: x\r\n\r\n',
      ),
    ).toBe('HTTP/1.1 400 Bad Request');
  });

  it('throttles admin token guessing per address with 429 and Retry-After, even for the right token, leaving other addresses alone', async () => {
    const from = '127.0.0.10';
    for (let i = 0; i < 10; i += 1)
      expect(
        (
          await adminRequest(controller, '/api/admin/connectors', {
            token: `guess-${i}`,
            localAddress: from,
          })
        ).status,
      ).toBe(401);
    const throttled = await adminRequest(controller, '/api/admin/connectors', {
      token: 'guess-11',
      localAddress: from,
    });
    expect(throttled.status).toBe(429);
    expect(JSON.parse(throttled.body)).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Guessing gains nothing: the right token from the throttled address waits too.
    expect(
      (
        await adminRequest(controller, '/api/admin/connectors', {
          token: STRONG_ADMIN_TOKEN,
          localAddress: from,
        })
      ).status,
    ).toBe(429);
    expect(
      (
        await adminRequest(controller, '/api/admin/connectors', {
          token: STRONG_ADMIN_TOKEN,
          localAddress: '127.0.0.11',
        })
      ).status,
    ).toBe(200);
  });

  it('turns 1000 unauthenticated requests into O(1) audit rows, and keeps every authenticated action', async () => {
    const before = (await auditRows(controller)).length;
    // 100 addresses x 10 failures each: all 401 (under the per-address throttle), 50 clients at a
    // time (ADMIN_MAX_CONNECTIONS is 64).
    for (const wave of [0, 50])
      await Promise.all(
        Array.from({ length: 50 }, async (_, a) => {
          for (let i = 0; i < 10; i += 1) {
            const res = await adminRequest(controller, `/api/admin/audit?${'x'.repeat(2000)}`, {
              token: 'wrong',
              localAddress: `127.0.1.${wave + a + 1}`,
            });
            expect(res.status).toBe(401);
          }
        }),
      );
    const created = await adminRequest(controller, '/api/admin/tokens', {
      method: 'POST',
      token: STRONG_ADMIN_TOKEN,
      localAddress: '127.0.0.200',
    });
    expect(created.status).toBe(400); // no body: refused, but an authenticated request
    await enrollConnector(controller, 'audited-1');
    let rows: Array<{ action: string; details: Record<string, unknown> }> = [];
    await waitFor(
      'the refusal summaries to count 1000 admin.unauthorized',
      async () => {
        rows = await auditRows(controller);
        const counted = rows
          .filter((r) => r.action === 'audit.refusals_summary')
          .flatMap((r) => r.details.counts as Array<{ action: string; count: number }>)
          .filter((c) => c.action === 'admin.unauthorized')
          .reduce((n, c) => n + c.count, 0);
        return counted >= 1000;
      },
      20_000,
    );
    const added = rows.length - before;
    // admin.token_created + enrollment.succeeded, and a handful of summary rows (one a second).
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['admin.token_created', 'enrollment.succeeded']),
    );
    expect(added).toBeLessThan(20);
    const summary = rows.find((r) => r.action === 'audit.refusals_summary')!;
    expect(JSON.stringify(summary).length).toBeLessThan(64 * 1024);
  }, 120_000);

  it('keeps serving gRPC with 1030 idle connections on the admin port under a 1024-descriptor limit', async () => {
    const identity = await enrollConnector(controller, 'starved-1');
    const url = new URL(controller.adminUrl);
    const idle = [];
    for (let i = 0; i < 1030; i += 1)
      idle.push(openTcp(Number(url.port), '127.0.2.1').catch(() => undefined));
    const sockets = (await Promise.all(idle)).filter((s) => s !== undefined);
    for (const s of sockets) s.on('error', () => undefined);
    const agent = startHeartbeats(controller, identity, 250);
    await waitFor('heartbeats during the flood', () => agent.acks() >= 8, 20_000);
    expect(await enrollConnector(controller, 'starved-2')).toBeDefined();
    agent.stop();
    for (const s of sockets) s.destroy();
    // The admin API itself recovers: idle connections time out (ADMIN_REQUEST_TIMEOUT).
    await waitFor(
      'the admin API after the flood',
      async () =>
        (
          await adminRequest(controller, '/api/admin/connectors', {
            token: STRONG_ADMIN_TOKEN,
            localAddress: '127.0.0.201',
          })
        ).status === 200,
      20_000,
    );
    expect(controller.bin.child.exitCode).toBeNull();
  }, 120_000);
});
