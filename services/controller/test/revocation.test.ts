import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN_REFUSAL_MESSAGE } from '../src/internal/enrollment';
import { agentClients, failure } from './support/agents';
import { admin, enroll, enrollmentClient, enrollNew, startController } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

describe('revocation', () => {
  let fx: ControllerFixture;
  const agents = agentClients(() => fx);

  beforeAll(async () => {
    fx = await startController();
  });
  afterAll(async () => {
    agents.close();
    await fx.cleanup();
  });

  it('revokes a connector: its open stream gets Revoked and PERMISSION_DENIED, renewals and new streams are refused, the list shows REVOKED', async () => {
    const connector = await enrollNew(fx.controller, 'connector', 'revoked-c1');
    const stream = agents.open(connector.identity);
    await stream.next('approvedTunnelers');

    const res = await admin(fx.controller, '/api/admin/connectors/revoked-c1/revoke', {
      method: 'POST',
      body: { reason: 'host stolen' },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      kind: 'connector',
      agent_id: 'revoked-c1',
      spiffe_id: 'spiffe://test.sigil/connector/revoked-c1',
      reason: 'host stolen',
      actor: 'admin',
      active: true,
    });
    const revoked = await stream.next('revoked');
    expect(revoked.body.revoked).toMatchObject({
      reason: 'host stolen',
      spiffeId: 'spiffe://test.sigil/connector/revoked-c1',
    });
    await stream.until(() => stream.error !== undefined, 'stream ended');
    expect(stream.error!.code).toBe(grpc.status.PERMISSION_DENIED);

    const renew = await failure(agents.renew(connector.identity));
    expect(renew.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(renew.details).toMatch(/revoked.*host stolen/);
    const again = agents.open(connector.identity);
    await again.until(() => again.error !== undefined, 'stream refused');
    expect(again.error!.code).toBe(grpc.status.PERMISSION_DENIED);

    const list = await admin(fx.controller, '/api/admin/connectors');
    expect(list.json).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'revoked-c1', status: 'REVOKED' })]),
    );
    expect(
      (await fx.controller.store.listAudit({ limit: 10, action: 'admin.agent_revoked' }))[0],
    ).toMatchObject({ actor: 'admin', subject: 'spiffe://test.sigil/connector/revoked-c1' });
    // Revoking again changes nothing.
    const twice = await admin(fx.controller, '/api/admin/connectors/revoked-c1/revoke', {
      method: 'POST',
      body: { reason: 'again' },
    });
    expect(twice.status).toBe(200);
    expect(twice.json).toMatchObject({ reason: 'host stolen' });
  });

  it('revokes a tunneler: every connector stream gets the deny list and an approved list without it, at once and at stream open', async () => {
    const connector = await enrollNew(fx.controller, 'connector', 'deny-c1');
    const other = await enrollNew(fx.controller, 'connector', 'deny-c2');
    await enrollNew(fx.controller, 'tunneler', 'deny-t1', 'deny-c1');
    await enrollNew(fx.controller, 'tunneler', 'deny-t2', 'deny-c1');
    const stream = agents.open(connector.identity);
    const otherStream = agents.open(other.identity);
    expect((await stream.next('revokedTunnelers')).body.revokedTunnelers.tunnelerIds).toEqual([]);
    await otherStream.next('revokedTunnelers');
    const before = stream.messages.length;
    const otherBefore = otherStream.messages.length;

    const res = await admin(fx.controller, '/api/admin/tunnelers/deny-t1/revoke', {
      method: 'POST',
      body: { reason: 'laptop lost' },
    });
    expect(res.status).toBe(201);
    expect(
      (await stream.next('revokedTunnelers', before)).body.revokedTunnelers.tunnelerIds,
    ).toEqual(['deny-t1']);
    expect(
      (await stream.next('approvedTunnelers', before)).body.approvedTunnelers.tunnelerIds,
    ).toEqual(['deny-t2']);
    expect(
      (await otherStream.next('revokedTunnelers', otherBefore)).body.revokedTunnelers.tunnelerIds,
    ).toEqual(['deny-t1']);

    const fresh = agents.open(other.identity);
    expect((await fresh.next('revokedTunnelers')).body.revokedTunnelers.tunnelerIds).toEqual([
      'deny-t1',
    ]);
    const tunnelers = await admin(fx.controller, '/api/admin/tunnelers');
    expect(tunnelers.json).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'deny-t1', status: 'REVOKED' })]),
    );
    const revocations = await admin(fx.controller, '/api/admin/revocations');
    expect(revocations.status).toBe(200);
    expect((revocations.json as Array<{ agent_id: string }>).map((r) => r.agent_id)).toEqual(
      expect.arrayContaining(['deny-t1', 'revoked-c1']),
    );
    for (const s of [stream, otherStream, fresh]) s.call.end();
  });

  it('refuses revoking an unknown agent (404) and a request without a reason (400)', async () => {
    expect(
      (
        await admin(fx.controller, '/api/admin/tunnelers/nobody/revoke', {
          method: 'POST',
          body: { reason: 'x' },
        })
      ).status,
    ).toBe(404);
    await enrollNew(fx.controller, 'connector', 'reasonless');
    for (const body of [{}, { reason: '' }, { reason: 'x', extra: 1 }, { reason: 'x'.repeat(501) }])
      expect(
        (
          await admin(fx.controller, '/api/admin/connectors/reasonless/revoke', {
            method: 'POST',
            body,
          })
        ).status,
      ).toBe(400);
  });

  it('pushes approved lists to both connectors when a tunneler is re-enrolled under another, and re-pushes on a heartbeat via the wrong one', async () => {
    const a = await enrollNew(fx.controller, 'connector', 'move-a');
    const b = await enrollNew(fx.controller, 'connector', 'move-b');
    await enrollNew(fx.controller, 'tunneler', 'move-t', 'move-a');
    const streamA = agents.open(a.identity);
    const streamB = agents.open(b.identity);
    expect((await streamA.next('approvedTunnelers')).body.approvedTunnelers.tunnelerIds).toEqual([
      'move-t',
    ]);
    await streamB.next('approvedTunnelers');
    const [beforeA, beforeB] = [streamA.messages.length, streamB.messages.length];

    await enrollNew(fx.controller, 'tunneler', 'move-t', 'move-b');
    expect(
      (await streamA.next('approvedTunnelers', beforeA)).body.approvedTunnelers.tunnelerIds,
    ).toEqual([]);
    expect(
      (await streamB.next('approvedTunnelers', beforeB)).body.approvedTunnelers.tunnelerIds,
    ).toEqual(['move-t']);

    // Connector A still forwards the tunneler's heartbeats: it gets its (empty) list again.
    const afterMove = streamA.messages.length;
    streamA.call.write({
      body: {
        $case: 'tunnelerHeartbeat',
        tunnelerHeartbeat: {
          tunnelerId: 'move-t',
          sequence: 1,
          version: '1',
          sentAt: 0,
          bundleVersion: 0,
        },
      },
    });
    expect(
      (await streamA.next('approvedTunnelers', afterMove)).body.approvedTunnelers.tunnelerIds,
    ).toEqual([]);
    for (const s of [streamA, streamB]) s.call.end();
  });

  it('lets a new enrollment lift a revocation (the operator issued a new token on purpose)', async () => {
    await enrollNew(fx.controller, 'connector', 'lifted-1');
    await fx.controller.revokeAgent('connector', 'lifted-1', 'rotating hardware');
    const again = await enrollNew(fx.controller, 'connector', 'lifted-1');
    await expect(agents.renew(again.identity)).resolves.toBeDefined();
    const list = (await admin(fx.controller, '/api/admin/revocations')).json as Array<{
      agent_id: string;
      active: boolean;
      lifted_at: string | null;
    }>;
    expect(list.find((r) => r.agent_id === 'lifted-1')).toMatchObject({ active: false });
  });
});

