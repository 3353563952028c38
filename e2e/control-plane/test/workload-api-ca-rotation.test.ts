// A runtime CA rotation reaching workloads that stay connected to the Workload API: a real
// connector process serves the socket, a workload process (own uid) holds one FetchX509SVID and
// one FetchX509Bundles stream open through prepare, activate and retire, and a spiffe-mode
// identity-service keeps answering a spiffe-mode client all along.
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createClientCredentials, loadClientTlsConfig } from '@sigil/grpc-tls';
import { parseCertificatesPem } from '@sigil/pki';
import { spawnBin, waitFor, type BinProcess } from '@sigil/testing';
import {
  adminRequest,
  startControlPlane,
  waitForRootAcknowledged,
  type ControlPlaneFixture,
} from './support/control-plane';
import { freshHandshakeCalls } from './support/identity-calls';
import { killAll, spawnAgent } from './support/processes';

jest.setTimeout(180_000);

const WORKLOAD = path.join(__dirname, 'support', 'workload-client.js');
const IDENTITY_SERVICE = path.resolve(
  __dirname,
  '../../../examples/identity-service/bin/identity-service.js',
);
const UID_WATCHER = 23201;
const UID_SERVICE = 23202;
const PARENT = 'spiffe://e2e.sigil/connector/wl-rotate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The roots of the trust domain in a `bundles_update` record of the workload. */
const bundleOf = (record: Json): string[] =>
  (record.bundles as Record<string, string[]> | undefined)?.['spiffe://e2e.sigil'] ?? [];

const rootsOf = (pem: string): string[] =>
  parseCertificatesPem(pem, 'the trust bundle').map(
    (c) => new X509Certificate(c.raw).fingerprint256,
  );

