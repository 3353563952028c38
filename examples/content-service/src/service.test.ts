import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { isSigilError } from '@sigil/errors';
import { evaluatePolicy } from '@sigil/interceptors';
import { contentV1, userV1 } from '@sigil/proto';
import {
  reflectionServices,
  rpcError,
  unaryHandler,
  type RunningGrpcService,
  type Upstream,
} from '@sigil/grpc-service';
import { createTestBench, type TestBench } from '@sigil/grpc-service/testing';
type Json = Record<string, unknown>;
import { waitFor } from '@sigil/testing';
import { loadContentServiceConfig } from './config';
import { startContentService } from './service';

const ADA: userV1.User = {
  id: 'usr_ada',
  tenantId: 'acme',
  displayName: 'Ada',
  email: 'ada@acme.test',
  createdAt: 1,
};
const EVE: userV1.User = {
  id: 'usr_eve',
  tenantId: 'globex',
  displayName: 'Eve',
  email: 'eve@globex.test',
  createdAt: 2,
};
const SESSIONS = new Map([
  ['tok-ada', ADA],
  ['tok-eve', EVE],
]);

// user-service is stood in for by a stub speaking its protocol over the same mTLS stack (a
// service never imports another); test/phase1.e2e.test.ts runs the real chain.
describe('content-service (in process, real mTLS, default policy)', () => {
  const logger = pino({ level: 'silent' });
  const all = { passThrough: 'all' } as const;
  let bench: TestBench;
  let users: RunningGrpcService;
  let content: RunningGrpcService;
  let asWeb: Upstream<contentV1.ContentServiceClient>;
  let asMobile: Upstream<contentV1.ContentServiceClient>;

  const contentEnv = (env: Record<string, string> = {}) =>
    bench.serviceEnv('content-service', { USER_SERVICE_ADDR: users.address, ...env });

  beforeAll(async () => {
    bench = await createTestBench();
    for (const name of ['user-service', 'content-service']) await bench.issue(name, `svc/${name}`);
    for (const name of ['web', 'mobile']) await bench.issue(name, `client/${name}`);
    users = await bench.startService(
      'user-service',
      {
        definition: userV1.UserServiceService,
        implementation: {
          getUser: unaryHandler(
            logger,
            async (call: grpc.ServerUnaryCall<userV1.GetUserRequest, userV1.User>) => {
              const user = SESSIONS.get(call.request.sessionToken);
              if (user === undefined)
                throw rpcError(grpc.status.UNAUTHENTICATED, 'session token is invalid or expired');
              return user;
            },
          ),
          createUser: unaryHandler(logger, () => Promise.reject(new Error('not used'))),
          listUsers: unaryHandler(logger, () => Promise.reject(new Error('not used'))),
        },
      },
      ['spiffe://sigil.test/svc/content-service'],
    );
    content = await startContentService(loadContentServiceConfig(contentEnv()), logger);
    asWeb = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      content.address,
      'content-service',
    );
    asMobile = await bench.connect(
      contentV1.ContentServiceClient,
      'mobile',
      content.address,
      'content-service',
    );
  });

  afterAll(async () => {
    await content?.close();
    await bench?.cleanup();
  });

  const post = (title: string) =>
    asWeb.call(
      'createPost',
      { authorId: ADA.id, sessionToken: 'tok-ada', title, body: `${title} body` },
      all,
    );

  it('creates posts whose author is resolved from the session through user-service', async () => {
    const created = await post('first');
    expect(created).toMatchObject({
      tenantId: 'acme',
      authorId: ADA.id,
      authorName: 'Ada',
      title: 'first',
      body: 'first body',
      sequence: 1,
    });
    await expect(
      asWeb.call('getPost', { id: created.id, sessionToken: 'tok-ada' }, all),
    ).resolves.toEqual(created);
    await expect(
      asWeb.call(
        'createPost',
        { authorId: '', sessionToken: 'tok-ada', title: 'implicit author', body: '' },
        all,
      ),
    ).resolves.toMatchObject({
      authorId: ADA.id,
      sequence: 2,
    });
  });

  it('refuses a session token of another user than author_id with PERMISSION_DENIED', async () => {
    await expect(
      asWeb.call(
        'createPost',
        { authorId: 'usr_bob', sessionToken: 'tok-ada', title: 't', body: '' },
        all,
      ),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: 'the session token belongs to user usr_ada, not to author_id usr_bob',
    });
  });

  it('passes UNAUTHENTICATED through from user-service, and requires a token', async () => {
    await expect(
      asWeb.call(
        'createPost',
        { authorId: '', sessionToken: 'tok-forged', title: 't', body: '' },
        all,
      ),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'session token is invalid or expired',
    });
    await expect(
      asWeb.call('createPost', { authorId: '', sessionToken: '', title: 't', body: '' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'session_token is required',
    });
  });

  it('answers NOT_FOUND for an unknown post and lists posts page by page', async () => {
    await expect(
      asWeb.call('getPost', { id: 'post_missing', sessionToken: 'tok-ada' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    const page = await asWeb.call(
      'listPosts',
      { authorId: ADA.id, pageSize: 1, pageToken: '', sessionToken: 'tok-ada' },
      all,
    );
    expect(page.posts.map((p) => p.sequence)).toEqual([1]);
    expect(page.nextPageToken).not.toBe('');
  });

  it('streams the backlog then every new post, in sequence', async () => {
    const stream = asWeb.client.watchPosts({ backlog: 1, sessionToken: 'tok-ada' });
    const seen: number[] = [];
    const received = new Promise<void>((resolve, reject) => {
      stream.on('data', (p: contentV1.Post) => {
        seen.push(p.sequence);
        if (seen.length === 1) void post('live one').then(() => post('live two'), reject);
        if (seen.length === 3) resolve();
      });
      stream.on('error', reject);
    });
    await received;
    stream.cancel();
    const last = seen[0]!;
    expect(seen).toEqual([last, last + 1, last + 2]);
  });

  it('refuses every read without a valid session with UNAUTHENTICATED', async () => {
    for (const sessionToken of ['', 'tok-forged']) {
      const expected = {
        code: grpc.status.UNAUTHENTICATED,
        details:
          sessionToken === '' ? 'session_token is required' : 'session token is invalid or expired',
      };
      await expect(
        asWeb.call('getPost', { id: 'post_x', sessionToken }, all),
      ).rejects.toMatchObject(expected);
      await expect(
        asWeb.call('listPosts', { authorId: '', pageSize: 0, pageToken: '', sessionToken }, all),
      ).rejects.toMatchObject(expected);
      await expect(
        streamError(asWeb.client.watchPosts({ backlog: 1, sessionToken })),
      ).resolves.toMatchObject(expected);
    }
  });

  it('scopes every read by the session tenant: another tenant sees none of its posts', async () => {
    const adas = await post('acme only');
    await expect(
      asWeb.call('getPost', { id: adas.id, sessionToken: 'tok-eve' }, all),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: `post ${adas.id} not found` });
    const listed = await asWeb.call(
      'listPosts',
      { authorId: '', pageSize: 0, pageToken: '', sessionToken: 'tok-eve' },
      all,
    );
    expect(listed.posts).toEqual([]);
    const eves = await asWeb.call(
      'createPost',
      { authorId: '', sessionToken: 'tok-eve', title: 'globex only', body: '' },
      all,
    );
    expect(eves).toMatchObject({ tenantId: 'globex', sequence: 1 });
    const stream = asWeb.client.watchPosts({ backlog: 100, sessionToken: 'tok-eve' });
    const seen: string[] = [];
    stream.on('data', (p: contentV1.Post) => seen.push(p.title));
    stream.on('error', () => undefined);
    await waitFor('the backlog of globex', () => (seen.length > 0 ? true : undefined));
    await post('acme, while globex watches');
    await asWeb.call(
      'createPost',
      { authorId: '', sessionToken: 'tok-eve', title: 'globex live', body: '' },
      all,
    );
    await waitFor('the live globex post', () => (seen.length > 1 ? true : undefined));
    stream.cancel();
    expect(seen).toEqual(['globex only', 'globex live']);
  });

  it('refuses a negative backlog with INVALID_ARGUMENT', async () => {
    const stream = asWeb.client.watchPosts({ backlog: -1, sessionToken: 'tok-ada' });
    await expect(
      new Promise((_resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', () => undefined);
      }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('serves gRPC server reflection to its callers: ContentService is listed', async () => {
    const registrations = reflectionServices(
      dirname(require.resolve('@sigil/proto/package.json')),
      ['sigil/content/v1/content.proto'],
    );
    const v1 = registrations.find((r) =>
      Object.values(r.definition).some((m) => m.path.startsWith('/grpc.reflection.v1.')),
    )!;
    const Reflection = grpc.makeGenericClientConstructor(v1.definition, 'ServerReflection');
    const reflection = await bench.connect(Reflection, 'web', content.address, 'content-service');
    const call = (
      reflection.client as unknown as {
        serverReflectionInfo(): grpc.ClientDuplexStream<object, Json>;
      }
    ).serverReflectionInfo();
    const answer = new Promise<Json>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write({ listServices: '' });
    const reply = await answer;
    call.end();
    expect(
      (
        reply as { listServicesResponse: { service: { name: string }[] } }
      ).listServicesResponse.service.map((service) => service.name),
    ).toContain('sigil.content.v1.ContentService');
  });

  it('admits only the default client identity spiffe://<td>/client/web', async () => {
    await expect(
      asMobile.call('getPost', { id: 'x', sessionToken: 'tok-ada' }, all),
    ).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('spiffe://sigil.test/client/mobile'),
    });
  });

  it('admits the identities listed in CONTENT_SERVICE_ALLOWED_CLIENTS instead', () => {
    const config = loadContentServiceConfig(
      contentEnv({
        CONTENT_SERVICE_ALLOWED_CLIENTS:
          'spiffe://sigil.test/client/mobile,spiffe://sigil.test/client/cli',
      }),
    );
    const allowed = (spiffeId: string) =>
      evaluatePolicy(config.authorization, {
        spiffeId,
        method: '/sigil.content.v1.ContentService/CreatePost',
      }).allowed;
    expect([
      allowed('spiffe://sigil.test/client/mobile'),
      allowed('spiffe://sigil.test/client/cli'),
      allowed('spiffe://sigil.test/client/web'),
    ]).toEqual([true, true, false]);
  });

  it('refuses CONTENT_SERVICE_ALLOWED_CLIENTS together with SIGIL_AUTHZ_POLICY', () => {
    let error: unknown;
    try {
      loadContentServiceConfig(
        contentEnv({
          CONTENT_SERVICE_ALLOWED_CLIENTS: 'spiffe://sigil.test/client/mobile',
          SIGIL_AUTHZ_POLICY: `${bench.dir}/policy.yaml`,
        }),
      );
    } catch (err) {
      error = err;
    }
    expect(isSigilError(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(
      /^CONTENT_SERVICE_ALLOWED_CLIENTS only shapes the default policy, and SIGIL_AUTHZ_POLICY replaces it/,
    );
  });

  it('ends open WatchPosts streams with OK when it drains', async () => {
    const stream = asWeb.client.watchPosts({ backlog: 1, sessionToken: 'tok-ada' });
    await new Promise((resolve) => stream.once('data', resolve));
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    await content.close();
    await expect(status).resolves.toMatchObject({ code: grpc.status.OK });
  });
});

function streamError(stream: grpc.ClientReadableStream<unknown>): Promise<unknown> {
  return new Promise((resolve) => {
    stream.on('error', resolve);
    stream.on('data', () => undefined);
  });
}
