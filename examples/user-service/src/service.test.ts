import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { identityV1, userV1 } from '@sigil/proto';
import { unaryHandler, type RunningGrpcService, type Upstream } from '@sigil/grpc-service';
import { createTestBench, type TestBench } from '@sigil/grpc-service/testing';
import { loadUserServiceConfig } from './config';
import { startUserService } from './service';

// A service never imports another service, so identity-service is stood in for by a stub that
// speaks its protocol over the same mTLS stack; test/phase1.e2e.test.ts of content-service runs
// the real one.
describe('user-service (in process, real mTLS, default policy)', () => {
  const logger = pino({ level: 'silent' });
  const sessions = new Map<string, { userId: string; tenantId: string }>();
  let bench: TestBench;
  let identity: RunningGrpcService;
  let users: RunningGrpcService;
  let asContentService: Upstream<userV1.UserServiceClient>;
  let asWeb: Upstream<userV1.UserServiceClient>;

  beforeAll(async () => {
    bench = await createTestBench();
    for (const name of ['identity-service', 'user-service', 'content-service'])
      await bench.issue(name, `svc/${name}`);
    await bench.issue('web', 'client/web');
    identity = await bench.startService(
      'identity-service',
      {
        definition: identityV1.IdentityServiceService,
        implementation: {
          validateToken: unaryHandler(
            logger,
            async (
              call: grpc.ServerUnaryCall<
                identityV1.ValidateTokenRequest,
                identityV1.ValidateTokenResponse
              >,
            ) => {
              const session = sessions.get(call.request.token);
              return session
                ? { valid: true, ...session, expiresAt: 1 }
                : { valid: false, userId: '', tenantId: '', expiresAt: 0 };
            },
          ),
          issueToken: unaryHandler(logger, () => Promise.reject(new Error('not used'))),
        },
      },
      ['spiffe://sigil.test/svc/user-service'],
    );
    users = await startUserService(
      loadUserServiceConfig(
        bench.serviceEnv('user-service', { IDENTITY_SERVICE_ADDR: identity.address }),
      ),
      logger,
    );
    asContentService = await bench.connect(
      userV1.UserServiceClient,
      'content-service',
      users.address,
      'user-service',
    );
    asWeb = await bench.connect(userV1.UserServiceClient, 'web', users.address, 'user-service');
  });

  afterAll(async () => {
    await users?.close();
    await bench?.cleanup();
  });

  const all = { passThrough: 'all' } as const;

  it('creates users for content-service and shows them to sessions of the same tenant', async () => {
    const ada = await asContentService.call(
      'createUser',
      { tenantId: 'acme', displayName: 'Ada', email: 'ada@acme.test' },
      all,
    );
    const bob = await asContentService.call(
      'createUser',
      { tenantId: 'acme', displayName: 'Bob', email: 'bob@acme.test' },
      all,
    );
    sessions.set('tok-ada', { userId: ada.id, tenantId: 'acme' });
    await expect(
      asContentService.call('getUser', { id: bob.id, sessionToken: 'tok-ada' }, all),
    ).resolves.toEqual(bob);
    await expect(
      asContentService.call('getUser', { id: '', sessionToken: 'tok-ada' }, all),
    ).resolves.toEqual(ada);
  });

  it('hides users of other tenants as NOT_FOUND', async () => {
    const eve = await asContentService.call(
      'createUser',
      { tenantId: 'globex', displayName: 'Eve', email: 'eve@globex.test' },
      all,
    );
    await expect(
      asContentService.call('getUser', { id: eve.id, sessionToken: 'tok-ada' }, all),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('refuses a missing or invalid session token with UNAUTHENTICATED', async () => {
    await expect(
      asContentService.call('getUser', { id: '', sessionToken: '' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'session_token is required',
    });
    await expect(
      asContentService.call('getUser', { id: '', sessionToken: 'tok-forged' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'session token is invalid or expired',
    });
  });

  it('lists a tenant page by page', async () => {
    const first = await asContentService.call(
      'listUsers',
      { tenantId: 'acme', pageSize: 1, pageToken: '', sessionToken: 'tok-ada' },
      all,
    );
    expect(first.users.map((u) => u.displayName)).toEqual(['Ada']);
    const second = await asContentService.call(
      'listUsers',
      { tenantId: '', pageSize: 1, pageToken: first.nextPageToken, sessionToken: 'tok-ada' },
      all,
    );
    expect(second).toEqual({
      users: [expect.objectContaining({ displayName: 'Bob' })],
      nextPageToken: '',
    });
  });

  it('lists only the session tenant: no session is UNAUTHENTICATED, another tenant_id PERMISSION_DENIED', async () => {
    await expect(
      asContentService.call(
        'listUsers',
        { tenantId: 'acme', pageSize: 0, pageToken: '', sessionToken: '' },
        all,
      ),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'session_token is required',
    });
    await expect(
      asContentService.call(
        'listUsers',
        { tenantId: 'globex', pageSize: 0, pageToken: '', sessionToken: 'tok-ada' },
        all,
      ),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: "tenant_id globex is not the session's tenant",
    });
    const own = await asContentService.call(
      'listUsers',
      { tenantId: '', pageSize: 0, pageToken: '', sessionToken: 'tok-ada' },
      all,
    );
    expect(own.users.map((u) => u.tenantId)).toEqual(['acme', 'acme']);
  });

  it('refuses callers other than content-service (default policy)', async () => {
    await expect(
      asWeb.call(
        'listUsers',
        { tenantId: 'acme', pageSize: 0, pageToken: '', sessionToken: '' },
        { passThrough: 'all' },
      ),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('spiffe://sigil.test/client/web'),
    });
  });

  it('answers UNAVAILABLE naming identity-service when it cannot validate the token', async () => {
    await identity.close();
    await expect(
      asContentService.call('getUser', { id: '', sessionToken: 'tok-ada' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: expect.stringContaining('identity-service validateToken failed'),
    });
  });
});
