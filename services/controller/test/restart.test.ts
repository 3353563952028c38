import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import { TOKEN_REFUSAL_MESSAGE } from '../src/internal/enrollment';
import {
  admin,
  controlPlaneClient,
  enroll,
  enrollmentClient,
  enrollNew,
  startController,
  unary,
} from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';

describe('controller restart with the same DATA_DIR', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sigil-restart-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the data dir layout on first start: CA keys 0600, bootstrap-ca.crt, controller.db', async () => {
    const fx = await startController({ dataDir });
    await fx.cleanup();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const key of ['bootstrap-ca.key', 'runtime-ca.key', 'controller.db'])
      expect(statSync(join(dataDir, key)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'bootstrap-ca.crt'), 'utf8')).toMatch(
      /^-----BEGIN CERTIFICATE-----/,
    );
    expect(readFileSync(join(dataDir, 'bootstrap-ca.crt'), 'utf8')).not.toBe(
      readFileSync(join(dataDir, 'runtime-ca.crt'), 'utf8'),
    );
  });

  it('keeps CAs, registry, tokens and audit; an agent enrolled before the restart still reaches the control plane', async () => {
    const first = await startController({ dataDir });
    const bootstrapBefore = first.controller.bootstrapCaPem;
    const bundleBefore = first.controller.trustBundlePem;
    const connector = await enrollNew(first.controller, 'connector', 'connector-1');
    const { token: used } = await first.controller.createEnrollmentToken({
      kind: 'tunneler',
      id: 'tunneler-1',
      connectorId: 'connector-1',
    });
    const client1 = enrollmentClient(first.controller.grpcAddress, bootstrapBefore);
    await enroll(client1, { token: used, kind: 'tunneler', agentId: 'tunneler-1' });
    client1.close();
    const { token: pending } = await first.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-2',
    });
    await first.cleanup();

    const second = await startController({ dataDir });
    try {
      expect(second.controller.bootstrapCaPem).toBe(bootstrapBefore);
      expect(second.controller.trustBundlePem).toBe(bundleBefore);
      expect(second.controller.listConnectors().map((c) => c.id)).toEqual(['connector-1']);
      expect(second.controller.listTunnelers()).toEqual([
        expect.objectContaining({ id: 'tunneler-1', connectorId: 'connector-1' }),
      ]);
      const client2 = enrollmentClient(second.controller.grpcAddress, bootstrapBefore);
      try {
        await expect(
          enroll(client2, { token: used, kind: 'tunneler', agentId: 'tunneler-1' }),
        ).rejects.toMatchObject({
          code: grpc.status.UNAUTHENTICATED,
          details: TOKEN_REFUSAL_MESSAGE,
        });
        await expect(
          enroll(client2, { token: pending, kind: 'connector', agentId: 'connector-2' }),
        ).resolves.toBeDefined();
      } finally {
        client2.close();
      }
      // The SVID issued before the restart is still accepted, and the approved list survived.
      const plane = controlPlaneClient(
        second.controller.grpcAddress,
        bootstrapBefore,
        connector.identity,
      );
      try {
        expect((await unary(plane.getTrustBundle.bind(plane), {})).rootsPem).toBe(bundleBefore);
      } finally {
        plane.close();
      }
      const actions = (await second.controller.store.listAudit({ limit: 100 })).map(
        (r) => r.action,
      );
      expect(actions.filter((a) => a === 'enrollment.succeeded')).toHaveLength(3);
    } finally {
      await second.cleanup();
    }
  });

  it('persists heartbeat timestamps on stop', async () => {
    const first = await startController({ dataDir });
    const connector = await enrollNew(first.controller, 'connector', 'connector-1');
    const plane = controlPlaneClient(
      first.controller.grpcAddress,
      first.controller.bootstrapCaPem,
      connector.identity,
    );
    const call = plane.connect();
    call.on('error', () => undefined);
    const acked = new Promise<void>((resolve) =>
      call.on(
        'data',
        (m: { body?: { $case: string } }) => m.body?.$case === 'heartbeatAck' && resolve(),
      ),
    );
    call.write({
      body: {
        $case: 'heartbeat',
        heartbeat: {
          sequence: 1,
          version: '7.7.7',
          privateIp: '10.4.4.4',
          sentAt: 0,
          certificateNotAfter: 0,
          bundleVersion: 0,
        },
      },
    });
    await acked;
    const seen = first.controller.listConnectors()[0]!.lastSeen;
    await first.cleanup();
    plane.close();
    const second = await startController({ dataDir });
    try {
      expect(second.controller.listConnectors()[0]).toMatchObject({
        id: 'connector-1',
        version: '7.7.7',
        privateIp: '10.4.4.4',
        lastSeen: seen,
      });
    } finally {
      await second.cleanup();
    }
  });

  it('generates the admin token on first start only, keeps only its hash, and lets SIGIL_ADMIN_TOKEN override it', async () => {
    const first = await startController({ dataDir, adminToken: undefined });
    const generated = first.controller.adminToken!;
    expect(first.controller.adminTokenGenerated).toBe(true);
    expect(generated).toMatch(/^sigil_admin_[A-Za-z0-9_-]{43}$/);
    expect(
      (await admin(first.controller, '/api/admin/connectors', { token: generated })).status,
    ).toBe(200);
    expect(first.lines.join('\n')).not.toContain(generated);
    await first.cleanup();
    expect(readFileSync(join(dataDir, 'controller.db')).toString('latin1')).not.toContain(
      generated,
    );

    const second = await startController({ dataDir, adminToken: undefined });
    try {
      expect(second.controller.adminTokenGenerated).toBe(false);
      expect(second.controller.adminToken).toBeUndefined();
      expect(
        (await admin(second.controller, '/api/admin/connectors', { token: generated })).status,
      ).toBe(200);
    } finally {
      await second.cleanup();
    }
    const third = await startController({ dataDir, adminToken: 'operator-chosen-token-123' });
    try {
      expect(
        (
          await admin(third.controller, '/api/admin/connectors', {
            token: 'operator-chosen-token-123',
          })
        ).status,
      ).toBe(200);
      expect(
        (await admin(third.controller, '/api/admin/connectors', { token: generated })).status,
      ).toBe(401);
    } finally {
      await third.cleanup();
    }
  });

  it('refuses a DATA_DIR of another trust domain, a world-readable key, and a half-present CA', async () => {
    const fx = await startController({ dataDir });
    await fx.cleanup();
    await expect(startController({ dataDir, trustDomain: 'other.sigil' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining('TRUST_DOMAIN=other.sigil but'),
    });
    chmodSync(join(dataDir, 'runtime-ca.key'), 0o644);
    await expect(startController({ dataDir })).rejects.toMatchObject({
      code: 'ERR_KEY_PERMISSIONS',
      message: expect.stringContaining('chmod 600'),
    });
    chmodSync(join(dataDir, 'runtime-ca.key'), 0o600);
    rmSync(join(dataDir, 'runtime-ca.crt'));
    await expect(startController({ dataDir })).rejects.toMatchObject({
      code: 'ERR_DATA_DIR_UNUSABLE',
      message: expect.stringContaining('runtime-ca.crt is missing'),
    });
  });

  it('fails to start with ERR_LISTEN_FAILED naming CONTROLLER_LISTEN_ADDR when the port is taken, and releases what it opened', async () => {
    const fx = await startController({ dataDir });
    const port = fx.controller.grpcAddress.split(':')[1];
    const otherDir = mkdtempSync(join(tmpdir(), 'sigil-restart-'));
    // grpc-js logs the failed bind itself; keep the test output clean and check that it did.
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(
        startController({ dataDir: otherDir, controllerListenAddress: `127.0.0.1:${port}` }),
      ).rejects.toMatchObject({
        code: 'ERR_LISTEN_FAILED',
        message: expect.stringContaining('CONTROLLER_LISTEN_ADDR'),
      });
      // Nothing half-started is left behind: the same DATA_DIR starts cleanly on a free port.
      const retry = await startController({ dataDir: otherDir });
      await retry.cleanup();
    } finally {
      consoleError.mockRestore();
      await fx.cleanup();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

(postgresSkipped ? describe.skip : describe)(
  `controller on PostgreSQL (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('enrolls and keeps its state across a restart', async () => {
      const schema = `sigil_ctl_${process.pid}_${randomBytes(4).toString('hex')}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
      try {
        const first = await startController({
          dataDir,
          databaseUrl: POSTGRES_URL,
          postgresSchema: schema,
        });
        const agent = await enrollNew(first.controller, 'connector', 'connector-pg');
        expect(agent.response.spiffeId).toBe('spiffe://test.sigil/connector/connector-pg');
        await first.cleanup();
        const second = await startController({
          dataDir,
          databaseUrl: POSTGRES_URL,
          postgresSchema: schema,
        });
        try {
          expect(second.controller.store.dialect).toBe('postgres');
          expect(second.controller.listConnectors().map((c) => c.id)).toEqual(['connector-pg']);
          expect(
            (await second.controller.store.listAudit({ limit: 10, action: 'enrollment.succeeded' }))
              .length,
          ).toBe(1);
        } finally {
          await second.cleanup();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        const db = new Client({ connectionString: POSTGRES_URL });
        await db.connect();
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.end();
      }
    });
  },
);
