// Peer identity and authorization over real mTLS on loopback.
import { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  authorizationPolicyFromEnv,
  createAuthorizationInterceptor,
  createIdentityInterceptor,
  getPeerIdentity,
  loadAuthorizationPolicy,
} from '@sigil/interceptors';
import type { AuthorizationPolicyDocument, PeerIdentity } from '@sigil/interceptors';
import {
  createMemoryLogger,
  EchoClient,
  failure,
  HealthClient,
  startEchoServer,
  unary,
} from '@sigil/testing';
import type { Json, MemoryLogger, RunningEchoServer } from '@sigil/testing';
import { CLIENT_OPTIONS, createTestPki, TRUST_DOMAIN } from './helpers/tls';
import type { TestPki } from './helpers/tls';

const USER_SERVICE = `spiffe://${TRUST_DOMAIN}/svc/user-service`;
const INTRUDER = `spiffe://${TRUST_DOMAIN}/svc/intruder`;

const POLICY: AuthorizationPolicyDocument = {
  rules: [
    {
      name: 'user-service-echo',
      methods: ['sigil.test.v1.EchoService/Echo', 'sigil.test.v1.EchoService/Chat'],
      callers: [USER_SERVICE],
    },
    {
      name: 'team',
      methods: ['sigil.test.v1.EchoService/*'],
      callers: [`spiffe://${TRUST_DOMAIN}/team/*`],
    },
  ],
};

