import * as grpc from '@grpc/grpc-js';
import {
  createCertificateAuthority,
  createCertificateSigningRequest,
  generateKeyPair,
  loadCertificateAuthority,
  validateX509Svid,
} from '@sigil/pki';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import {
  controlPlaneClient,
  enrollNew,
  StreamRecorder,
  startController,
  summarisedRefusals,
  testClock,
  unary,
} from './support/fixtures';
import type { ControllerFixture, EnrolledAgent } from './support/fixtures';

describe('ControlPlaneService over mTLS', () => {
  const clock = testClock();
  let fx: ControllerFixture;
  let connector: EnrolledAgent;
  const clients: grpc.Client[] = [];

  const clientFor = (identity?: {
    chainPem: string;
    keyPem: string;
  }): controlplaneV1.ControlPlaneServiceClient => {
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      identity,
    );
    clients.push(client);
    return client;
  };
  const openStream = (identity: { chainPem: string; keyPem: string }): StreamRecorder =>
    new StreamRecorder(clientFor(identity).connect());
  const failure = async (promise: Promise<unknown>): Promise<grpc.ServiceError> =>
    promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: grpc.ServiceError) => e,
    );

  beforeAll(async () => {
    fx = await startController({
      auditSummaryIntervalSeconds: 1,
      clock: clock.now,
      connectorCertTtlSeconds: 300,
      tunnelerCertTtlSeconds: 120,
      agentOfflineAfterSeconds: 30,
    });
    connector = await enrollNew(fx.controller, 'connector', 'connector-1');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await fx.cleanup();
  });

  describe('authentication: a runtime-CA X509-SVID or UNAUTHENTICATED', () => {
    it('refuses every ControlPlaneService RPC without a client certificate', async () => {
      const client = clientFor();
      const renew = await failure(unary(client.renew.bind(client), { csrPem: 'x' }));
      const bundle = await failure(unary(client.getTrustBundle.bind(client), {}));
      const stream = new StreamRecorder(client.connect());
      await stream.until(() => stream.error !== undefined, 'stream refusal');
      for (const err of [renew, bundle, stream.error!]) {
        expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(err.details).toMatch(/without a verified client certificate/);
      }
      const refused = await summarisedRefusals(fx.controller, 'controlplane.refused', 3);
      expect(refused).toEqual([
        {
          action: 'controlplane.refused',
          reason: 'svid_missing',
          address_prefix: '127.0.0.0/24',
          count: 3,
        },
      ]);
    });

    it('refuses a certificate from another CA, even one for the same trust domain and SPIFFE ID', async () => {
      const impostor = await createCertificateAuthority({ trustDomain: 'test.sigil' });
      const issued = await impostor.issue({
        spiffeId: 'spiffe://test.sigil/connector/connector-1',
        ttlSeconds: 300,
      });
      const client = clientFor({ chainPem: issued.chainPem, keyPem: issued.privateKeyPem! });
      const err = await failure(unary(client.getTrustBundle.bind(client), {}));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    });

    it('labels a refused expired certificate `expired` in the metric and the audit summary', async () => {
      const runtime = loadCertificateAuthority({
        certificatePem: readFileSync(join(fx.dataDir, 'runtime-ca.crt'), 'utf8'),
        privateKeyPem: readFileSync(join(fx.dataDir, 'runtime-ca.key'), 'utf8'),
      });
      // A real agent certificate of this CA whose notAfter passed 60 s ago (TLS checks real time).
      const expired = await runtime.issue({
        spiffeId: 'spiffe://test.sigil/connector/connector-1',
        ttlSeconds: 60,
        now: new Date(Date.now() - 120_000),
      });
      const expiredRefusals = async (): Promise<number> =>
        (
          await fx.controller.metrics.getSingleMetric('sigil_controller_refusals_total')!.get()
        ).values.find((v) => v.labels.reason === 'expired')?.value ?? 0;
      const before = await expiredRefusals();
      const client = clientFor({ chainPem: expired.chainPem, keyPem: expired.privateKeyPem! });
      const err = await failure(unary(client.getTrustBundle.bind(client), {}));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await expiredRefusals()) - before).toBe(1);
      const summaries = async () =>
        (await fx.controller.store.listAudit({ limit: 1000, action: 'audit.refusals_summary' }))
          .flatMap((r) => r.details.counts as Array<{ action: string; reason: string }>)
          .filter((c) => c.action === 'controlplane.refused' && c.reason === 'expired');
      await waitFor(
        'an expired refusal in the audit summary',
        async () => (await summaries()).length > 0,
      );
      expect(await summaries()).toEqual([
        {
          action: 'controlplane.refused',
          reason: 'expired',
          address_prefix: '127.0.0.0/24',
          count: 1,
        },
      ]);
    });

    it('refuses a certificate from the BOOTSTRAP CA: bootstrap trust and runtime CA are separate keys', async () => {
      const bootstrap = loadCertificateAuthority({
        certificatePem: readFileSync(join(fx.dataDir, 'bootstrap-ca.crt'), 'utf8'),
        privateKeyPem: readFileSync(join(fx.dataDir, 'bootstrap-ca.key'), 'utf8'),
      });
      const issued = await bootstrap.issue({
        spiffeId: 'spiffe://test.sigil/connector/connector-1',
        ttlSeconds: 300,
      });
      const client = clientFor({ chainPem: issued.chainPem, keyPem: issued.privateKeyPem! });
      expect((await failure(unary(client.getTrustBundle.bind(client), {}))).code).toBe(
        grpc.status.UNAUTHENTICATED,
      );
      expect(fx.controller.bootstrapCaPem).not.toBe(fx.controller.trustBundlePem);
    });

    it('refuses a runtime-CA certificate that is not an agent identity with PERMISSION_DENIED', async () => {
      const runtime = loadCertificateAuthority({
        certificatePem: readFileSync(join(fx.dataDir, 'runtime-ca.crt'), 'utf8'),
        privateKeyPem: readFileSync(join(fx.dataDir, 'runtime-ca.key'), 'utf8'),
      });
      const issued = await runtime.issue({
        spiffeId: 'spiffe://test.sigil/svc/something',
        ttlSeconds: 300,
      });
      const client = clientFor({ chainPem: issued.chainPem, keyPem: issued.privateKeyPem! });
      const err = await failure(unary(client.getTrustBundle.bind(client), {}));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toMatch(/spiffe:\/\/test.sigil\/svc\/something is not allowed/);
    });

    it('serves the trust bundle to an enrolled agent', async () => {
      const client = clientFor(connector.identity);
      const bundle = await unary(client.getTrustBundle.bind(client), {});
      expect(bundle).toEqual({
        trustDomain: 'test.sigil',
        rootsPem: fx.controller.trustBundlePem,
        version: 1,
      });
    });
  });

  describe('Renew', () => {
    it('takes the identity from the client certificate, never from the CSR, with the per-kind lifetime', async () => {
      const client = clientFor(connector.identity);
      const key = await generateKeyPair('ec-p256');
      // The CSR asks for somebody else's identity: the controller ignores it.
      const csrPem = await createCertificateSigningRequest(key, {
        spiffeId: 'spiffe://test.sigil/connector/someone-else',
      });
      const renewed = await unary(client.renew.bind(client), { csrPem });
      // From now on the renewed certificate is connector-1's only one that opens streams.
      connector = {
        ...connector,
        key,
        identity: { chainPem: renewed.certificateChainPem, keyPem: key.privateKeyPem },
      };
      const svid = validateX509Svid(renewed.certificateChainPem, renewed.trustBundle!.rootsPem, {
        trustDomain: 'test.sigil',
        at: clock.now(),
      });
      expect(svid.spiffeId).toBe('spiffe://test.sigil/connector/connector-1');
      expect(svid.notAfter.getTime()).toBe(renewed.notAfter);
      expect(renewed.notAfter - clock.now().getTime()).toBeGreaterThan(290_000);
      expect(renewed.notAfter - clock.now().getTime()).toBeLessThanOrEqual(300_000);

      const tunneler = await enrollNew(fx.controller, 'tunneler', 'tunneler-renew', 'connector-1');
      const tunnelerClient = clientFor(tunneler.identity);
      const tunnelerRenewed = await unary(tunnelerClient.renew.bind(tunnelerClient), {
        csrPem: await createCertificateSigningRequest(key),
      });
      expect(tunnelerRenewed.notAfter - clock.now().getTime()).toBeLessThanOrEqual(120_000);
      expect(
        validateX509Svid(tunnelerRenewed.certificateChainPem, fx.controller.trustBundlePem)
          .spiffeId,
      ).toBe('spiffe://test.sigil/tunneler/tunneler-renew');

      const audit = await fx.controller.store.listAudit({ limit: 10, action: 'renewal.succeeded' });
      expect(audit.map((r) => r.actor)).toEqual([
        'spiffe://test.sigil/tunneler/tunneler-renew',
        'spiffe://test.sigil/connector/connector-1',
      ]);
      expect(
        await fx.controller.metrics.getSingleMetricAsString('sigil_controller_renewals_total'),
      ).toMatch(/kind="connector"} 1/);
    });

    it('refuses a bad CSR with INVALID_ARGUMENT and audits it', async () => {
      const client = clientFor(connector.identity);
      const err = await failure(unary(client.renew.bind(client), { csrPem: 'not a csr' }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^csr_pem: /);
      expect(
        (await fx.controller.store.listAudit({ limit: 1, action: 'renewal.refused' }))[0],
      ).toMatchObject({ actor: 'spiffe://test.sigil/connector/connector-1' });
    });
  });

  describe('Connect', () => {
    it('acks heartbeats, updates the registry and pushes the approved tunnelers on connect and on enrollment', async () => {
      await enrollNew(fx.controller, 'tunneler', 'tunneler-a', 'connector-1');
      const stream = openStream(connector.identity);
      const approved = await stream.next('approvedTunnelers');
      expect(approved.body.approvedTunnelers.tunnelerIds).toEqual(['tunneler-a', 'tunneler-renew']);
      expect(approved.commandId).not.toBe('');
      expect((await stream.next('bundleUpdate')).body.bundleUpdate.rootsPem).toBe(
        fx.controller.trustBundlePem,
      );

      stream.call.write({
        body: { $case: 'hello', hello: { version: '2.0.0', privateIp: '10.9.8.7' } },
      });
      stream.call.write({
        body: {
          $case: 'heartbeat',
          heartbeat: {
            sequence: 7,
            version: '2.0.0',
            privateIp: '10.9.8.7',
            sentAt: clock.now().getTime() - 3,
            certificateNotAfter: 0,
            bundleVersion: 0,
          },
        },
      });
      const ack = await stream.next('heartbeatAck');
      expect(ack.body.heartbeatAck).toEqual({
        sequence: 7,
        receivedAt: clock.now().getTime(),
        bundleVersion: 1,
      });
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')).toMatchObject({
        version: '2.0.0',
        privateIp: '10.9.8.7',
        status: 'ONLINE',
        connected: true,
      });
      expect(
        await fx.controller.metrics.getSingleMetricAsString(
          'sigil_controller_heartbeat_latency_seconds',
        ),
      ).toMatch(/_count 1/);

      const before = stream.messages.length;
      await enrollNew(fx.controller, 'tunneler', 'tunneler-b', 'connector-1');
      const update = await stream.next('approvedTunnelers', before);
      expect(update.body.approvedTunnelers.tunnelerIds).toEqual([
        'tunneler-a',
        'tunneler-b',
        'tunneler-renew',
      ]);
      stream.call.end();
      await stream.until(() => stream.status !== undefined, 'stream end');
    });

    it('updates a tunneler from a forwarded heartbeat only via the connector it belongs to', async () => {
      await enrollNew(fx.controller, 'connector', 'connector-2');
      await enrollNew(fx.controller, 'tunneler', 'tunneler-of-2', 'connector-2');
      clock.advance(60_000);
      expect(fx.controller.listTunnelers().find((t) => t.id === 'tunneler-a')!.status).toBe(
        'OFFLINE',
      );
      const stream = openStream(connector.identity);
      await stream.next('approvedTunnelers');
      stream.call.write({
        body: {
          $case: 'tunnelerHeartbeat',
          tunnelerHeartbeat: {
            tunnelerId: 'tunneler-a',
            sequence: 1,
            version: '3.1.0',
            sentAt: clock.now().getTime(),
            bundleVersion: 0,
          },
        },
      });
      stream.call.write({
        body: {
          $case: 'tunnelerHeartbeat',
          tunnelerHeartbeat: {
            tunnelerId: 'tunneler-of-2',
            sequence: 1,
            version: '3.1.0',
            sentAt: clock.now().getTime(),
            bundleVersion: 0,
          },
        },
      });
      stream.call.write({
        body: {
          $case: 'heartbeat',
          heartbeat: {
            sequence: 1,
            version: '2.0.0',
            privateIp: '',
            sentAt: 0,
            certificateNotAfter: 0,
            bundleVersion: 0,
          },
        },
      });
      await stream.next('heartbeatAck');
      const tunnelers = fx.controller.listTunnelers();
      expect(tunnelers.find((t) => t.id === 'tunneler-a')).toMatchObject({
        status: 'ONLINE',
        version: '3.1.0',
        lastSeen: clock.now().getTime(),
      });
      expect(tunnelers.find((t) => t.id === 'tunneler-of-2')).toMatchObject({ status: 'OFFLINE' });
      expect(
        fx.lines.some(
          (l) =>
            l.includes('controlplane.tunneler_heartbeat_ignored') && l.includes('tunneler-of-2'),
        ),
      ).toBe(true);
      stream.call.end();
      await stream.until(() => stream.status !== undefined, 'stream end');
    });

    it('replaces the older stream when the same connector connects again', async () => {
      const first = openStream(connector.identity);
      await first.next('approvedTunnelers');
      const second = openStream(connector.identity);
      await second.next('approvedTunnelers');
      const drain = await first.next('drain');
      expect(drain.body.drain.reason).toMatch(/replaced/);
      await first.until(() => first.status !== undefined, 'first stream closed');
      expect(first.status!.code).toBe(grpc.status.OK);
      second.call.write({
        body: {
          $case: 'heartbeat',
          heartbeat: {
            sequence: 2,
            version: '2.0.0',
            privateIp: '',
            sentAt: 0,
            certificateNotAfter: 0,
            bundleVersion: 0,
          },
        },
      });
      expect((await second.next('heartbeatAck')).body.heartbeatAck.sequence).toBe(2);
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')!.connected).toBe(
        true,
      );
      second.call.end();
      await second.until(() => second.status !== undefined, 'second stream closed');
    });

    it('sends RenewNow on request, to a connected connector only', async () => {
      await expect(fx.controller.requestRenewal('connector-1')).rejects.toMatchObject({
        code: 'ERR_AGENT_NOT_CONNECTED',
      });
      const stream = openStream(connector.identity);
      await stream.next('approvedTunnelers');
      const commandId = await fx.controller.requestRenewal('connector-1');
      const renewNow = await stream.next('renewNow');
      expect(renewNow.commandId).toBe(commandId);
      stream.call.write({
        body: { $case: 'ack', ack: { commandId, ok: true, error: '' } },
      });
      stream.call.end();
      await stream.until(() => stream.status !== undefined, 'stream end');
    });

    it('refuses a control stream from a tunneler with PERMISSION_DENIED', async () => {
      const tunneler = await enrollNew(fx.controller, 'tunneler', 'tunneler-c', 'connector-1');
      const stream = openStream(tunneler.identity);
      await stream.until(() => stream.error !== undefined, 'refusal');
      expect(stream.error!.code).toBe(grpc.status.PERMISSION_DENIED);
    });

    it('marks a connector OFFLINE at once when it ends its stream cleanly', async () => {
      const stream = openStream(connector.identity);
      await stream.next('approvedTunnelers');
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')).toMatchObject({
        status: 'ONLINE',
        connected: true,
      });
      stream.call.end();
      await stream.until(() => stream.status !== undefined, 'stream end');
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')).toMatchObject({
        status: 'OFFLINE',
        connected: false,
      });
    });

    it('marks a connector whose stream vanished OFFLINE once the heartbeat deadline passes', async () => {
      const stream = openStream(connector.identity);
      await stream.next('approvedTunnelers');
      stream.call.cancel();
      await stream.until(() => stream.error !== undefined, 'stream cancelled');
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')!.status).toBe(
        'ONLINE',
      );
      clock.advance(30_000);
      expect(fx.controller.listConnectors().find((c) => c.id === 'connector-1')!.status).toBe(
        'OFFLINE',
      );
    });
  });
});

