import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { enroll, enrollmentClient, startController, unary } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

describe('a malformed CSR reveals nothing about the token', () => {
  let fx: ControllerFixture;
  let client: controlplaneV1.EnrollmentServiceClient;

  beforeAll(async () => {
    fx = await startController();
    client = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
  });
  afterAll(async () => {
    client.close();
    await fx.cleanup();
  });

  const withBadCsr = (token: string): Promise<grpc.ServiceError> =>
    unary(client.enroll.bind(client), {
      token,
      kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
      agentId: 'connector-csr',
      csrPem:
        '-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n',
      version: '1',
      privateIp: '10.0.0.1',
      sentAt: 0,
    }).then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: grpc.ServiceError) => err,
    );

  it('answers a live token and an unknown one alike, and leaves the live token redeemable', async () => {
    const { token } = await fx.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'connector-csr',
    });
    const live = await withBadCsr(token);
    const unknown = await withBadCsr('sigil_et_no-such-token-0000000000000000000000000');
    expect({ code: live.code, details: live.details }).toEqual({
      code: unknown.code,
      details: unknown.details,
    });
    expect(live.code).toBe(grpc.status.INVALID_ARGUMENT);
    await expect(
      enroll(client, { token, kind: 'connector', agentId: 'connector-csr' }),
    ).resolves.toBeDefined();
  });
});
