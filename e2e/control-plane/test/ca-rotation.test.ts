// Runtime CA rotation with live agents: a connector and two tunnelers keep heartbeating and
// renewing (certificates of a few seconds) through prepare, activate and retire, with the real
// controller, real TLS and the admin API; then the old root is refused everywhere.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  createClientCredentials,
  createRotatingIdentity,
  loadClientTlsConfig,
} from '@sigil/grpc-tls';
import {
  createCertificateSigningRequest,
  generateKeyPair,
  loadCertificateAuthority,
  validateX509Svid,
} from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import {
  adminRequest,
  waitForRootAcknowledged,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';
import {
  CA_SUITE_CONTROLLER,
  expectNoLostHeartbeats,
  failuresOf,
  renewalsOf,
  startFleet,
  type Fleet,
} from './support/ca-fleet';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The admin API of the fixture's controller, its body as `json`. */
async function admin(
  fx: ControlPlaneFixture,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const { status, body: json } = await adminRequest<Json>(fx, method, route, body);
  return { status, json };
}

/** Waits until every agent renewed at least `count` more times than in `before`. */
async function renewedSince(fleet: Fleet, before: number[], count = 1): Promise<number[]> {
  return waitFor(
    `${count} renewal(s) of every agent`,
    async () => {
      const now = await renewalsOf(fleet);
      return now.every((n, i) => n >= before[i]! + count) ? now : undefined;
    },
    30_000,
  );
}

const leafOf = (agent: { runtime: { session: { identity: { certificateChainPem: string } } } }) =>
  agent.runtime.session.identity.certificateChainPem;

/** A controller with certificates of seconds (renewals allowed at that pace) and its fleet. */
async function startRotationFixture(): Promise<{ fx: ControlPlaneFixture; fleet: Fleet }> {
  const fx = await startControlPlane(CA_SUITE_CONTROLLER);
  return { fx, fleet: await startFleet(fx) };
}

describe('runtime CA rotation with live agents', () => {
  let fx: ControlPlaneFixture;
  let fleet: Fleet;

  beforeAll(async () => ({ fx, fleet } = await startRotationFixture()), 60_000);
  afterAll(() => fx.cleanup());

  it('prepares, activates and retires with zero failed handshakes and zero lost heartbeats', async () => {
    const oldRoot = readFileSync(path.join(fx.dataDir, 'runtime-ca.crt'), 'utf8');
    const initial = await admin(fx, 'GET', 'ca');
    expect(initial.status).toBe(200);
    expect(initial.json.generations.map((g: Json) => [g.role, g.generation])).toEqual([
      ['current', 1],
    ]);
    expect(initial.json.generations[0].live_certificates).toEqual({ connector: 1, tunneler: 2 });
    const start = await renewalsOf(fleet);

    const prepared = await admin(fx, 'POST', 'ca/prepare');
    expect(prepared).toMatchObject({
      status: 200,
      json: { next: 2, current: 1, bundle_version: initial.json.bundle_version + 1 },
    });
    // The connector gets the bundle on its control stream, the tunnelers fetch it on the hint in
    // their heartbeat acks; each reports it on its heartbeats.
    const acknowledged = await waitFor('every agent acknowledging the new root', async () => {
      const { json } = await admin(fx, 'GET', 'ca');
      return json.activation?.basis === 'acknowledged' ? json : undefined;
    });
    expect(acknowledged.activation.acknowledged).toHaveLength(3);
    for (const agent of [fleet.connector, ...fleet.tunnelers])
      expect(agent.runtime.session.identity.bundleVersion).toBe(prepared.json.bundle_version);
    const afterPrepare = await renewedSince(fleet, start);

    const activated = await admin(fx, 'POST', 'ca/activate');
    expect(activated).toMatchObject({
      status: 200,
      json: { current: 2, previous: 1, next: null, activation: { basis: 'acknowledged' } },
    });
    // Certificates of generation 1 still live: retiring now is refused.
    const early = await admin(fx, 'POST', 'ca/retire');
    expect(early.status).toBe(409);
    expect(early.json.code).toBe('ERR_CA_ROTATION_REFUSED');
    expect(early.json.reason).toContain('still chain to generation 1');
    const afterActivate = await renewedSince(fleet, afterPrepare, 2);
    const drained = await waitFor('no live certificate of generation 1', async () => {
      const { json } = await admin(fx, 'GET', 'ca');
      const previous = json.generations.find((g: Json) => g.role === 'previous');
      return previous.live_certificates.connector + previous.live_certificates.tunneler === 0
        ? json
        : undefined;
    });
    expect(drained.generations.find((g: Json) => g.role === 'current').live_certificates).toEqual({
      connector: 1,
      tunneler: 2,
    });

    const retired = await admin(fx, 'POST', 'ca/retire');
    expect(retired).toMatchObject({
      status: 200,
      json: { current: 2, previous: null, bundle_version: prepared.json.bundle_version + 1 },
    });
    await waitFor('every agent holding the bundle without the old root', () =>
      [fleet.connector, ...fleet.tunnelers].every(
        (a) => a.runtime.session.identity.bundleVersion === retired.json.bundle_version,
      ),
    );
    const end = await renewedSince(fleet, afterActivate, 2);

    expect(await failuresOf(fx, fleet)).toBe(0);
    const heartbeats = await expectNoLostHeartbeats(fleet);
    // No certificate anywhere chains to the old root; every one chains to the new.
    const newBundle = fx.controller.trustBundlePem;
    expect(newBundle).not.toContain(oldRoot.trim());
    for (const agent of [fleet.connector, ...fleet.tunnelers]) {
      expect(() => validateX509Svid(leafOf(agent), oldRoot)).toThrow();
      expect(validateX509Svid(leafOf(agent), newBundle).spiffeId).toContain('spiffe://e2e.sigil/');
      expect(agent.runtime.session.identity.bundlePem).not.toContain(oldRoot.trim());
    }
    const audit = await admin(fx, 'GET', 'audit?limit=200');
    const actions = (audit.json as unknown as Json[]).map((r) => `${r.action}:${r.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'admin.ca_prepared:success',
        'admin.ca_activated:success',
        'admin.ca_retired:refused',
        'admin.ca_retired:success',
      ]),
    );
    // The figures for the record.
    console.log(
      JSON.stringify({
        renewals: end.map((n, i) => n - start[i]!),
        heartbeats,
        failures: 0,
      }),
    );
  }, 180_000);

  it('refuses a certificate under the retired root at the connector and at the controller', async () => {
    const oldCa = loadCertificateAuthority({
      certificatePem: readFileSync(path.join(fx.dataDir, 'runtime-ca.crt'), 'utf8'),
      privateKeyPem: readFileSync(path.join(fx.dataDir, 'runtime-ca.key'), 'utf8'),
    });
    const key = await generateKeyPair('ec-p256');
    const forged = await oldCa.signCsr(await createCertificateSigningRequest(key), {
      spiffeId: 'spiffe://e2e.sigil/tunneler/laptop-1',
      ttlSeconds: 600,
      profile: 'svid',
    });
    const identity = createRotatingIdentity({
      certificateChainPem: forged.chainPem,
      privateKeyPem: key.privateKeyPem,
      caPem: `${oldCa.certificatePem}\n${fx.controller.trustBundlePem}\n${fx.controller.bootstrapCaPem}`,
    });
    const call = async (target: string, expected: string): Promise<grpc.ServiceError> => {
      const tls = await createClientCredentials(
        loadClientTlsConfig({ env: {}, configFile: false, identity, expectedServerId: expected }),
      );
      const client = new controlplaneV1.ControlPlaneServiceClient(target, tls.credentials);
      try {
        return await new Promise<grpc.ServiceError>((resolve, reject) =>
          client.getTrustBundle({}, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) =>
            err ? resolve(err) : reject(new Error('the old root was accepted')),
          ),
        );
      } finally {
        client.close();
        tls.close();
      }
    };
    const atController = await call(fx.controller.grpcAddress, 'spiffe://e2e.sigil/controller');
    // The handshake did not verify the certificate (the controller requests one, Enroll needs
    // none): not the lineage refusal a certificate of a trusted root but unknown serial gets.
    expect(atController.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(atController.details).toContain('without a verified client certificate');
    const before = await metric(
      fleet.connector.runtime.session.metrics.registry,
      'grpc_tls_handshake_errors_total',
    );
    await call(`127.0.0.1:${fleet.connector.part.port}`, 'spiffe://e2e.sigil/connector/edge-1');
    expect(
      await metric(
        fleet.connector.runtime.session.metrics.registry,
        'grpc_tls_handshake_errors_total',
      ),
    ).toBeGreaterThan(before);
  }, 30_000);
});

describe('runtime CA rotation across controller restarts', () => {
  let fx: ControlPlaneFixture;
  let fleet: Fleet;

  beforeAll(async () => ({ fx, fleet } = await startRotationFixture()), 60_000);
  afterAll(() => fx.cleanup());

  const generationsOf = (json: Json) =>
    Object.fromEntries(json.generations.map((g: Json) => [g.role, [g.generation, g.fingerprint]]));

  it('loses no state between prepare and activate, nor between activate and retire', async () => {
    const prepared = await admin(fx, 'POST', 'ca/prepare');
    expect(prepared.status).toBe(200);
    const beforeRestart = (await admin(fx, 'GET', 'ca')).json;

    await fx.restartController();
    const afterRestart = (await admin(fx, 'GET', 'ca')).json;
    expect(generationsOf(afterRestart)).toEqual(generationsOf(beforeRestart));
    expect(afterRestart.bundle_version).toBe(prepared.json.bundle_version);
    await waitFor(
      'the connector back on its control stream',
      () => fleet.connector.part.control.up,
    );
    // A tunneler whose GetTrustBundle met the stopping controller retries at the next hint,
    // once that call's deadline has passed.
    await waitForRootAcknowledged(fx, 40_000);
    const activated = await admin(fx, 'POST', 'ca/activate');
    expect(activated.status).toBe(200);
    const start = await renewalsOf(fleet);
    await renewedSince(fleet, start);
    const activeBefore = (await admin(fx, 'GET', 'ca')).json;

    await fx.restartController();
    const activeAfter = (await admin(fx, 'GET', 'ca')).json;
    expect(generationsOf(activeAfter)).toEqual(generationsOf(activeBefore));
    expect(activeAfter.bundle_version).toBe(prepared.json.bundle_version);
    // The restarted controller signs with generation 2, read back from the store.
    await waitFor('no live certificate of generation 1', async () => {
      const { json } = await admin(fx, 'GET', 'ca');
      const previous = json.generations.find((g: Json) => g.role === 'previous');
      return previous.live_certificates.connector + previous.live_certificates.tunneler === 0
        ? true
        : undefined;
    });
    const retired = await admin(fx, 'POST', 'ca/retire');
    expect(retired.status).toBe(200);
    await waitFor('every agent holding the bundle without the old root', () =>
      [fleet.connector, ...fleet.tunnelers].every(
        (a) => a.runtime.session.identity.bundleVersion === retired.json.bundle_version,
      ),
    );
    await renewedSince(fleet, await renewalsOf(fleet));
    for (const t of fleet.tunnelers) expect(t.part.tunnel.up).toBe(true);
    expect(fleet.connector.part.control.up).toBe(true);
    const oldRoot = readFileSync(path.join(fx.dataDir, 'runtime-ca.crt'), 'utf8');
    for (const agent of [fleet.connector, ...fleet.tunnelers])
      expect(() => validateX509Svid(leafOf(agent), oldRoot)).toThrow();
  }, 180_000);
});