describe('identity and authorization over mTLS', () => {
  let pki: TestPki;
  const servers: RunningEchoServer[] = [];
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(options: {
    document?: AuthorizationPolicyDocument;
    requireClientCert?: boolean;
    logs?: MemoryLogger;
    registry?: Registry;
    handlers?: Parameters<typeof startEchoServer>[0]['handlers'];
  }) {
    const logs = options.logs ?? createMemoryLogger();
    const interceptors = [
      createIdentityInterceptor(),
      createAuthorizationInterceptor({
        policy: loadAuthorizationPolicy(options.document ?? POLICY, { source: 'test policy' }),
        logger: logs.logger,
        registry: options.registry ?? new Registry(),
      }),
    ];
    const server = await startEchoServer({
      credentials: pki.serverCredentials({ requireClientCert: options.requireClientCert ?? true }),
      interceptors,
      ...(options.handlers === undefined ? {} : { handlers: options.handlers }),
    });
    servers.push(server);
    return server;
  }

  async function client<C extends grpc.Client>(
    Ctor: new (
      address: string,
      credentials: grpc.ChannelCredentials,
      options: grpc.ChannelOptions,
    ) => C,
    server: RunningEchoServer,
    spiffeId: string | null | { commonName: string; dnsNames: string[] },
  ): Promise<C> {
    const credentials = await pki.clientCredentials(
      spiffeId === null ? null : typeof spiffeId === 'string' ? { spiffeId } : spiffeId,
    );
    const c = new Ctor(server.address, credentials, CLIENT_OPTIONS);
    clients.push(c);
    return c;
  }

  it('gives handlers the caller identity from the verified client certificate', async () => {
    let seen: PeerIdentity | undefined;
    const server = await serve({
      handlers: {
        echo: (call, callback) => {
          seen = getPeerIdentity(call);
          callback(null, {});
        },
      },
    });
    await unary(await client(EchoClient, server, USER_SERVICE), 'echo');
    expect(seen).toMatchObject({
      spiffeId: USER_SERVICE,
      trustDomain: TRUST_DOMAIN,
      uris: [USER_SERVICE],
      dnsNames: [],
    });
    expect(seen!.fingerprint).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  });

  it('gives handlers the identity without any interceptor too', async () => {
    let seen: PeerIdentity | undefined;
    const server = await startEchoServer({
      credentials: pki.serverCredentials(),
      handlers: {
        echo: (call, callback) => {
          seen = getPeerIdentity(call);
          callback(null, {});
        },
      },
    });
    servers.push(server);
    await unary(await client(EchoClient, server, USER_SERVICE), 'echo');
    expect(seen?.spiffeId).toBe(USER_SERVICE);
  });

  it('reads the peer certificate once per connection, not once per call', async () => {
    const spy = jest.spyOn(TLSSocket.prototype, 'getPeerCertificate');
    try {
      const seen: (string | undefined)[] = [];
      const server = await serve({
        handlers: {
          echo: (call, callback) => {
            seen.push(getPeerIdentity(call)?.spiffeId);
            callback(null, {});
          },
        },
      });
      const first = await client(EchoClient, server, USER_SERVICE);
      const second = await client(EchoClient, server, `spiffe://${TRUST_DOMAIN}/team/bob`);
      for (let i = 0; i < 3; i += 1)
        await Promise.all([unary(first, 'echo'), unary(second, 'echo')]);
      const serverPort = Number(server.address.split(':')[1]);
      const serverSideReads = spy.mock.contexts.filter(
        (socket) => (socket as TLSSocket).localPort === serverPort,
      ).length;
      expect(serverSideReads).toBe(2);
      expect(seen.filter((id) => id === USER_SERVICE)).toHaveLength(3);
      expect(seen.filter((id) => id === `spiffe://${TRUST_DOMAIN}/team/bob`)).toHaveLength(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('lets an allowed caller through, unary and streaming', async () => {
    const server = await serve({});
    const c = await client(EchoClient, server, USER_SERVICE);
    await expect(unary(c, 'echo', { hello: 1 })).resolves.toEqual({ hello: 1 });
    const chat = (c as unknown as { chat(): grpc.ClientDuplexStream<Json, Json> }).chat();
    const replies: Json[] = [];
    chat.on('data', (m: Json) => replies.push(m));
    chat.write({ n: 1 });
    chat.end();
    await new Promise<void>((resolve, reject) =>
      chat.on('status', (s: grpc.StatusObject) =>
        s.code === grpc.status.OK ? resolve() : reject(new Error(s.details)),
      ),
    );
    expect(replies).toEqual([{ n: 1 }]);
  });

  it('refuses a disallowed SPIFFE ID with PERMISSION_DENIED naming it, before the handler runs; logs and counts it', async () => {
    const logs = createMemoryLogger();
    const registry = new Registry();
    let handled = 0;
    const server = await serve({
      logs,
      registry,
      handlers: {
        echo: (_call, callback) => {
          handled += 1;
          callback(null, {});
        },
      },
    });
    const err = await failure(unary(await client(EchoClient, server, INTRUDER), 'echo'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe(
      `caller ${INTRUDER} is not allowed to call sigil.test.v1.EchoService/Echo`,
    );
    expect(handled).toBe(0);
    expect(logs.records.find((r) => r.event === 'authz.denied')).toMatchObject({
      level: 40,
      spiffeId: INTRUDER,
      method: 'sigil.test.v1.EchoService/Echo',
      reason: 'no-matching-rule',
      policy: 'test policy',
    });
    const denied = await registry.getSingleMetric('sigil_authz_denied_total')!.get();
    expect(denied.values).toEqual([
      {
        value: 1,
        labels: {
          grpc_service: 'sigil.test.v1.EchoService',
          grpc_method: 'Echo',
          reason: 'no-matching-rule',
        },
      },
    ]);
  });

  it('refuses a streaming call from a disallowed caller', async () => {
    const server = await serve({});
    const chat = (
      (await client(EchoClient, server, INTRUDER)) as unknown as {
        chat(): grpc.ClientDuplexStream<Json, Json>;
      }
    ).chat();
    chat.on('data', () => undefined);
    chat.on('error', () => undefined);
    const status = await new Promise<grpc.StatusObject>((resolve) => chat.on('status', resolve));
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toContain(INTRUDER);
  });

  it('denies an allowed caller on a method no rule covers', async () => {
    const server = await serve({});
    const err = await failure(unary(await client(EchoClient, server, USER_SERVICE), 'admin'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe(
      `caller ${USER_SERVICE} is not allowed to call sigil.test.v1.EchoService/Admin`,
    );
  });

  it('applies prefix rules', async () => {
    const server = await serve({});
    await expect(
      unary(await client(EchoClient, server, `spiffe://${TRUST_DOMAIN}/team/alice`), 'admin'),
    ).resolves.toEqual({ ok: true });
    expect(
      (
        await failure(
          unary(await client(EchoClient, server, `spiffe://${TRUST_DOMAIN}/teams/alice`), 'admin'),
        )
      ).code,
    ).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('refuses a caller that presented no client certificate with UNAUTHENTICATED', async () => {
    const logs = createMemoryLogger();
    const server = await serve({ requireClientCert: false, logs });
    const err = await failure(unary(await client(EchoClient, server, null), 'echo'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe(
      'caller without a verified client certificate is not allowed to call sigil.test.v1.EchoService/Echo',
    );
    expect(logs.records.find((r) => r.event === 'authz.denied')).toMatchObject({
      reason: 'no-client-certificate',
    });
  });

  it('names the subject of a certificate without a SPIFFE ID', async () => {
    const server = await serve({});
    const err = await failure(
      unary(
        await client(EchoClient, server, {
          commonName: 'legacy-client',
          dnsNames: ['legacy.example.org'],
        }),
        'echo',
      ),
    );
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe(
      'caller certificate "CN=legacy-client" has no SPIFFE ID and is not allowed to call sigil.test.v1.EchoService/Echo',
    );
  });

  it('refuses a CA certificate as a caller even when its SPIFFE ID matches a rule', async () => {
    let seen: PeerIdentity | undefined;
    const logs = createMemoryLogger();
    const server = await serve({
      logs,
      handlers: {
        echo: (call, callback) => {
          seen = getPeerIdentity(call);
          callback(null, {});
        },
      },
    });
    const bob = `spiffe://${TRUST_DOMAIN}/team/bob`;
    await unary(await client(EchoClient, server, bob), 'echo');
    expect(seen?.spiffeId).toBe(bob);
    const forged = new EchoClient(
      server.address,
      pki.caCertificateCredentials(bob),
      CLIENT_OPTIONS,
    );
    clients.push(forged);
    const err = await failure(unary(forged, 'echo'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe(
      'caller certificate "CN=ca-as-workload" has no SPIFFE ID and is not allowed to call sigil.test.v1.EchoService/Echo',
    );
    expect(logs.records.find((r) => r.event === 'authz.denied')).toMatchObject({
      reason: 'no-spiffe-id',
    });
  });

  it('says once at start, naming SIGIL_AUTHZ_POLICY, that an empty policy denies every call', async () => {
    const logs = createMemoryLogger();
    const interceptors = [
      createIdentityInterceptor(),
      createAuthorizationInterceptor({
        policy: authorizationPolicyFromEnv({}),
        logger: logs.logger,
        registry: new Registry(),
      }),
    ];
    const warnings = () => logs.records.filter((r) => r.event === 'authz.policy-empty');
    expect(warnings()).toEqual([
      expect.objectContaining({
        level: 40,
        variable: 'SIGIL_AUTHZ_POLICY',
        msg: 'authorization policy "empty policy (SIGIL_AUTHZ_POLICY not set)" has no rules: every call except grpc.health.v1 is denied; to allow callers, set SIGIL_AUTHZ_POLICY to a policy file whose rules name them (rules: [{methods: [pkg.Service/*], callers: [spiffe://<trust-domain>/<caller>]}], see docs/authorization.md)',
      }),
    ]);
    const server = await startEchoServer({ credentials: pki.serverCredentials(), interceptors });
    servers.push(server);
    const c = await client(EchoClient, server, USER_SERVICE);
    for (let i = 0; i < 3; i += 1)
      expect((await failure(unary(c, 'echo'))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(warnings()).toHaveLength(1);
    const quiet = createMemoryLogger();
    createAuthorizationInterceptor({
      policy: loadAuthorizationPolicy(POLICY),
      logger: quiet.logger,
      registry: new Registry(),
    });
    expect(quiet.records).toEqual([]);
  });

  it('leaves grpc.health.v1 open by default, even to callers the policy does not know', async () => {
    const server = await serve({ requireClientCert: false });
    await expect(unary(await client(HealthClient, server, null), 'check')).resolves.toEqual({
      status: 'SERVING',
    });
    await expect(unary(await client(HealthClient, server, INTRUDER), 'check')).resolves.toEqual({
      status: 'SERVING',
    });
  });

  it('closes grpc.health.v1 when the policy restricts it', async () => {
    const server = await serve({
      document: {
        health: 'restricted',
        rules: [
          {
            name: 'probe',
            methods: ['grpc.health.v1.Health/Check'],
            callers: [`spiffe://${TRUST_DOMAIN}/probe`],
          },
        ],
      },
    });
    const err = await failure(unary(await client(HealthClient, server, INTRUDER), 'check'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe(
      `caller ${INTRUDER} is not allowed to call grpc.health.v1.Health/Check`,
    );
    await expect(
      unary(await client(HealthClient, server, `spiffe://${TRUST_DOMAIN}/probe`), 'check'),
    ).resolves.toEqual({ status: 'SERVING' });
  });
});
