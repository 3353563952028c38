// Phase 1 of the integration guide, end to end: identity-service, user-service and
// content-service run as real processes (the built dist/, started through their bin shims) on
// loopback, with certificates from our CA, and are called over mutual TLS from this process.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, type IssuedCertificate } from '@sigil/pki';
import { contentV1, identityV1, userV1 } from '@sigil/proto';
import { createTestBench, type IdentityFiles, type TestBench } from '@sigil/grpc-service/testing';
import { readMetric, waitFor } from '@sigil/testing';
import {
  assertBuilt,
  startServiceProcess,
  stopServiceProcess,
  type ServiceProcess,
} from './helpers/service-process';

const TD = 'sigil.test';
const all = { passThrough: 'all' } as const;

describe('phase 1 sample services, end to end (real processes, mTLS on loopback)', () => {
  let bench: TestBench;
  const serials = new Map<string, string>();
  let identity: ServiceProcess | undefined;
  let users: ServiceProcess | undefined;
  let content: ServiceProcess | undefined;

  const address = (service: ServiceProcess | undefined): string => `127.0.0.1:${service!.port}`;

  /**
   * A client built by hand with grpc-js, as a foreign or misconfigured program would: our CA to
   * trust, and optionally a certificate (any CA, any lifetime). It skips the host-name check
   * because the servers' SVIDs carry only a SPIFFE ID.
   */
  const foreignContentClient = (
    certificate?: IssuedCertificate,
  ): contentV1.ContentServiceClient => {
    const credentials = grpc.credentials.createSsl(
      readFileSync(bench.files('web').ca),
      certificate ? Buffer.from(certificate.privateKeyPem!) : null,
      certificate ? Buffer.from(certificate.chainPem) : null,
      { checkServerIdentity: () => undefined },
    );
    return new contentV1.ContentServiceClient(address(content), credentials);
  };

  beforeAll(async () => {
    assertBuilt();
    // The CA is backdated a week, so it can also issue a certificate that has already expired.
    bench = await createTestBench({
      trustDomain: TD,
      caNotBefore: new Date(Date.now() - 7 * 86_400_000),
    });
    for (const name of ['identity-service', 'user-service', 'content-service'])
      serials.set(name, (await bench.issue(name, `svc/${name}`)).serialNumber);
    for (const name of ['web', 'admin', 'intruder']) await bench.issue(name, `client/${name}`);

    // Operators bootstrap users and sessions as client/admin: identity-service and user-service
    // run with SIGIL_AUTHZ_POLICY files that add that caller to their defaults; content-service
    // runs with its default policy (client/web only).
    const identityPolicy = bench.writePolicy('identity-policy.yaml', [
      {
        methods: ['sigil.identity.v1.IdentityService/*'],
        callers: [`spiffe://${TD}/svc/user-service`],
      },
      {
        methods: ['sigil.identity.v1.IdentityService/IssueToken'],
        callers: [`spiffe://${TD}/client/admin`],
      },
    ]);
    const userPolicy = bench.writePolicy('user-policy.yaml', [
      { methods: ['sigil.user.v1.UserService/*'], callers: [`spiffe://${TD}/svc/content-service`] },
      {
        methods: ['sigil.user.v1.UserService/CreateUser'],
        callers: [`spiffe://${TD}/client/admin`],
      },
    ]);
    identity = await startServiceProcess(
      'identity-service',
      bench.serviceEnv('identity-service', { SIGIL_AUTHZ_POLICY: identityPolicy }),
    );
    users = await startServiceProcess(
      'user-service',
      bench.serviceEnv('user-service', {
        SIGIL_AUTHZ_POLICY: userPolicy,
        IDENTITY_SERVICE_ADDR: address(identity),
      }),
    );
    content = await startServiceProcess(
      'content-service',
      bench.serviceEnv('content-service', { USER_SERVICE_ADDR: address(users) }),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all([
      stopServiceProcess(content),
      stopServiceProcess(users),
      stopServiceProcess(identity),
    ]);
    await bench?.cleanup();
  }, 30_000);

  let ada: userV1.User;
  let adaToken: string;

  it('runs the chain: client -> content-service -> user-service -> identity-service', async () => {
    const adminUsers = await bench.connect(
      userV1.UserServiceClient,
      'admin',
      address(users),
      'user-service',
    );
    const adminIdentity = await bench.connect(
      identityV1.IdentityServiceClient,
      'admin',
      address(identity),
      'identity-service',
    );
    const web = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      address(content),
      'content-service',
    );

    ada = await adminUsers.call(
      'createUser',
      { tenantId: 'acme', displayName: 'Ada Lovelace', email: 'ada@acme.test' },
      all,
    );
    adaToken = (
      await adminIdentity.call(
        'issueToken',
        { userId: ada.id, tenantId: 'acme', ttlSeconds: 600 },
        all,
      )
    ).token;

    const post = await web.call(
      'createPost',
      { authorId: ada.id, sessionToken: adaToken, title: 'Hello', body: 'over mTLS' },
      all,
    );
    expect(post).toMatchObject({
      authorId: ada.id,
      authorName: 'Ada Lovelace',
      title: 'Hello',
      sequence: 1,
    });
    await expect(
      web.call('getPost', { id: post.id, sessionToken: adaToken }, all),
    ).resolves.toEqual(post);

    // The session token is checked by identity-service, two hops away.
    await expect(
      web.call(
        'createPost',
        { authorId: ada.id, sessionToken: 'sgt_forged', title: 'x', body: '' },
        all,
      ),
    ).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    // Every hop logged the caller's SPIFFE ID.
    await users!.next(
      (e) => e.event === 'grpc.request' && e.spiffeId === `spiffe://${TD}/svc/content-service`,
    );
    await identity!.next(
      (e) => e.event === 'grpc.request' && e.spiffeId === `spiffe://${TD}/svc/user-service`,
    );
  });

  it('keeps tenant globex out of tenant acme by every RPC of the three services', async () => {
    const adminUsers = await bench.connect(
      userV1.UserServiceClient,
      'admin',
      address(users),
      'user-service',
    );
    const adminIdentity = await bench.connect(
      identityV1.IdentityServiceClient,
      'admin',
      address(identity),
      'identity-service',
    );
    const web = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      address(content),
      'content-service',
    );
    // The services' own identities, one hop down, as a compromised or buggy upstream would call.
    const contentToUsers = await bench.connect(
      userV1.UserServiceClient,
      'content-service',
      address(users),
      'user-service',
    );
    const usersToIdentity = await bench.connect(
      identityV1.IdentityServiceClient,
      'user-service',
      address(identity),
      'identity-service',
    );
    const eve = await adminUsers.call(
      'createUser',
      { tenantId: 'globex', displayName: 'Eve', email: 'eve@globex.test' },
      all,
    );
    const eveToken = (
      await adminIdentity.call(
        'issueToken',
        { userId: eve.id, tenantId: 'globex', ttlSeconds: 600 },
        all,
      )
    ).token;
    const acmePost = await web.call(
      'createPost',
      { authorId: ada.id, sessionToken: adaToken, title: 'acme secret', body: 'for acme' },
      all,
    );
    expect(acmePost.tenantId).toBe('acme');
    const denied = (code: grpc.status) => expect.objectContaining({ code });
    const covered: Record<string, string[]> = { content: [], user: [], identity: [] };

    // ContentService, as client/web with Eve's session.
    covered.content!.push('createPost', 'getPost', 'listPosts', 'watchPosts');
    await expect(
      web.call(
        'createPost',
        { authorId: ada.id, sessionToken: eveToken, title: 'as ada', body: '' },
        all,
      ),
    ).rejects.toEqual(denied(grpc.status.PERMISSION_DENIED));
    await expect(
      web.call('getPost', { id: acmePost.id, sessionToken: eveToken }, all),
    ).rejects.toEqual(denied(grpc.status.NOT_FOUND));
    for (const authorId of ['', ada.id]) {
      const page = await web.call(
        'listPosts',
        { authorId, pageSize: 100, pageToken: '', sessionToken: eveToken },
        all,
      );
      expect(page.posts.filter((p) => p.tenantId !== 'globex')).toEqual([]);
    }
    const watch = web.client.watchPosts({ backlog: 100, sessionToken: eveToken });
    const watched: contentV1.Post[] = [];
    watch.on('data', (p: contentV1.Post) => watched.push(p));
    watch.on('error', () => undefined);
    await web.call(
      'createPost',
      { authorId: '', sessionToken: adaToken, title: 'acme, live', body: '' },
      all,
    );
    const evePost = await web.call(
      'createPost',
      { authorId: '', sessionToken: eveToken, title: 'globex, live', body: '' },
      all,
    );
    await waitFor('the globex post on the globex watch', () =>
      watched.some((p) => p.id === evePost.id) ? true : undefined,
    );
    watch.cancel();
    expect(watched.map((p) => p.tenantId)).toEqual(['globex']);

    // UserService, as content-service (its only caller) with Eve's session.
    covered.user!.push('createUser', 'getUser', 'listUsers');
    await expect(
      contentToUsers.call('getUser', { id: ada.id, sessionToken: eveToken }, all),
    ).rejects.toEqual(denied(grpc.status.NOT_FOUND));
    await expect(
      contentToUsers.call(
        'listUsers',
        { tenantId: 'acme', pageSize: 100, pageToken: '', sessionToken: eveToken },
        all,
      ),
    ).rejects.toEqual(denied(grpc.status.PERMISSION_DENIED));
    const globexUsers = await contentToUsers.call(
      'listUsers',
      { tenantId: '', pageSize: 100, pageToken: '', sessionToken: eveToken },
      all,
    );
    expect(globexUsers.users.map((u) => u.id)).toEqual([eve.id]);
    // CreateUser reads nothing back but the user it creates (an email taken in acme is not
    // revealed either: the same address is free in globex).
    await expect(
      contentToUsers.call(
        'createUser',
        { tenantId: 'globex', displayName: 'Ada again', email: 'ada@acme.test' },
        all,
      ),
    ).resolves.toMatchObject({ tenantId: 'globex', displayName: 'Ada again' });

    // IdentityService, as user-service: a token says only its own tenant. IssueToken mints
    // sessions for any tenant, so the policy keeps it to the operator and trusted services.
    covered.identity!.push('issueToken', 'validateToken');
    await expect(
      usersToIdentity.call('validateToken', { token: eveToken }, all),
    ).resolves.toMatchObject({ valid: true, userId: eve.id, tenantId: 'globex' });
    // client/web (where tenant sessions come from) reaches neither service directly.
    const webToIdentity = await bench.connect(
      identityV1.IdentityServiceClient,
      'web',
      address(identity),
      'identity-service',
    );
    await expect(
      webToIdentity.call('issueToken', { userId: ada.id, tenantId: 'acme', ttlSeconds: 600 }, all),
    ).rejects.toEqual(denied(grpc.status.PERMISSION_DENIED));

    // Every RPC of the three services was tried: a new one fails here until it is covered.
    expect({
      content: Object.keys(contentV1.ContentServiceService).sort(),
      user: Object.keys(userV1.UserServiceService).sort(),
      identity: Object.keys(identityV1.IdentityServiceService).sort(),
    }).toEqual({
      content: covered.content!.sort(),
      user: covered.user!.sort(),
      identity: covered.identity!.sort(),
    });
  });

  describe('refuses callers', () => {
    const getPost = (stub: contentV1.ContentServiceClient): Promise<contentV1.Post> =>
      new Promise((resolve, reject) =>
        stub.getPost(
          { id: 'post_x', sessionToken: '' },
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );

    // The client only sees a failed connection (the TLS 1.3 alert when it sent no certificate);
    // the server's handshake-error counter says why it refused.
    const refusedAtHandshake = async (
      stub: contentV1.ContentServiceClient,
      reason: string,
      details = /^No connection established/,
    ): Promise<void> => {
      const labels = { side: 'server', reason };
      const before = await readMetric(
        content!.metricsUrl,
        'grpc_tls_handshake_errors_total',
        labels,
      );
      try {
        await expect(getPost(stub)).rejects.toMatchObject({
          code: grpc.status.UNAVAILABLE,
          details: expect.stringMatching(details),
        });
      } finally {
        stub.close();
      }
      await waitFor(`a ${reason} handshake failure on content-service`, async () =>
        (await readMetric(content!.metricsUrl, 'grpc_tls_handshake_errors_total', labels)) > before
          ? true
          : undefined,
      );
    };

    it('without a certificate', async () => {
      await refusedAtHandshake(
        foreignContentClient(),
        'no_client_certificate',
        /alert certificate required/,
      );
    });

    it('with a certificate from another CA (same SPIFFE ID)', async () => {
      const otherCa = await createCertificateAuthority({ trustDomain: TD });
      const impostor = await otherCa.issue({
        spiffeId: `spiffe://${TD}/client/web`,
        profile: 'svid',
      });
      await refusedAtHandshake(foreignContentClient(impostor), 'untrusted_certificate');
    });

    it('with an expired certificate from our CA', async () => {
      const expired = await bench.ca.issue({
        spiffeId: `spiffe://${TD}/client/web`,
        profile: 'svid',
        now: new Date(Date.now() - 48 * 3600_000),
        ttlSeconds: 3600,
      });
      expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
      await refusedAtHandshake(foreignContentClient(expired), 'expired_certificate');
    });

    it('with a valid identity the policy does not allow (PERMISSION_DENIED naming it)', async () => {
      const intruder = await bench.connect(
        contentV1.ContentServiceClient,
        'intruder',
        address(content),
        'content-service',
      );
      await expect(
        intruder.call('getPost', { id: 'post_x', sessionToken: '' }, all),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringContaining(`spiffe://${TD}/client/intruder`),
      });
      // client/web may call content-service, but not user-service directly.
      const webToUsers = await bench.connect(
        userV1.UserServiceClient,
        'web',
        address(users),
        'user-service',
      );
      await expect(
        webToUsers.call('getUser', { id: '', sessionToken: adaToken }, all),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringContaining(`spiffe://${TD}/client/web`),
      });
      expect(
        await readMetric(content!.metricsUrl, 'sigil_authz_denied_total', {
          grpc_method: 'GetPost',
        }),
      ).toBeGreaterThanOrEqual(1);
    });
  });

  it('rotates content-service certificate mid-stream without dropping a post; new connections get the new serial', async () => {
    const web = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      address(content),
      'content-service',
    );
    const create = (title: string) =>
      web.call('createPost', { authorId: ada.id, sessionToken: adaToken, title, body: '' }, all);
    const first = await create('before the stream');

    const stream = web.client.watchPosts({ backlog: 1, sessionToken: adaToken });
    const sequences: number[] = [];
    let streamError: unknown;
    stream.on('data', (post: contentV1.Post) => sequences.push(post.sequence));
    stream.on('error', (err) => (streamError = err));
    await waitFor('the backlog post on the stream', async () =>
      sequences.length === 1 ? true : undefined,
    );

    const oldSerial = await servedSerial(content!.port, bench.files('web'));
    expect(oldSerial).toBe(normalizeSerial(serials.get('content-service')!));
    for (const title of ['during 1', 'during 2']) await create(title);

    // Key then certificate, each renamed into place: what a renewal writes.
    const renewed = await bench.issue('content-service', 'svc/content-service');
    expect(renewed.serialNumber).not.toBe(serials.get('content-service'));
    await create('during 3');
    await waitFor('the rotation to be applied', async () =>
      (await readMetric(content!.metricsUrl, 'grpc_tls_rotations_total', {
        side: 'server',
        result: 'applied',
      })) >= 1
        ? true
        : undefined,
    );
    for (const title of ['after 1', 'after 2', 'after 3']) await create(title);

    expect(await servedSerial(content!.port, bench.files('web'))).toBe(
      normalizeSerial(renewed.serialNumber),
    );
    const expected = Array.from({ length: 7 }, (_, i) => first.sequence + i);
    await waitFor('every post on the stream', async () =>
      sequences.length === expected.length ? true : undefined,
    );
    expect(sequences).toEqual(expected);
    expect(streamError).toBeUndefined();

    // A brand-new client (new connection, new handshake) works against the rotated certificate.
    const fresh = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      address(content),
      'content-service',
    );
    await expect(
      fresh.call('getPost', { id: first.id, sessionToken: adaToken }, all),
    ).resolves.toMatchObject({
      sequence: first.sequence,
    });
    stream.cancel();
  });

  it('drains on SIGTERM: the in-flight call completes, watchers end cleanly, exit code 0', async () => {
    const web = await bench.connect(
      contentV1.ContentServiceClient,
      'web',
      address(content),
      'content-service',
    );
    await web
      .call('getPost', { id: 'warm-up', sessionToken: adaToken }, all)
      .catch(() => undefined);
    const stream = web.client.watchPosts({ backlog: 1, sessionToken: adaToken });
    await new Promise((resolve) => stream.once('data', resolve));
    const streamStatus = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);

    const createdLabels = { grpc_method: 'CreatePost', grpc_code: 'OK' };
    const startedLabels = { grpc_method: 'CreatePost' };
    const startedBefore = await readMetric(
      content!.metricsUrl,
      'grpc_server_started_total',
      startedLabels,
    );

    // Freeze identity-service so the call hangs two hops down, in flight in content-service.
    identity!.child.kill('SIGSTOP');
    try {
      const inFlight = web.call(
        'createPost',
        { authorId: ada.id, sessionToken: adaToken, title: 'in flight at SIGTERM', body: '' },
        all,
      );
      await waitFor('CreatePost to be in flight', async () =>
        (await readMetric(content!.metricsUrl, 'grpc_server_started_total', startedLabels)) >
        startedBefore
          ? true
          : undefined,
      );
      const handledBefore = await readMetric(
        content!.metricsUrl,
        'grpc_server_handled_total',
        createdLabels,
      );
      content!.child.kill('SIGTERM');
      await waitFor('content-service to report not ready', async () =>
        (await fetch(`${content!.metricsUrl}/readyz`)).status === 503 ? true : undefined,
      );
      expect(
        await readMetric(content!.metricsUrl, 'grpc_server_handled_total', createdLabels),
      ).toBe(handledBefore);
      identity!.child.kill('SIGCONT');
      await expect(inFlight).resolves.toMatchObject({
        title: 'in flight at SIGTERM',
        authorName: 'Ada Lovelace',
      });
    } finally {
      identity!.child.kill('SIGCONT');
    }
    await expect(streamStatus).resolves.toMatchObject({ code: grpc.status.OK });
    await expect(content!.exited).resolves.toEqual({ code: 0, signal: null });
    expect(content!.records.map((e) => e.event)).toEqual(
      expect.arrayContaining(['shutdown.started', 'service.stopped', 'shutdown.completed']),
    );
    expect(content!.records.find((e) => e.event === 'service.stopped')).toMatchObject({
      drained: true,
    });
  });
});

/** The serial number a new TLS connection to 127.0.0.1:port is served, as mutual-TLS client `files`. */
async function servedSerial(port: number, files: IdentityFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(files.ca),
      cert: readFileSync(files.certificate),
      key: readFileSync(files.privateKey),
      ALPNProtocols: ['h2'],
      // SVIDs carry a SPIFFE ID, not a host name; this probe only reads the serial.
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => {
      resolve(normalizeSerial(socket.getPeerCertificate().serialNumber));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}
