// A certificate that expired, presented to the controller: the refusal is labelled `expired`
// (metric, audit), not `svid_missing`. The controller requests client certificates without
// requiring them, so grpc-js shows such a call as one without a certificate; the label comes
// from the TLS layer's verification error. A hand-driven client presents the expired identity
// a real enrollment produced (the real agent no longer sends it: it stops, see
// faults-expired-while-stopped).
import * as grpc from '@grpc/grpc-js';
import { enrollFromConfig, resolveAgentConfig } from '@sigil/agent';
import { createCertificateSigningRequest, generateKeyPair } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { waitFor } from '@sigil/testing';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
} from './support/control-plane';

jest.setTimeout(60_000);

describe('the controller refusing an expired client certificate', () => {
  let fx: ControlPlaneFixture;
  beforeAll(async () => {
    fx = await startControlPlane({ connectorCertTtlSeconds: 10 });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('labels the refusal `expired` in the metric and the audit log', async () => {
    const env = await fx.enrollEnv('connector', 'stale');
    const { identity } = await enrollFromConfig(
      fx.runtime(resolveAgentConfig({ kind: 'connector', command: 'enroll', env })),
    );
    await waitFor(
      'the certificate to expire',
      () => Date.now() > identity.notAfter.getTime() + 1_500,
      30_000,
    );

    const client = new controlplaneV1.ControlPlaneServiceClient(
      fx.controller.grpcAddress,
      grpc.credentials.createSsl(
        Buffer.from(identity.controllerCaPem),
        Buffer.from(identity.privateKeyPem),
        Buffer.from(identity.certificateChainPem),
        { checkServerIdentity: () => undefined },
      ),
    );
    const key = await generateKeyPair('ec-p256');
    const csrPem = await createCertificateSigningRequest(key);
    const error = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.renew({ csrPem }, (err) => (err ? resolve(err) : reject(new Error('renewed')))),
    );
    client.close();
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(
      await metric(fx.controller.metrics, 'sigil_controller_refusals_total', { reason: 'expired' }),
    ).toBe(1);
    expect(
      await metric(fx.controller.metrics, 'sigil_controller_refusals_total', {
        reason: 'svid_missing',
      }),
    ).toBe(0);
    await waitFor('the audit record', async () => {
      const response = await fetch(`${fx.controller.adminUrl}/api/admin/audit`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      return (await response.text()).includes('"reason":"expired"');
    });
  });
});
