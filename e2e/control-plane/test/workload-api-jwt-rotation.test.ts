// A JWT authority rotation through the admin API reaching a real connector process and the
// workloads on its socket: the JWT bundle holds both keys between prepare and retire, JWT-SVIDs
// are signed by the new key after activate, and a token of the retired key is refused.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createJwtInterceptor } from '@sigil/interceptors';
import { EchoClient, startEchoServer, unary, waitFor, type BinProcess } from '@sigil/testing';
import { createWorkloadApiClient, parseWorkloadApiEndpoint } from '@sigil/workload-api';
import { adminRequest, startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(90_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const kidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

describe('a JWT authority rotation pushed to the connectors', () => {
  let fx: ControlPlaneFixture;
  let socketDir: string;
  let connector: BinProcess;

  beforeAll(async () => {
    fx = await startControlPlane();
    socketDir = mkdtempSync(path.join(tmpdir(), 'sigil-wl-jwt-'));
    chmodSync(socketDir, 0o755);
    // This test process (root) is the workload.
    const created = await adminRequest(fx, 'POST', 'entries', {
      spiffe_id: 'spiffe://e2e.sigil/svc/jwt-caller',
      parent_id: 'spiffe://e2e.sigil/connector/wl-jwt',
      selectors: ['unix:uid:0'],
      jwt_ttl_seconds: 600,
    });
    expect(created.status).toBe(201);
    connector = spawnAgent('connector', ['run', '--ephemeral'], {
      ...(await fx.enrollEnv('connector', 'wl-jwt')),
      SIGIL_WORKLOAD_API_SOCKET: path.join(socketDir, 'workload-api.sock'),
    });
    await connector.next('workload_svid.issued', 30_000);
  });
  afterAll(async () => {
    await killAll();
    await fx?.cleanup();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it('publishes both keys, signs with the new one, then drops the old one, with the audit trail', async () => {
    const client = createWorkloadApiClient({
      endpoint: parseWorkloadApiEndpoint(`unix://${path.join(socketDir, 'workload-api.sock')}`),
    });
    const bundles: string[][] = [];
    const watch = client.watchJwtBundles({
      onUpdate: (update) => bundles.push((update.get('e2e.sigil')?.keys ?? []).map((k) => k.kid!)),
    });
    // Bundles fetched on every token: what the connector serves at that moment decides.
    const server = await startEchoServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      interceptors: [
        createJwtInterceptor({ jwks: { workloadApi: client, maxAgeMs: 0 }, audience: 'billing' }),
      ],
    });
    const echo = new EchoClient(server.address, grpc.credentials.createInsecure());
    const call = (token: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return unary(echo, 'echo', { text: 'hi' }, metadata);
    };
    const svid = async (): Promise<string> => (await client.fetchJwtSvids(['billing']))[0]!.svid;
    const bundleIs = (kids: string[]) =>
      waitFor(`the JWT bundle [${kids.join(', ')}] on the open stream`, () =>
        bundles.some((b) => b.join() === kids.join()),
      );
    try {
      const before = await svid();
      const oldKid = kidOf(before);
      await bundleIs([oldKid]);

      const prepared = await adminRequest<Json>(fx, 'POST', 'jwt-authority/prepare');
      expect(prepared.status).toBe(200);
      const newKid = (prepared.body.keys as Json[]).find((k) => k.role === 'next')!.kid as string;
      await bundleIs([oldKid, newKid]);
      expect(kidOf(await svid())).toBe(oldKid);

      const activated = await adminRequest<Json>(fx, 'POST', 'jwt-authority/activate');
      expect(activated.status).toBe(200);
      await bundleIs([newKid, oldKid]);
      const after = await svid();
      expect(kidOf(after)).toBe(newKid);
      for (const token of [before, after])
        await expect(call(token)).resolves.toEqual({ text: 'hi' });

      const early = await adminRequest<Json>(fx, 'POST', 'jwt-authority/retire');
      expect(early).toMatchObject({ status: 409, body: { code: 'ERR_JWT_ROTATION_REFUSED' } });
      const retired = await adminRequest<Json>(fx, 'POST', 'jwt-authority/retire', { force: true });
      expect(retired.status).toBe(200);
      await bundleIs([newKid]);
      await expect(call(before)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      await expect(client.validateJwtSvid(before, 'billing')).rejects.toMatchObject({
        code: 'ERR_JWT_SVID_INVALID',
      });
      await expect(call(after)).resolves.toEqual({ text: 'hi' });
      // Pushed on the control stream the connector opened at start: it never dropped.
      expect(connector.records.filter((r) => r.event === 'stream.disconnected')).toEqual([]);
    } finally {
      watch.close();
      echo.close();
      await server.close();
      client.close();
    }
    const audit = await adminRequest<Json[]>(fx, 'GET', 'audit?limit=100');
    expect(audit.body.map((r) => `${r.action}:${r.outcome}`)).toEqual(
      expect.arrayContaining([
        'admin.jwt_authority_prepared:success',
        'admin.jwt_authority_activated:success',
        'admin.jwt_authority_retired:refused',
        'admin.jwt_authority_retired:success',
      ]),
    );
  });
});
