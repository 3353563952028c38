import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, generateKeyPair, validateX509Svid } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { TOKEN_REFUSAL_MESSAGE } from '../src/internal/enrollment';
import {
  csrFor,
  enroll,
  enrollmentClient,
  startController,
  summarisedRefusals,
  testClock,
  unary,
} from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

describe('enrollment over real TLS with bootstrap trust', () => {
  const clock = testClock();
  let fx: ControllerFixture;
  let client: controlplaneV1.EnrollmentServiceClient;

  beforeAll(async () => {
    fx = await startController({
      auditSummaryIntervalSeconds: 1,
      clock: clock.now,
      connectorCertTtlSeconds: 120,
      tunnelerCertTtlSeconds: 60,
    });
    // Exactly what an agent does: pin the bootstrap CA file from the data dir, no client certificate.
    client = enrollmentClient(
      fx.controller.grpcAddress,
      readFileSync(join(fx.dataDir, 'bootstrap-ca.crt'), 'utf8'),
    );
  });
  afterAll(async () => {
    client.close();
    await fx.cleanup();
  });

  const refusal = async (promise: Promise<unknown>): Promise<{ code: number; details: string }> => {
    const err = (await promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    return { code: err.code, details: err.details };
  };
  const auditReasons = async (): Promise<string[]> =>
    (await fx.controller.store.listAudit({ limit: 100, action: 'enrollment.refused' })).map((r) =>
      String(r.details.reason),
    );

  it('issues a connector X509-SVID of the runtime CA and the runtime trust bundle, and registers the connector', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-a',
    });
    const agent = await enroll(client, {
      token,
      kind: 'connector',
      agentId: 'connector-a',
      version: '9.9.9',
      privateIp: '10.1.2.3',
    });
    const { response } = agent;
    expect(response.spiffeId).toBe('spiffe://test.sigil/connector/connector-a');
    expect(response.trustBundle?.trustDomain).toBe('test.sigil');
    expect(response.trustBundle?.rootsPem).toBe(fx.controller.trustBundlePem);
    const svid = validateX509Svid(response.certificateChainPem, response.trustBundle!.rootsPem, {
      trustDomain: 'test.sigil',
      at: clock.now(),
    });
    expect(svid.spiffeId).toBe('spiffe://test.sigil/connector/connector-a');
    expect(response.notAfter).toBe(svid.notAfter.getTime());
    expect(svid.notAfter.getTime() - clock.now().getTime()).toBeLessThanOrEqual(120_000);
    expect(svid.notAfter.getTime() - clock.now().getTime()).toBeGreaterThan(110_000);
    // The certificate certifies the agent's own key; the bootstrap CA (what agents pin) cannot validate it.
    expect(
      new X509Certificate(response.certificateChainPem).publicKey.export({
        type: 'spki',
        format: 'pem',
      }),
    ).toBe(agent.key.publicKeyPem);
    expect(() =>
      validateX509Svid(response.certificateChainPem, fx.controller.bootstrapCaPem, {
        trustDomain: 'test.sigil',
      }),
    ).toThrow();
    expect(fx.controller.listConnectors()).toEqual([
      expect.objectContaining({
        id: 'connector-a',
        privateIp: '10.1.2.3',
        version: '9.9.9',
        status: 'ONLINE',
      }),
    ]);
    const audit = await fx.controller.store.listAudit({
      limit: 10,
      action: 'enrollment.succeeded',
    });
    expect(audit[0]).toMatchObject({
      outcome: 'success',
      subject: 'spiffe://test.sigil/connector/connector-a',
      details: { kind: 'connector', serial: svid.leaf.serialNumber.toLowerCase() },
    });
    expect(
      await fx.controller.metrics.getSingleMetricAsString('sigil_controller_enrollments_total'),
    ).toMatch(/kind="connector"} 1/);
  });

  it('gives a replayed, an unknown and an expired token the same refusal, each audited with its reason', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-b',
      ttlSeconds: 60,
    });
    await enroll(client, { token, kind: 'connector', agentId: 'connector-b' });
    const replayed = await refusal(
      enroll(client, { token, kind: 'connector', agentId: 'connector-b' }),
    );
    const unknown = await refusal(
      enroll(client, {
        token: 'sigil_et_not-a-real-token',
        kind: 'connector',
        agentId: 'connector-b',
      }),
    );
    const empty = await refusal(
      enroll(client, { token: '', kind: 'connector', agentId: 'connector-b' }),
    );
    const { token: shortLived } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-c',
      ttlSeconds: 60,
    });
    clock.advance(61_000);
    const expired = await refusal(
      enroll(client, { token: shortLived, kind: 'connector', agentId: 'connector-c' }),
    );
    const expected = { code: grpc.status.UNAUTHENTICATED, details: TOKEN_REFUSAL_MESSAGE };
    expect([replayed, unknown, empty, expired]).toEqual([expected, expected, expected, expected]);
    // A known token's refusal is a row of its own; an unknown one is counted in the summary.
    expect(await auditReasons()).toEqual(expect.arrayContaining(['token_used', 'token_expired']));
    expect(await summarisedRefusals(fx.controller, 'enrollment.refused', 2)).toEqual([
      expect.objectContaining({ reason: 'token_unknown', count: 2 }),
    ]);
    const refusals = await fx.controller.metrics.getSingleMetricAsString(
      'sigil_controller_refusals_total',
    );
    expect(refusals).toMatch(/reason="token_used"} 1/);
    expect(refusals).toMatch(/reason="token_expired"} 1/);
    expect(refusals).toMatch(/reason="token_unknown"} 2/);
    // The audit shows the token only as a hash prefix.
    const records = JSON.stringify(await fx.controller.store.listAudit({ limit: 100 }));
    expect(records).not.toContain(token);
    expect(records).not.toContain(shortLived);
    expect(fx.lines.join('\n')).not.toContain(token);
  });

  it('gives two concurrent redemptions of one token exactly one certificate', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-race',
    });
    const [a, b] = await Promise.allSettled([
      enroll(client, { token, kind: 'connector', agentId: 'connector-race' }),
      enroll(client, { token, kind: 'connector', agentId: 'connector-race' }),
    ]);
    const outcomes = [a!, b!];
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: TOKEN_REFUSAL_MESSAGE,
    });
    const succeeded = await fx.controller.store.listAudit({
      limit: 100,
      action: 'enrollment.succeeded',
    });
    expect(succeeded.filter((r) => r.subject.endsWith('/connector-race'))).toHaveLength(1);
  });

  it('answers a retry with the SAME key (a lost response) with the same certificate, and no second one', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-retry',
    });
    const key = await generateKeyPair('ec-p256');
    const first = await enroll(client, {
      token,
      kind: 'connector',
      agentId: 'connector-retry',
      key,
    });
    const second = await enroll(client, {
      token,
      kind: 'connector',
      agentId: 'connector-retry',
      key,
    });
    expect(second.response.certificateChainPem).toBe(first.response.certificateChainPem);
    expect(
      (await fx.controller.store.listAudit({ limit: 100, action: 'enrollment.retried' })).map(
        (r) => r.subject,
      ),
    ).toContain('spiffe://test.sigil/connector/connector-retry');
  });

  it('refuses a token presented for another id or kind with the same refusal, and leaves it redeemable', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-d',
    });
    const wrongId = await refusal(
      enroll(client, { token, kind: 'connector', agentId: 'connector-e' }),
    );
    const wrongKind = await refusal(
      enroll(client, { token, kind: 'tunneler', agentId: 'connector-d' }),
    );
    expect(wrongId).toEqual({ code: grpc.status.UNAUTHENTICATED, details: TOKEN_REFUSAL_MESSAGE });
    expect(wrongKind).toEqual(wrongId);
    expect(await auditReasons()).toContain('token_mismatch');
    await expect(
      enroll(client, { token, kind: 'connector', agentId: 'connector-d' }),
    ).resolves.toBeDefined();
  });

  it('refuses a malformed CSR with INVALID_ARGUMENT naming csr_pem, without consuming the token', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-csr',
    });
    const bad = await refusal(
      unary(client.enroll.bind(client), {
        token,
        kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
        agentId: 'connector-csr',
        csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
        version: '',
        privateIp: '',
        sentAt: 0,
      }),
    );
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^csr_pem: /);
    const badKind = await refusal(
      unary(client.enroll.bind(client), {
        token,
        kind: controlplaneV1.AgentKind.AGENT_KIND_UNSPECIFIED,
        agentId: 'connector-csr',
        csrPem: 'x',
        version: '',
        privateIp: '',
        sentAt: 0,
      }),
    );
    expect(badKind).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^kind /),
    });
    const badId = await refusal(
      unary(client.enroll.bind(client), {
        token,
        kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
        agentId: '../etc',
        csrPem: 'x',
        version: '',
        privateIp: '',
        sentAt: 0,
      }),
    );
    expect(badId).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^agent_id /),
    });
    await expect(
      enroll(client, { token, kind: 'connector', agentId: 'connector-csr' }),
    ).resolves.toBeDefined();
  });

  it('enrolls a tunneler under the connector its token names, with the tunneler lifetime', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'tunneler',
      id: 'tunneler-a',
      connectorId: 'connector-a',
    });
    const agent = await enroll(client, { token, kind: 'tunneler', agentId: 'tunneler-a' });
    expect(agent.response.spiffeId).toBe('spiffe://test.sigil/tunneler/tunneler-a');
    expect(agent.response.connectorId).toBe('connector-a');
    expect(agent.response.notAfter - clock.now().getTime()).toBeLessThanOrEqual(60_000);
    expect(fx.controller.listTunnelers()).toEqual([
      expect.objectContaining({ id: 'tunneler-a', connectorId: 'connector-a', status: 'ONLINE' }),
    ]);
  });

  it('refuses a tunneler token for a connector that is neither enrolled nor pending', async () => {
    await expect(
      fx.controller.createEnrollmentToken({
        kind: 'tunneler',
        id: 'tunneler-x',
        connectorId: 'connector-nobody',
      }),
    ).rejects.toMatchObject({
      code: 'ERR_TOKEN_REQUEST_INVALID',
      details: { field: 'connector_id' },
    });
  });

  it('is refused by an agent that trusts another CA (the TLS handshake fails)', async () => {
    const other = await createCertificateAuthority({ trustDomain: 'test.sigil' });
    const wrong = enrollmentClient(fx.controller.grpcAddress, other.certificatePem);
    try {
      const key = await generateKeyPair('ec-p256');
      const err = await refusal(
        unary(
          wrong.enroll.bind(wrong),
          {
            token: 'x',
            kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
            agentId: 'c',
            csrPem: await csrFor(key),
            version: '',
            privateIp: '',
            sentAt: 0,
          },
          5000,
        ),
      );
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      // It never reached the controller: no refusal was audited for it.
      expect(
        (await fx.controller.store.listAudit({ limit: 100 })).some((r) => r.subject.endsWith('/c')),
      ).toBe(false);
    } finally {
      wrong.close();
    }
  });
});