describe('an expired runtime SVID', () => {
  it('is refused: the interceptor validates the certificate at the current time, not at the handshake', async () => {
    const clock = testClock();
    const fx = await startController({ clock: clock.now, connectorCertTtlSeconds: 60 });
    const connector = await enrollNew(fx.controller, 'connector', 'connector-old');
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      connector.identity,
    );
    try {
      await expect(unary(client.getTrustBundle.bind(client), {})).resolves.toBeDefined();
      clock.advance(61_000);
      await expect(
        unary(client.renew.bind(client), {
          csrPem: await createCertificateSigningRequest(connector.key),
        }),
      ).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: expect.stringMatching(/certificate is not accepted/),
      });
      // The connection verified at its handshake; the certificate expired under it.
      expect(
        await fx.controller.metrics.getSingleMetricAsString('sigil_controller_refusals_total'),
      ).toMatch(/sigil_controller_refusals_total\{reason="expired"\} 1/);
    } finally {
      client.close();
      await fx.cleanup();
    }
  });
});

describe('shutdown', () => {
  it('sends Drain on every control stream when the controller stops', async () => {
    const fx = await startController();
    const connector = await enrollNew(fx.controller, 'connector', 'connector-drain');
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      connector.identity,
    );
    try {
      const stream = new StreamRecorder(client.connect());
      await stream.next('approvedTunnelers');
      const stopped = fx.cleanup();
      const drain = await stream.next('drain');
      expect(drain.body.drain).toEqual({
        reason: 'controller shutting down',
        reconnectAfterMs: 1000,
      });
      await stopped;
      await stream.until(() => stream.status !== undefined, 'stream closed');
    } finally {
      client.close();
    }
  });
});
