import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createClientCredentials, loadClientTlsConfig } from '@sigil/grpc-tls';
import { createCertificateSigningRequest, generateKeyPair } from '@sigil/pki';
import { createJwtInterceptor } from '@sigil/interceptors';
import {
  EchoClient,
  spawnBin,
  startEchoServer,
  unary,
  waitFor,
  type BinProcess,
} from '@sigil/testing';
import {
  createWorkloadApiClient,
  parseWorkloadApiEndpoint,
  validateJwtSvid,
} from '@sigil/workload-api';
import { ADMIN_TOKEN, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { freshHandshakeCalls } from './support/identity-calls';
import { killAll, spawnAgent } from './support/processes';

// A real connector process serves the socket; workloads are real processes under other uids.
jest.setTimeout(90_000);

const WORKLOAD = path.join(__dirname, 'support', 'workload-client.js');
const UID_A = 23101;
const UID_B = 23102;
const UID_NONE = 23103;
const UID_SERVICE = 23104;
const IDENTITY_SERVICE = path.resolve(
  __dirname,
  '../../../examples/identity-service/bin/identity-service.js',
);

describe('the SPIFFE Workload API served by a connector', () => {
  let fx: ControlPlaneFixture;
  let socketDir: string;
  let socket: string;
  let connector: BinProcess;
  const entries: Record<string, { id: string; spiffe_id: string }> = {};
  const workloads: BinProcess[] = [];

  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${fx.controller.adminUrl}/api/admin/${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const workload = (uid: number, args: string[]): BinProcess => {
    const child = spawnBin(WORKLOAD, {
      args,
      env: { SPIFFE_ENDPOINT_SOCKET: `unix://${socket}` },
      uid,
      gid: uid,
    });
    workloads.push(child);
    return child;
  };

  beforeAll(async () => {
    fx = await startControlPlane();
    socketDir = mkdtempSync(path.join(tmpdir(), 'sigil-wl-'));
    chmodSync(socketDir, 0o755);
    socket = path.join(socketDir, 'workload-api.sock');
    const parent = 'spiffe://e2e.sigil/connector/wl-edge';
    for (const [name, uid, ttl] of [
      ['a', UID_A, 3600],
      ['b', UID_B, 12],
    ] as const) {
      const { status, body } = await admin('POST', 'entries', {
        spiffe_id: `spiffe://e2e.sigil/workload/${name}`,
        parent_id: parent,
        selectors: [`unix:uid:${uid}`, `unix:gid:${uid}`],
        x509_ttl_seconds: ttl,
        jwt_ttl_seconds: 60,
      });
      expect(status).toBe(201);
      entries[name] = body as { id: string; spiffe_id: string };
    }
    const env = await fx.enrollEnv('connector', 'wl-edge');
    connector = spawnAgent('connector', ['run', '--ephemeral'], {
      ...env,
      SIGIL_WORKLOAD_API_SOCKET: socket,
    });
    await connector.next('workload_api.listening', 30_000);
    await connector.next(
      (r) => r.event === 'workload_svid.issued' && r.spiffeId === 'spiffe://e2e.sigil/workload/b',
      30_000,
    );
  });
  afterAll(async () => {
    await Promise.all(workloads.map((w) => w.stop(0)));
    await killAll();
    await fx.cleanup();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it('creates the socket 0666 in its directory, and lists and validates entries', async () => {
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o666);
    const listed = await admin('GET', 'entries');
    expect(listed.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          spiffe_id: 'spiffe://e2e.sigil/workload/a',
          parent_id: 'spiffe://e2e.sigil/connector/wl-edge',
          selectors: [`unix:gid:${UID_A}`, `unix:uid:${UID_A}`],
        }),
      ]),
    );
    const bad = await admin('POST', 'entries', {
      spiffe_id: 'spiffe://elsewhere.org/x',
      parent_id: 'spiffe://e2e.sigil/connector/wl-edge',
      selectors: ['unix:uid:1'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: 'spiffe_id' });
  });

  it('gives two processes under different uids their own identities, and refuses a third', async () => {
    const a = workload(UID_A, ['x509']);
    const b = workload(UID_B, ['x509']);
    const none = workload(UID_NONE, ['x509']);
    const [ra, rb, rn] = await Promise.all([a.next('x509'), b.next('x509'), none.next('error')]);
    expect(ra).toMatchObject({
      uid: UID_A,
      svids: [{ spiffeId: 'spiffe://e2e.sigil/workload/a' }],
      trustDomains: ['e2e.sigil'],
    });
    expect(rb).toMatchObject({
      uid: UID_B,
      svids: [{ spiffeId: 'spiffe://e2e.sigil/workload/b' }],
    });
    expect(rn).toMatchObject({ code: 'ERR_WORKLOAD_NOT_ENTITLED' });
    expect(String(rn.message)).toContain('no identity issued');
  });

  it('refuses a call without the workload.spiffe.io header with INVALID_ARGUMENT', async () => {
    const { spiffeWorkload } = await import('@sigil/proto');
    const raw = new spiffeWorkload.SpiffeWorkloadAPIClient(
      `unix://${socket}`,
      grpc.credentials.createInsecure(),
    );
    const code = await new Promise<number>((resolve) =>
      raw.fetchJwtsvid({ audience: ['x'], spiffeId: '' }, (err) => resolve(err?.code ?? 0)),
    );
    raw.close();
    expect(code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('pushes a renewed SVID on the open stream, without the workload reconnecting', async () => {
    const watcher = workload(UID_B, ['watch']);
    const first = await watcher.next('x509');
    const second = await watcher.next(
      (r) =>
        r.event === 'x509' &&
        (r.svids as { serial: string }[])[0]!.serial !==
          (first.svids as { serial: string }[])[0]!.serial,
      30_000,
    );
    expect(second.svids).toEqual([
      expect.objectContaining({ spiffeId: 'spiffe://e2e.sigil/workload/b' }),
    ]);
    expect(watcher.records.filter((r) => r.event === 'error')).toEqual([]);
  });

  it('fetches a JWT-SVID and validates it (ValidateJWTSVID and against the JWT bundle)', async () => {
    const a = workload(UID_A, ['jwt', 'billing']);
    const result = await a.next('jwt');
    expect(result).toMatchObject({
      spiffeId: 'spiffe://e2e.sigil/workload/a',
      validated: { spiffeId: 'spiffe://e2e.sigil/workload/a', claims: { aud: ['billing'] } },
      wrong: 'ERR_JWT_SVID_INVALID',
      locally: 'spiffe://e2e.sigil/workload/a',
    });
    // This test process (root) has no entry: not even the bundles are handed to it.
    const rootClient = createWorkloadApiClient({
      endpoint: parseWorkloadApiEndpoint(`unix://${socket}`),
    });
    await expect(rootClient.fetchJwtBundles()).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_NOT_ENTITLED',
    });
    rootClient.close();
    const header = JSON.parse(
      Buffer.from(String(result.token).split('.')[0]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    await expect(
      validateJwtSvid(String(result.token), { audience: 'billing', bundle: () => undefined }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_SVID_INVALID' });
  });

  it('signs workload CSRs only for the calling agent’s own entries (a compromised agent)', async () => {
    const env = await fx.enrollEnv('connector', 'wl-rogue');
    const rogue = await fx.startConnector({ ...env }, true);
    const csrPem = await createCertificateSigningRequest(await generateKeyPair());
    await expect(
      rogue.runtime.session.dialer.signWorkloadSvid({ entryId: entries.a!.id, csrPem }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await expect(
      rogue.runtime.session.dialer.mintJwtSvid({ entryId: entries.a!.id, audience: ['billing'] }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const audit = await fx.controller.store.listAudit({
      limit: 50,
      action: 'workload_svid.refused',
    });
    expect(audit[0]).toMatchObject({ actor: 'spiffe://e2e.sigil/connector/wl-rogue' });
  });

  it('drops a deleted entry: its workload is refused from then on', async () => {
    const deleted = await admin('DELETE', `entries/${entries.a!.id}`);
    expect(deleted.status).toBe(200);
    await waitFor(
      'the connector to drop the entry',
      () => connector.records.some((r) => r.event === 'command.workload_entries' && r.count === 1),
      15_000,
    );
    const a = workload(UID_A, ['x509']);
    expect(await a.next('error')).toMatchObject({ code: 'ERR_WORKLOAD_NOT_ENTITLED' });
    expect((await admin('DELETE', `entries/${entries.a!.id}`)).status).toBe(404);
  });

  it('serves identity-service in spiffe mode over mTLS to a spiffe-mode client, through rotations, with zero failed calls', async () => {
    for (const [name, uid] of [
      ['svc/identity-service', UID_SERVICE],
      ['svc/user-service', 0],
    ] as const) {
      const created = await admin('POST', 'entries', {
        spiffe_id: `spiffe://e2e.sigil/${name}`,
        parent_id: 'spiffe://e2e.sigil/connector/wl-edge',
        selectors: [`unix:uid:${uid}`],
        x509_ttl_seconds: 12,
      });
      expect(created.status).toBe(201);
      await connector.next(
        (r) => r.event === 'workload_svid.issued' && r.spiffeId === `spiffe://e2e.sigil/${name}`,
        30_000,
      );
    }
    const env = { SIGIL_TLS_MODE: 'spiffe', SPIFFE_ENDPOINT_SOCKET: `unix://${socket}` };
    const service = spawnBin(IDENTITY_SERVICE, {
      env: {
        ...env,
        GRPC_LISTEN_ADDR: '127.0.0.1:0',
        METRICS_LISTEN_ADDR: '127.0.0.1:0',
        SIGIL_TRUST_DOMAIN: 'e2e.sigil',
      },
      uid: UID_SERVICE,
      gid: UID_SERVICE,
    });
    workloads.push(service);
    const started = await service.next('service.started', 30_000);
    expect(started).toMatchObject({ tlsMode: 'spiffe' });
    const tls = await createClientCredentials(
      loadClientTlsConfig({
        env: { ...env, GRPC_SERVER_SPIFFE_ID: 'spiffe://e2e.sigil/svc/identity-service' },
      }),
    );
    let clientRotations = 0;
    tls.onReload((result) => void (result.status === 'applied' && (clientRotations += 1)));
    const serverRotations = (): number =>
      service.records.filter((r) => r.event === 'grpc_tls.rotated').length;
    // A fresh channel per call: every call is a new handshake with the material of that moment.
    const { tally, call } = freshHandshakeCalls(Number(started.port), tls);
    const deadline = Date.now() + 45_000;
    while (
      Date.now() < deadline &&
      !(clientRotations >= 1 && serverRotations() >= 1 && tally.ok > 5)
    ) {
      await call();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (let i = 0; i < 3; i += 1) await call();
    tls.close();
    expect({
      failures: tally.failures,
      clientRotated: clientRotations >= 1,
      serverRotated: serverRotations() >= 1,
    }).toEqual({
      failures: [],
      clientRotated: true,
      serverRotated: true,
    });
    expect(tally.ok).toBeGreaterThan(5);
  });

  it('@sigil/interceptors verifies JWT-SVIDs against the Workload API JWT bundle', async () => {
    // This test process (root) has the svc/user-service entry of the previous test.
    const client = createWorkloadApiClient({
      endpoint: parseWorkloadApiEndpoint(`unix://${socket}`),
    });
    const server = await startEchoServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      interceptors: [createJwtInterceptor({ jwks: { workloadApi: client }, audience: 'billing' })],
    });
    const echo = new EchoClient(server.address, grpc.credentials.createInsecure());
    const bearer = (token: string): grpc.Metadata => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return metadata;
    };
    try {
      const [billing] = await client.fetchJwtSvids(['billing']);
      const [other] = await client.fetchJwtSvids(['other']);
      expect(billing!.spiffeId).toBe('spiffe://e2e.sigil/svc/user-service');
      await expect(unary(echo, 'echo', { text: 'hi' }, bearer(billing!.svid))).resolves.toEqual({
        text: 'hi',
      });
      await expect(unary(echo, 'echo', { text: 'hi' }, bearer(other!.svid))).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
    } finally {
      echo.close();
      await server.close();
      client.close();
    }
  });
});
