import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { generateKeyPair, tokenHash } from '@sigil/pki';
import type { KeyPair } from '@sigil/pki';
import { spawnBin } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';
import { createSqliteStore } from '../src/store/sqlite-store';
import type { EnrollmentTokenRecord } from '../src/store/store';
import { enroll, enrollmentClient } from './support/fixtures';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
const ADMIN_TOKEN = 'crash-test-admin-token-0123456789';
const TOKENS = 40;
const WORKERS = 8;
const KILL_AFTER_SUCCESSES = 16;

/** The test runs the BUILT controller as a real process; refuse to test a stale build. */
function assertFreshBuild(): void {
  if (!existsSync(MAIN))
    throw new Error(
      `${MAIN} is missing: build first (npx turbo run build --filter=@sigil/controller...)`,
    );
  const built = statSync(MAIN).mtimeMs;
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  const stale = walk(join(__dirname, '..', 'src')).filter(
    (f) => !f.endsWith('.test.ts') && statSync(f).mtimeMs > built,
  );
  if (stale.length > 0)
    throw new Error(
      `dist/ is older than ${stale[0]}: rebuild (npx turbo run build --filter=@sigil/controller...)`,
    );
}

interface Child {
  bin: BinProcess;
  grpcAddress: string;
  adminUrl: string;
}

async function spawnController(dataDir: string): Promise<Child> {
  const bin = spawnBin(MAIN, {
    env: {
      DATA_DIR: dataDir,
      TRUST_DOMAIN: 'crash.sigil',
      CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
      ADMIN_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      // A deliberate burst from one address, retried through kills: above the default limit.
      CONTROLLER_ENROLL_RATE_PER_IP: '100000',
      CONTROLLER_ENROLL_RATE: '100000',
    },
  });
  const started = await bin.next('controller.started');
  return {
    bin,
    grpcAddress: started['grpcAddress'] as string,
    adminUrl: started['adminUrl'] as string,
  };
}

async function createToken(adminUrl: string, id: string): Promise<string> {
  const res = await fetch(`${adminUrl}/api/admin/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'connector', id }),
  });
  if (res.status !== 201)
    throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

const serialOf = (chainPem: string): string =>
  new X509Certificate(chainPem).serialNumber.toLowerCase();

describe('kill -9 of the controller during a burst of enrollments', () => {
  let dataDir: string;
  let children: Child[] = [];

  beforeAll(() => assertFreshBuild());
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-crash-'));
  });
  afterEach(async () => {
    for (const child of children) await child.bin.stop(0);
    children = [];
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no token and double-issues none: every token ends redeemed exactly once, by a certificate a client holds', async () => {
    const first = await spawnController(dataDir);
    children.push(first);
    const agents: Array<{ id: string; token: string; key: KeyPair; delivered?: string }> = [];
    for (let i = 0; i < TOKENS; i += 1) {
      const id = `connector-${String(i).padStart(2, '0')}`;
      agents.push({
        id,
        token: await createToken(first.adminUrl, id),
        key: await generateKeyPair('ec-p256'),
      });
    }
    const caPem = await (
      await fetch(`${first.adminUrl}/api/admin/bootstrap-ca`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).text();

    // The burst: WORKERS enrollments in flight at all times; SIGKILL once KILL_AFTER_SUCCESSES
    // were answered, so some are in flight (maybe committed, never answered) and some never sent.
    const burstClient = enrollmentClient(first.grpcAddress, caPem);
    let successes = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < agents.length && successes < KILL_AFTER_SUCCESSES) {
        const agent = agents[next++]!;
        try {
          const { response } = await enroll(burstClient, {
            token: agent.token,
            kind: 'connector',
            agentId: agent.id,
            key: agent.key,
          });
          agent.delivered = response.certificateChainPem;
          successes += 1;
          if (successes === KILL_AFTER_SUCCESSES) first.bin.child.kill('SIGKILL');
        } catch {
          return; // the controller is gone
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    burstClient.close();
    expect((await first.bin.exited).signal).toBe('SIGKILL');

    // What survived on disk, read before anything else touches the data dir.
    const store = await createSqliteStore({ path: join(dataDir, 'controller.db') });
    const onDisk = new Map<string, EnrollmentTokenRecord | undefined>();
    for (const agent of agents) onDisk.set(agent.id, await store.findToken(tokenHash(agent.token)));
    await store.close();

    let redeemedButUndelivered = 0;
    let stillRedeemable = 0;
    for (const agent of agents) {
      const record = onDisk.get(agent.id);
      expect(record).toBeDefined(); // no token was lost
      if (agent.delivered !== undefined) {
        // Acknowledged to a client => durable, with exactly that certificate.
        expect(record!.usedAt).not.toBeNull();
        expect(record!.certificateSerial).toBe(serialOf(agent.delivered));
      } else if (record!.usedAt !== null) {
        redeemedButUndelivered += 1;
      } else {
        stillRedeemable += 1;
      }
    }
    expect(agents.filter((a) => a.delivered !== undefined).length).toBeGreaterThanOrEqual(
      KILL_AFTER_SUCCESSES,
    );

    // Restart on the same DATA_DIR; every agent retries as a real one would, with its own key.
    const second = await spawnController(dataDir);
    children.push(second);
    const client = enrollmentClient(second.grpcAddress, caPem);
    try {
      for (const agent of agents) {
        const retry = await enroll(client, {
          token: agent.token,
          kind: 'connector',
          agentId: agent.id,
          key: agent.key,
        });
        const serial = serialOf(retry.response.certificateChainPem);
        const record = onDisk.get(agent.id)!;
        if (agent.delivered !== undefined)
          expect(retry.response.certificateChainPem).toBe(agent.delivered);
        else if (record.usedAt !== null) expect(serial).toBe(record.certificateSerial); // the stored answer, not a new certificate
        agent.delivered = retry.response.certificateChainPem;
        // Anyone else with the token gets nothing.
        await expect(
          enroll(client, { token: agent.token, kind: 'connector', agentId: agent.id }),
        ).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      }
    } finally {
      client.close();
    }
    second.bin.child.kill('SIGTERM');
    expect((await second.bin.exited).code).toBe(0);

    // Final state: each token redeemed exactly once, by the certificate its agent holds, audited once.
    const final = await createSqliteStore({ path: join(dataDir, 'controller.db') });
    try {
      for (const agent of agents) {
        expect((await final.findToken(tokenHash(agent.token)))!.certificateSerial).toBe(
          serialOf(agent.delivered!),
        );
      }
      const succeeded = await final.listAudit({ limit: 1000, action: 'enrollment.succeeded' });
      expect(succeeded).toHaveLength(TOKENS);
      expect(new Set(succeeded.map((r) => r.subject)).size).toBe(TOKENS);
      expect((await final.listConnectors()).map((c) => c.id)).toEqual(agents.map((a) => a.id));
    } finally {
      await final.close();
    }
    process.stdout.write(
      `kill -9 burst: ${successes} delivered before the kill, ${redeemedButUndelivered} redeemed but undelivered (answered from the store on retry), ${stillRedeemable} still redeemable\n`,
    );
  }, 60_000);
});
