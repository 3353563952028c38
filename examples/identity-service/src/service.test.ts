import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { identityV1 } from '@sigil/proto';
import { createLogger } from '@sigil/runtime';
import { type RunningGrpcService, type Upstream } from '@sigil/grpc-service';
import { createTestBench, type TestBench } from '@sigil/grpc-service/testing';
import { loadIdentityServiceConfig } from './config';
import { startIdentityService } from './service';

describe('identity-service (in process, real mTLS, default policy)', () => {
  const logLines: string[] = [];
  const logStream = new PassThrough().on('data', (chunk: Buffer) =>
    logLines.push(chunk.toString('utf8')),
  );
  const logger = createLogger({ name: 'identity-service', destination: logStream });
  let clock = Date.UTC(2030, 0, 1);
  let bench: TestBench;
  let running: RunningGrpcService;
  const as = new Map<
    'user-service' | 'content-service',
    Upstream<identityV1.IdentityServiceClient>
  >();
  const asUserService = () => as.get('user-service')!;

  beforeAll(async () => {
    bench = await createTestBench();
    for (const name of ['identity-service', 'user-service', 'content-service'])
      await bench.issue(name, `svc/${name}`);
    running = await startIdentityService(
      loadIdentityServiceConfig(bench.serviceEnv('identity-service')),
      logger,
      { now: () => clock },
    );
    for (const caller of ['user-service', 'content-service'] as const) {
      as.set(
        caller,
        await bench.connect(
          identityV1.IdentityServiceClient,
          caller,
          running.address,
          'identity-service',
        ),
      );
    }
  });

  afterAll(async () => {
    await running?.close();
    await bench?.cleanup();
  });

  it('issues a token to user-service and validates it until it expires', async () => {
    const issued = await asUserService().call(
      'issueToken',
      { userId: 'usr_1', tenantId: 'acme', ttlSeconds: 60 },
      { passThrough: 'all' },
    );
    expect(issued.expiresAt).toBe(clock + 60_000);
    await expect(asUserService().call('validateToken', { token: issued.token })).resolves.toEqual({
      valid: true,
      userId: 'usr_1',
      tenantId: 'acme',
      expiresAt: clock + 60_000,
    });
    clock += 60_000;
    await expect(asUserService().call('validateToken', { token: issued.token })).resolves.toEqual({
      valid: false,
      userId: '',
      tenantId: '',
      expiresAt: 0,
    });
  });

  it('never logs a token, only a short hash prefix', async () => {
    const { token } = await asUserService().call('issueToken', {
      userId: 'usr_2',
      tenantId: 'acme',
      ttlSeconds: 0,
    });
    await asUserService().call('validateToken', { token: `${token}x` });
    const logs = logLines.join('');
    expect(logs).toContain('"event":"token.issued"');
    expect(logs).toContain('"event":"token.rejected"');
    expect(logs).not.toContain(token);
  });

  it('answers bad requests with INVALID_ARGUMENT', async () => {
    await expect(
      asUserService().call('validateToken', { token: '' }, { passThrough: 'all' }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'token is required',
    });
    await expect(
      asUserService().call(
        'issueToken',
        { userId: 'u', tenantId: 't', ttlSeconds: 90_000 },
        { passThrough: 'all' },
      ),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('ttl_seconds must be at most 86400'),
    });
  });

  it('refuses every caller but user-service (default policy)', async () => {
    await expect(
      as.get('content-service')!.call('validateToken', { token: 'sgt_x' }, { passThrough: 'all' }),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('spiffe://sigil.test/svc/content-service'),
    });
  });
});
