// Two real controller processes (the built bin) on a database of their own on the real
// PostgreSQL, sharing one DATA_DIR (the CA files and the sealing key). Real connector processes
// spread over both: half list A first in CONTROLLER_ADDR, half B (the agents' own failover list,
// no proxy), all heartbeating every 100 ms, two more enrolling at the moment of the kill. A is
// SIGKILLed: every connector is connected to B again (a stream and a hello after the kill), B
// leads, nothing acknowledged before the kill is missing (tokens, audit rows), and every token
// was redeemed exactly once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { readMetric, spawnBin, waitFor } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import { ADMIN_TOKEN } from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(240_000);

const POSTGRES_URL =
  process.env.SIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const skipped = process.env.SIGIL_SKIP_POSTGRES === '1';
/** The failover bound docs/operations.md gives: every connector back on the survivor within it. */
const FAILOVER_BOUND_MS = 15_000;

const CONTROLLER_MAIN = path.join(
  path.dirname(require.resolve('@sigil/controller/package.json')),
  'dist',
  'main.js',
);

/** The URL of `database` on the server of POSTGRES_URL. */
const databaseUrl = (database: string): string => {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
};

interface Replica {
  bin: BinProcess;
  grpcAddress: string;
  adminUrl: string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function startReplica(dataDir: string, database: string): Promise<Replica> {
  const bin = spawnBin(CONTROLLER_MAIN, {
    env: {
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl(database),
      TRUST_DOMAIN: 'e2e.sigil',
      CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
      ADMIN_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
    },
  });
  const started = await bin.next('controller.started', 60_000);
  return {
    bin,
    grpcAddress: String(started.grpcAddress),
    adminUrl: String(started.adminUrl),
  };
}

async function admin(replica: Replica, route: string, init: RequestInit = {}): Promise<Json> {
  const response = await fetch(`${replica.adminUrl}/api/admin${route}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Json;
}

/** Every audit row, oldest first (paged). */
async function auditRows(replica: Replica): Promise<Json[]> {
  const rows: Json[] = [];
  let before: number | undefined;
  for (;;) {
    const page = (await admin(
      replica,
      `/audit?limit=500${before === undefined ? '' : `&before=${before}`}`,
    )) as unknown as Json[];
    rows.push(...page);
    if (page.length < 500) return rows.reverse();
    before = page[page.length - 1]!.id as number;
  }
}

(skipped ? describe.skip : describe)(
  'SIGKILL of one of two controller replicas under heartbeat load',
  () => {
    const database = `sigil_failover_${process.pid}_${randomBytes(4).toString('hex')}`;
    const scratch = mkdtempSync(path.join(tmpdir(), 'sigil-failover-'));
    const dataDir = path.join(scratch, 'controller');
    const db = new Client({ connectionString: POSTGRES_URL });
    const replicas: Replica[] = [];

    beforeAll(async () => {
      await db.connect();
      await db.query(`CREATE DATABASE ${database}`);
    });
    afterAll(async () => {
      await killAll();
      await Promise.all(replicas.map((r) => r.bin.stop(2000)));
      await db.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await db.end();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('every connector is back on the survivor, which leads; nothing acknowledged is lost', async () => {
      // A first: it creates the CA files and migrates; B opens the same.
      const a = await startReplica(dataDir, database);
      replicas.push(a);
      const b = await startReplica(dataDir, database);
      replicas.push(b);
      expect(await readMetric(a.adminUrl, 'sigil_controller_leader')).toBe(1);
      expect(await readMetric(b.adminUrl, 'sigil_controller_leader')).toBe(0);

      const env = async (id: string, addresses: string): Promise<Record<string, string>> => {
        const { token } = await admin(a, '/tokens', {
          method: 'POST',
          body: JSON.stringify({ kind: 'connector', id }),
        });
        return {
          ENROLLMENT_TOKEN: token as string,
          CONTROLLER_ADDR: addresses,
          CONTROLLER_CA_PATH: path.join(dataDir, 'bootstrap-ca.crt'),
          CONNECTOR_ID: id,
          STATE_DIR: path.join(scratch, `state-${id}`),
          AGENT_HTTP_ADDR: '127.0.0.1:0',
          CONNECTOR_LISTEN_ADDR: '127.0.0.1:0',
          SIGIL_WORKLOAD_API_SOCKET: 'off',
          HEARTBEAT_INTERVAL: '100ms',
          PRIVATE_IP: '10.9.8.7',
          LOG_LEVEL: 'info',
        };
      };
      const aFirst = `${a.grpcAddress},${b.grpcAddress}`;
      const bFirst = `${b.grpcAddress},${a.grpcAddress}`;
      const ids = ['edge-a1', 'edge-a2', 'edge-a3', 'edge-b1', 'edge-b2', 'edge-b3'];
      for (const id of ids)
        spawnAgent(
          'connector',
          ['run', '--ephemeral'],
          await env(id, id.startsWith('edge-a') ? aFirst : bFirst),
        );

      const connectedOn = async (replica: Replica): Promise<Json[]> =>
        ((await admin(replica, '/connectors')) as unknown as Json[]).filter((c) => c.connected);
      await waitFor(
        'every connector streaming to the replica it lists first',
        async () => (await connectedOn(a)).length === 3 && (await connectedOn(b)).length === 3,
        60_000,
      );

      // Acknowledged before the kill: pending tokens (one created on each replica) and their audit rows.
      await admin(a, '/tokens', {
        method: 'POST',
        body: JSON.stringify({ kind: 'connector', id: 'later-1' }),
      });
      await admin(b, '/tokens', {
        method: 'POST',
        body: JSON.stringify({ kind: 'connector', id: 'later-2' }),
      });
      // Two more connectors enrolling (through A first) as A dies.
      const late = ['edge-late1', 'edge-late2'];
      const lateEnvs = await Promise.all(late.map((id) => env(id, aFirst)));
      const auditBefore = await auditRows(a);
      for (const lateEnv of lateEnvs) spawnAgent('connector', ['run', '--ephemeral'], lateEnv);

      a.bin.child.kill('SIGKILL');
      const killedAt = Date.now();
      await a.bin.exited;
      const leading = waitFor(
        'B to lead',
        async () => (await readMetric(b.adminUrl, 'sigil_controller_leader')) === 1,
        10_000,
      ).then(() => Date.now() - killedAt);

      const everyone = [...ids, ...late];
      await waitFor(
        'every connector streaming to B, seen after the kill',
        async () => {
          const connected = await connectedOn(b);
          return everyone.every((id) =>
            connected.some(
              (c) =>
                c.id === id &&
                c.status === 'ONLINE' &&
                Date.parse(c.last_seen as string) > killedAt,
            ),
          );
        },
        FAILOVER_BOUND_MS,
      );
      const onlineAfterMs = Date.now() - killedAt;
      const leaderAfterMs = await leading;
      console.log(
        `failover: all ${everyone.length} connectors ONLINE on the survivor ${onlineAfterMs} ms after SIGKILL; survivor leads after ${leaderAfterMs} ms`,
      );

      // Nothing acknowledged is lost: every audit row A had returned is on B, the pending
      // tokens are still pending.
      const auditAfter = await auditRows(b);
      const afterIds = new Set(auditAfter.map((r) => r.id));
      expect(auditBefore.filter((r) => !afterIds.has(r.id))).toEqual([]);
      const pending = ((await admin(b, '/tokens')) as unknown as Json[]).map((t) => t.id);
      expect(pending.sort()).toEqual(['later-1', 'later-2']);
      // Each connector redeemed its token exactly once (a retry after a lost answer replays it).
      const enrolled = auditAfter.filter((r) => r.action === 'enrollment.succeeded');
      expect(enrolled.map((r) => r.subject).sort()).toEqual(
        everyone.map((id) => `spiffe://e2e.sigil/connector/${id}`).sort(),
      );
      // The survivor still reaches the connectors that failed over to it.
      const renewed = await admin(b, '/connectors/edge-a1/renew', { method: 'POST' });
      expect(renewed.command_id).toMatch(/^[0-9a-f-]{36}$/);
    });
  },
);
