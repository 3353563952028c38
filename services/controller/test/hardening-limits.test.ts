import * as grpc from '@grpc/grpc-js';
import { controlplaneV1 } from '@sigil/proto';
import { GRPC_LIMIT_DEFAULTS } from '../src/internal/grpc-limits';
import { enrollmentClient, startController, summarisedRefusals, unary } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

const failure = (promise: Promise<unknown>): Promise<grpc.ServiceError> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: grpc.ServiceError) => e,
  );

describe('gRPC limits of an in-process controller', () => {
  let fx: ControllerFixture;
  let client: controlplaneV1.EnrollmentServiceClient;

  beforeAll(async () => {
    fx = await startController({
      auditSummaryIntervalSeconds: 1,
      grpcLimits: { ...GRPC_LIMIT_DEFAULTS, enrollmentsPerMinutePerAddress: 5 },
    });
    client = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
  });
  afterAll(async () => {
    client.close();
    await fx.cleanup();
  });

  it('refuses an Enroll message over CONTROLLER_MAX_MESSAGE_SIZE (64 KiB) with RESOURCE_EXHAUSTED', async () => {
    const err = await failure(
      unary(client.enroll.bind(client), {
        token: 'x'.repeat(70 * 1024),
        kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
        agentId: 'big',
        csrPem: '',
        version: '1',
        privateIp: '10.0.0.1',
        sentAt: 0,
      }),
    );
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('rate-limits Enroll per address: the calls over CONTROLLER_ENROLL_RATE_PER_IP get ERR_RATE_LIMITED with retry-after', async () => {
    const attempt = (): Promise<grpc.ServiceError> =>
      failure(
        unary(client.enroll.bind(client), {
          token: 'sigil_et_unknown',
          kind: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
          agentId: 'guess',
          csrPem: 'not a csr',
          version: '1',
          privateIp: '10.0.0.1',
          sentAt: 0,
        }),
      );
    const errors: grpc.ServiceError[] = [];
    for (let i = 0; i < 8; i += 1) errors.push(await attempt());
    const limited = errors.filter((e) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    // The first test's call counted too: 5 tokens in the bucket in all.
    expect(limited.length).toBeGreaterThanOrEqual(4);
    expect(limited[0]!.details).toMatch(
      /^ERR_RATE_LIMITED: too many enrollments; retry after \d+ s$/,
    );
    expect(Number(limited[0]!.metadata.get('retry-after')[0])).toBeGreaterThanOrEqual(1);
    expect(await summarisedRefusals(fx.controller, 'grpc.connection_refused', 4)).toEqual([
      expect.objectContaining({
        reason: 'enrollment_rate_limited',
        address_prefix: '127.0.0.0/24',
      }),
    ]);
  });
});