describe('a CA rotation pushed to workloads connected to the Workload API', () => {
  let fx: ControlPlaneFixture;
  let socketDir: string;
  let connector: BinProcess;
  const processes: BinProcess[] = [];

  const admin = async (method: string, route: string, body?: unknown) => {
    const { status, body: json } = await adminRequest<Json>(fx, method, route, body);
    return { status, json };
  };

  beforeAll(async () => {
    fx = await startControlPlane({ connectorCertTtlSeconds: 6, renewalsPerMinute: 60 });
    socketDir = mkdtempSync(path.join(tmpdir(), 'sigil-wl-rot-'));
    chmodSync(socketDir, 0o755);
    // Long-lived SVIDs: no renewal at half-life comes to the rescue, the connector must re-sign
    // them under the new CA itself.
    for (const [name, uid] of [
      ['workload/watcher', UID_WATCHER],
      ['svc/identity-service', UID_SERVICE],
      ['svc/user-service', 0],
    ] as const) {
      const created = await admin('POST', 'entries', {
        spiffe_id: `spiffe://e2e.sigil/${name}`,
        parent_id: PARENT,
        selectors: [`unix:uid:${uid}`],
        x509_ttl_seconds: 3600,
      });
      expect(created.status).toBe(201);
    }
    connector = spawnAgent('connector', ['run', '--ephemeral'], {
      ...(await fx.enrollEnv('connector', 'wl-rotate')),
      SIGIL_WORKLOAD_API_SOCKET: path.join(socketDir, 'workload-api.sock'),
    });
    await connector.next('workload_api.listening', 30_000);
    await waitFor(
      'the three workload SVIDs',
      () => connector.records.filter((r) => r.event === 'workload_svid.issued').length >= 3,
      30_000,
    );
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop(0)));
    await killAll();
    await fx?.cleanup();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it('pushes both roots, then an SVID under the new CA, then the bundle without the old root, on the streams first opened, with zero failed calls', async () => {
    const endpoint = `unix://${path.join(socketDir, 'workload-api.sock')}`;
    const [oldRoot] = rootsOf(fx.controller.trustBundlePem) as [string];
    const spawn = (file: string, args: string[], uid: number, env: Record<string, string>) => {
      const child = spawnBin(file, {
        args,
        env: { SPIFFE_ENDPOINT_SOCKET: endpoint, ...env },
        uid,
        gid: uid,
      });
      processes.push(child);
      return child;
    };
    const watcher = spawn(WORKLOAD, ['rotation'], UID_WATCHER, {});
    const first = await watcher.next('svid_update');
    await watcher.next('bundles_update');
    expect(first).toMatchObject({
      spiffeId: 'spiffe://e2e.sigil/workload/watcher',
      signedBy: oldRoot,
      roots: [oldRoot],
    });

    // A spiffe-mode pair calling all along, a fresh handshake per call.
    const env = { SIGIL_TLS_MODE: 'spiffe', SPIFFE_ENDPOINT_SOCKET: endpoint };
    const service = spawn(IDENTITY_SERVICE, [], UID_SERVICE, {
      ...env,
      GRPC_LISTEN_ADDR: '127.0.0.1:0',
      METRICS_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_TRUST_DOMAIN: 'e2e.sigil',
    });
    const started = await service.next('service.started', 30_000);
    const tls = await createClientCredentials(
      loadClientTlsConfig({
        env: { ...env, GRPC_SERVER_SPIFFE_ID: 'spiffe://e2e.sigil/svc/identity-service' },
      }),
    );
    const { tally, call } = freshHandshakeCalls(Number(started.port), tls);
    let calling = true;
    const caller = (async () => {
      while (calling) {
        await call();
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();

    try {
      const prepared = await admin('POST', 'ca/prepare');
      expect(prepared.status).toBe(200);
      const both = await watcher.next(
        (r) => r.event === 'bundles_update' && bundleOf(r).length === 2,
        30_000,
      );
      const newRoot = bundleOf(both).find((r) => r !== oldRoot)!;
      expect(bundleOf(both)).toContain(oldRoot);
      // The SVID stream carries the bundle too: both roots, the SVID still the first one.
      expect(
        await watcher.next(
          (r) => r.event === 'svid_update' && (r.roots as string[]).includes(newRoot),
          30_000,
        ),
      ).toMatchObject({ serial: first.serial, signedBy: oldRoot });
      await waitForRootAcknowledged(fx, 30_000);

      const activated = await admin('POST', 'ca/activate');
      expect(activated.status).toBe(200);
      const resigned = await watcher.next(
        (r) => r.event === 'svid_update' && r.signedBy === newRoot,
        30_000,
      );
      expect(resigned.serial).not.toBe(first.serial);
      expect(resigned.spiffeId).toBe('spiffe://e2e.sigil/workload/watcher');

      const retired = await waitFor(
        'the retire to be allowed (no live certificate of generation 1)',
        async () => {
          const attempt = await admin('POST', 'ca/retire');
          return attempt.status === 200 ? attempt : undefined;
        },
        60_000,
      );
      expect(retired.json).toMatchObject({ previous: null });
      expect(
        await watcher.next(
          (r) => r.event === 'bundles_update' && bundleOf(r).join() === newRoot,
          30_000,
        ),
      ).toBeDefined();
      expect(
        await watcher.next(
          (r) => r.event === 'svid_update' && !(r.roots as string[]).includes(oldRoot),
          30_000,
        ),
      ).toMatchObject({ signedBy: newRoot, roots: [newRoot] });
      // Calls go on under the new root alone.
      const after = tally.ok;
      await waitFor('calls after the retire', () => tally.ok >= after + 5, 30_000);
    } finally {
      calling = false;
      await caller;
      tls.close();
    }
    expect(watcher.records.filter((r) => r.event === 'stream_ended')).toEqual([]);
    expect({
      failures: tally.failures,
      rotatedServer: service.records.some((r) => r.event === 'grpc_tls.rotated'),
    }).toEqual({
      failures: [],
      rotatedServer: true,
    });
    console.log(
      JSON.stringify({
        calls: tally.ok,
        failures: tally.failures.length,
        svidUpdates: watcher.records.filter((r) => r.event === 'svid_update').length,
        bundleUpdates: watcher.records.filter((r) => r.event === 'bundles_update').length,
      }),
    );
  });
});