describe('revocations survive a restart', () => {
  it('still refuses a revoked agent after the controller restarts on the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sigil-revocation-'));
    const first = await startController({ dataDir });
    const connector = await enrollNew(first.controller, 'connector', 'persist-1');
    await first.controller.revokeAgent('connector', 'persist-1', 'compromised');
    await first.cleanup();
    const second = await startController({ dataDir });
    const agents = agentClients(() => second);
    try {
      expect(second.controller.listConnectors()[0]).toMatchObject({
        id: 'persist-1',
        status: 'REVOKED',
      });
      expect((await failure(agents.renew(connector.identity))).code).toBe(
        grpc.status.PERMISSION_DENIED,
      );
      expect(await second.controller.listRevocations()).toEqual([
        expect.objectContaining({ agentId: 'persist-1', reason: 'compromised', liftedAt: null }),
      ]);
    } finally {
      agents.close();
      await second.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('pending enrollment tokens', () => {
  let fx: ControllerFixture;
  beforeAll(async () => {
    fx = await startController();
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('lists pending tokens without their secret, cancels one by token_id, and a cancelled token cannot enroll', async () => {
    const created = await admin(fx.controller, '/api/admin/tokens', {
      method: 'POST',
      body: { kind: 'connector', id: 'pending-1' },
    });
    const secret = (created.json as { token: string }).token;
    await fx.controller.createEnrollmentToken({ kind: 'connector', id: 'pending-2' });
    const listed = await admin(fx.controller, '/api/admin/tokens');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(secret);
    const tokens = listed.json as Array<Record<string, unknown>>;
    expect(tokens.map((t) => t.id)).toEqual(['pending-1', 'pending-2']);
    expect(Object.keys(tokens[0]!).sort()).toEqual(
      ['created_at', 'expires_at', 'id', 'kind', 'token_id'].sort(),
    );
    const tokenId = tokens[0]!.token_id as string;
    expect(tokenId).toMatch(/^[0-9a-f]{12}$/);

    const cancelled = await admin(fx.controller, `/api/admin/tokens/${tokenId}`, {
      method: 'DELETE',
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ token_id: tokenId, id: 'pending-1' });
    expect(
      ((await admin(fx.controller, '/api/admin/tokens')).json as Array<{ id: string }>).map(
        (t) => t.id,
      ),
    ).toEqual(['pending-2']);
    expect(
      (await admin(fx.controller, `/api/admin/tokens/${tokenId}`, { method: 'DELETE' })).status,
    ).toBe(404);
    expect(
      (await admin(fx.controller, '/api/admin/tokens/NOT-AN-ID', { method: 'DELETE' })).status,
    ).toBe(400);
    expect(
      (await fx.controller.store.listAudit({ limit: 1, action: 'admin.token_cancelled' }))[0],
    ).toMatchObject({ actor: 'admin', details: { token: tokenId } });

    const client = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
    try {
      const err = await failure(
        enroll(client, { token: secret, kind: 'connector', agentId: 'pending-1' }),
      );
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err.details).toBe(TOKEN_REFUSAL_MESSAGE);
    } finally {
      client.close();
    }
  });
});
