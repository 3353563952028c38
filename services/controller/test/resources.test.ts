import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type * as grpc from '@grpc/grpc-js';
import type { controlplaneV1 } from '@sigil/proto';
import {
  admin,
  controlPlaneClient,
  enroll,
  enrollmentClient,
  enrollNew,
  StreamRecorder,
  startController,
} from './support/fixtures';
import type { ControllerFixture, EnrolledAgent } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';

const schema = `sigil_resources_${process.pid}_${randomBytes(4).toString('hex')}`;
const stores: Array<[string, Record<string, unknown>]> = [
  ['SQLite', {}],
  ...(postgresSkipped
    ? []
    : ([['PostgreSQL', { databaseUrl: POSTGRES_URL, postgresSchema: schema }]] as Array<
        [string, Record<string, unknown>]
      >)),
];

afterAll(async () => {
  if (postgresSkipped) return;
  const client = new Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

describe.each(stores)('data-plane resources and grants (%s)', (_name, storeOptions) => {
  let fx: ControllerFixture;
  let connector: EnrolledAgent;
  const clients: grpc.Client[] = [];

  const policyOf = (m: controlplaneV1.ControllerMessage) =>
    m.body?.$case === 'connectorPolicy' ? m.body.connectorPolicy : undefined;
  const lastPolicy = (stream: StreamRecorder) =>
    stream.messages
      .map(policyOf)
      .filter((p) => p !== undefined)
      .at(-1);

  beforeAll(async () => {
    fx = await startController(storeOptions);
    connector = await enrollNew(fx.controller, 'connector', 'edge-1');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await fx.cleanup();
  });

  it('refuses invalid resources and grants with 400 naming the field, and a duplicate with 409', async () => {
    const bad = async (path: string, body: unknown, field: string, reason: RegExp) => {
      const res = await admin(fx.controller, path, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ field });
      expect((res.json as { reason: string }).reason).toMatch(reason);
    };
    await bad(
      '/api/admin/resources',
      { name: 'x y', address: '1.2.3.4:5', connector_id: 'edge-1' },
      'name',
      /must be 1-63/,
    );
    await bad(
      '/api/admin/resources',
      { name: 'pg', address: '10.0.0.0/33:5432', connector_id: 'edge-1' },
      'address',
      /prefix length 33/,
    );
    await bad(
      '/api/admin/resources',
      { name: 'pg', address: 'db:99999', connector_id: 'edge-1' },
      'address',
      /not a port/,
    );
    await bad(
      '/api/admin/resources',
      { name: 'pg', address: 'db:5432' },
      'connector_id',
      /required/,
    );
    await bad(
      '/api/admin/resources',
      { name: 'pg', address: 'db:5432', connector_id: 'edge-1', port: 1 },
      'port',
      /unknown field/,
    );
    await bad(
      '/api/admin/grants',
      { resource: 'pg' },
      'tunneler_id',
      /exactly one of tunneler_id and label/,
    );
    await bad(
      '/api/admin/grants',
      { resource: 'pg', tunneler_id: 'a', label: 'b' },
      'tunneler_id',
      /exactly one/,
    );
    await bad(
      '/api/admin/grants',
      { resource: 'pg', label: ' spaced' },
      'label',
      /1-63 characters/,
    );
    await bad(
      '/api/admin/tokens',
      { kind: 'connector', id: 'c9', labels: ['x'] },
      'labels',
      /only for tunneler tokens/,
    );
    await bad(
      '/api/admin/tokens',
      { kind: 'tunneler', id: 't9', connector_id: 'edge-1', labels: 'x' },
      'labels',
      /a list/,
    );

    const created = await admin(fx.controller, '/api/admin/resources', {
      method: 'POST',
      body: { name: 'dup', address: '127.0.0.1:1', connector_id: 'edge-1' },
    });
    expect(created.status).toBe(201);
    const again = await admin(fx.controller, '/api/admin/resources', {
      method: 'POST',
      body: { name: 'dup', address: '127.0.0.1:2', connector_id: 'edge-1' },
    });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'ERR_RESOURCE_EXISTS' });
    const grantToNothing = await admin(fx.controller, '/api/admin/grants', {
      method: 'POST',
      body: { resource: 'nope', tunneler_id: 'laptop-1' },
    });
    expect(grantToNothing.status).toBe(404);
    expect(
      (await admin(fx.controller, '/api/admin/resources/dup', { method: 'DELETE' })).status,
    ).toBe(200);
    expect(
      (await admin(fx.controller, '/api/admin/resources/dup', { method: 'DELETE' })).status,
    ).toBe(404);
  });

  it('stores, lists and audits resources and grants, and pushes each change to the connector', async () => {
    const stream = new StreamRecorder(
      (() => {
        const client = controlPlaneClient(
          fx.controller.grpcAddress,
          fx.controller.bootstrapCaPem,
          connector.identity,
        );
        clients.push(client);
        return client.connect();
      })(),
    );
    await stream.next('connectorPolicy');
    expect(lastPolicy(stream)).toEqual({ resources: [] });

    // A tunneler enrolled with labels; a grant by label reaches it, one by id reaches another.
    await fx.controller.createEnrollmentToken({
      kind: 'tunneler',
      id: 'laptop-1',
      connectorId: 'edge-1',
      labels: ['team=db', 'team=db', 'laptop'],
    });
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'tunneler',
      id: 'laptop-2',
      connectorId: 'edge-1',
      labels: ['team=db'],
    });
    expect(token).toBeDefined();
    await enrollNew(fx.controller, 'tunneler', 'ci-job', 'edge-1');
    const labelled = await admin(fx.controller, '/api/admin/tokens', {
      method: 'POST',
      body: { kind: 'tunneler', id: 'db-admin', connector_id: 'edge-1', labels: ['team=db'] },
    });
    expect(labelled.status).toBe(201);
    const enrollClient = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
    clients.push(enrollClient);
    await enroll(enrollClient, {
      token: (labelled.json as { token: string }).token,
      kind: 'tunneler',
      agentId: 'db-admin',
    });

    const resource = await admin(fx.controller, '/api/admin/resources', {
      method: 'POST',
      body: { name: 'pg-main', address: '127.0.0.1:5432', connector_id: 'edge-1' },
    });
    expect(resource.status).toBe(201);
    expect(resource.json).toMatchObject({
      name: 'pg-main',
      address: '127.0.0.1:5432',
      connector_id: 'edge-1',
    });
    await admin(fx.controller, '/api/admin/resources', {
      method: 'POST',
      body: { name: 'other-edge', address: '10.0.0.0/24:22', connector_id: 'edge-2' },
    });
    const byLabel = await admin(fx.controller, '/api/admin/grants', {
      method: 'POST',
      body: { resource: 'pg-main', label: 'team=db' },
    });
    const byId = await admin(fx.controller, '/api/admin/grants', {
      method: 'POST',
      body: { resource: 'pg-main', tunneler_id: 'ci-job' },
    });
    expect(byLabel.status).toBe(201);
    expect(byId.json).toMatchObject({ resource: 'pg-main', tunneler_id: 'ci-job' });

    await stream.until(
      () => lastPolicy(stream)?.resources[0]?.tunnelerIds.length === 2,
      'policy with both grants',
    );
    // Only this connector's resources; laptop-1/2 hold the label but are not enrolled yet.
    expect(lastPolicy(stream)).toEqual({
      resources: [
        { name: 'pg-main', address: '127.0.0.1:5432', tunnelerIds: ['ci-job', 'db-admin'] },
      ],
    });
    const grants = (await admin(fx.controller, '/api/admin/grants')).json as Array<{
      id: string;
      label?: string;
    }>;
    expect(grants.map((g) => g.label ?? null)).toEqual(['team=db', null]);
    const resources = (await admin(fx.controller, '/api/admin/resources')).json as Array<{
      name: string;
    }>;
    expect(resources.map((r) => r.name)).toEqual(['other-edge', 'pg-main']);

    // Removing the label grant drops db-admin; removing the resource empties the policy.
    expect(
      (await admin(fx.controller, `/api/admin/grants/${grants[0]!.id}`, { method: 'DELETE' }))
        .status,
    ).toBe(200);
    await stream.until(
      () => lastPolicy(stream)?.resources[0]?.tunnelerIds.join() === 'ci-job',
      'grant removed',
    );
    expect(
      (await admin(fx.controller, '/api/admin/resources/pg-main', { method: 'DELETE' })).status,
    ).toBe(200);
    await stream.until(() => lastPolicy(stream)?.resources.length === 0, 'resource removed');
    // The resource's grants went with it.
    expect((await admin(fx.controller, '/api/admin/grants')).json).toEqual([]);

    const audit = (await admin(fx.controller, '/api/admin/audit?limit=1000')).json as Array<{
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }>;
    const actions = audit.map((a) => a.action);
    for (const action of [
      'admin.resource_created',
      'admin.resource_deleted',
      'admin.grant_created',
      'admin.grant_deleted',
    ])
      expect(actions).toContain(action);
    expect(
      audit.find((a) => a.action === 'admin.grant_created' && a.details.label === 'team=db'),
    ).toMatchObject({ subject: 'resource:pg-main' });
    expect(
      audit.find((a) => a.action === 'admin.token_created' && a.subject.endsWith('/laptop-1'))
        ?.details.labels,
    ).toEqual(['laptop', 'team=db']);
  });

  it('audits the tunnel reports a connector sends up its control stream', async () => {
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      connector.identity,
    );
    clients.push(client);
    const stream = new StreamRecorder(client.connect());
    await stream.next('connectorPolicy');
    stream.call.write({
      body: {
        $case: 'tunnelReport',
        tunnelReport: {
          tunnelerId: 'ci-job',
          resource: 'pg-main',
          target: '127.0.0.1:5432',
          startedAt: Date.UTC(2030, 0, 1),
          endedAt: Date.UTC(2030, 0, 1, 0, 1),
          bytesUp: 10,
          bytesDown: 2000,
          closeReason: 'client_closed',
          refused: false,
        },
      },
    });
    let records: Array<{ action: string; actor: string; subject: string; details: unknown }> = [];
    await new Promise<void>((resolve) => {
      const poll = async (): Promise<void> => {
        records = (await admin(fx.controller, '/api/admin/audit?action=tunnel.closed'))
          .json as typeof records;
        if (records.length > 0) resolve();
        else setTimeout(() => void poll(), 50);
      };
      void poll();
    });
    expect(records[0]).toMatchObject({
      actor: 'spiffe://test.sigil/connector/edge-1',
      subject: 'spiffe://test.sigil/tunneler/ci-job',
      details: {
        resource: 'pg-main',
        target: '127.0.0.1:5432',
        started_at: '2030-01-01T00:00:00.000Z',
        ended_at: '2030-01-01T00:01:00.000Z',
        bytes_up: 10,
        bytes_down: 2000,
        reason: 'client_closed',
      },
    });
  });
});
