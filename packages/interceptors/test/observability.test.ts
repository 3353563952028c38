// Request logging, request metrics and the standard chain (createServerInterceptors) over mTLS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  createLoggingInterceptor,
  createMetricsInterceptor,
  createServerInterceptors,
  loadAuthorizationPolicy,
} from '@sigil/interceptors';
import type { ServerInterceptorsOptions } from '@sigil/interceptors';
import {
  createMemoryLogger,
  EchoClient,
  failure,
  HealthClient,
  startEchoServer,
  unary,
} from '@sigil/testing';
import type { EchoHandlers, MemoryLogger, RunningEchoServer } from '@sigil/testing';
import { AUDIENCE, ISSUER, createTokenIssuer, bearer } from './helpers/jwt';
import type { TokenIssuer } from './helpers/jwt';
import { CLIENT_OPTIONS, createTestPki, TRUST_DOMAIN } from './helpers/tls';
import type { TestPki } from './helpers/tls';

const ALLOWED = `spiffe://${TRUST_DOMAIN}/svc/user-service`;
const INTRUDER = `spiffe://${TRUST_DOMAIN}/svc/intruder`;
const policy = loadAuthorizationPolicy(
  {
    rules: [{ name: 'user-service', methods: ['sigil.test.v1.EchoService/*'], callers: [ALLOWED] }],
  },
  { source: 'test' },
);

const handlers: EchoHandlers = {
  echo: (_call, callback) => callback(null, { ok: true }),
  admin: (_call, callback) => callback({ code: grpc.status.INTERNAL, details: 'database is down' }),
};

/** Values of a metric as { "label=value,...": value } without grpc_service; histograms give their _count. */
async function metricValues(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)!.get();
  const values = metric.values as ((typeof metric.values)[number] & { metricName?: string })[];
  return Object.fromEntries(
    values
      .filter((v) => v.metricName === undefined || v.metricName === `${name}_count`)
      .map((v) => [
        Object.entries(v.labels)
          .filter(([k]) => k !== 'grpc_service')
          .map(([k, val]) => `${k}=${String(val)}`)
          .join(','),
        v.value,
      ]),
  );
}

describe('request logging and metrics', () => {
  let pki: TestPki;
  let issuer: TokenIssuer;
  let dir: string;
  const servers: RunningEchoServer[] = [];
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
    issuer = await createTokenIssuer();
    dir = mkdtempSync(join(tmpdir(), 'sigil-observability-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(
    options: Partial<ServerInterceptorsOptions> & { extraHandlers?: EchoHandlers } = {},
  ) {
    const logs = createMemoryLogger();
    const registry = new Registry();
    const server = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: createServerInterceptors({ policy, logger: logs.logger, registry, ...options }),
      handlers: { ...handlers, ...options.extraHandlers },
    });
    servers.push(server);
    return { server, logs, registry };
  }

  async function client<C extends grpc.Client>(
    server: RunningEchoServer,
    spiffeId: string,
    Ctor: new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => C,
  ): Promise<C> {
    const c = new Ctor(server.address, await pki.clientCredentials({ spiffeId }), CLIENT_OPTIONS);
    clients.push(c);
    return c;
  }

  const requests = (logs: MemoryLogger) => logs.records.filter((r) => r.event === 'grpc.request');

  it('logs one grpc.request event per call with identity, method, status and latency', async () => {
    const { server, logs } = await serve();
    await unary(await client(server, ALLOWED, EchoClient), 'echo');
    const [record, ...rest] = requests(logs);
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      level: 30,
      event: 'grpc.request',
      method: 'sigil.test.v1.EchoService/Echo',
      status: 'OK',
      code: 0,
      spiffeId: ALLOWED,
      peerAddress: expect.stringContaining('127.0.0.1'),
      durationMs: expect.any(Number),
    });
    expect(record!.details).toBeUndefined();
  });

  it('logs refusals at warn, server faults at error, health checks at debug', async () => {
    const { server, logs } = await serve();
    await failure(unary(await client(server, INTRUDER, EchoClient), 'echo'));
    await failure(unary(await client(server, ALLOWED, EchoClient), 'admin'));
    await unary(await client(server, ALLOWED, HealthClient), 'check');
    expect(requests(logs).map((r) => [r.level, r.method, r.status, r.spiffeId, r.details])).toEqual(
      [
        [
          40,
          'sigil.test.v1.EchoService/Echo',
          'PERMISSION_DENIED',
          INTRUDER,
          `caller ${INTRUDER} is not allowed to call sigil.test.v1.EchoService/Echo`,
        ],
        [50, 'sigil.test.v1.EchoService/Admin', 'INTERNAL', ALLOWED, 'database is down'],
        [20, 'grpc.health.v1.Health/Check', 'OK', ALLOWED, undefined],
      ],
    );
  });

  it('counts started and handled calls by code, and observes latency', async () => {
    const { server, registry } = await serve();
    const allowed = await client(server, ALLOWED, EchoClient);
    await unary(allowed, 'echo');
    await unary(allowed, 'echo');
    await failure(unary(allowed, 'admin'));
    await failure(unary(await client(server, INTRUDER, EchoClient), 'echo'));
    expect(await metricValues(registry, 'grpc_server_started_total')).toEqual({
      'grpc_type=unary,grpc_method=Echo': 3,
      'grpc_type=unary,grpc_method=Admin': 1,
    });
    expect(await metricValues(registry, 'grpc_server_handled_total')).toEqual({
      'grpc_type=unary,grpc_method=Echo,grpc_code=OK': 2,
      'grpc_type=unary,grpc_method=Admin,grpc_code=Internal': 1,
      'grpc_type=unary,grpc_method=Echo,grpc_code=PermissionDenied': 1,
    });
    expect(await metricValues(registry, 'grpc_server_handling_seconds')).toMatchObject({
      'grpc_type=unary,grpc_method=Echo': 3,
      'grpc_type=unary,grpc_method=Admin': 1,
    });
    expect(await metricValues(registry, 'sigil_authz_denied_total')).toEqual({
      'grpc_method=Echo,reason=no-matching-rule': 1,
    });
  });

  it('records a call the client cancels as CANCELLED', async () => {
    let reached!: () => void;
    const handlerRan = new Promise<void>((resolve) => (reached = resolve));
    const { server, logs, registry } = await serve({ extraHandlers: { echo: () => reached() } });
    const c = await client(server, ALLOWED, EchoClient);
    const call = (
      c as unknown as {
        echo(r: object, cb: (e: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
      }
    ).echo({}, () => undefined);
    await handlerRan;
    call.cancel();
    const record = await logs.next((r) => r.event === 'grpc.request');
    expect(record).toMatchObject({ status: 'CANCELLED', level: 40, spiffeId: ALLOWED });
    expect(await metricValues(registry, 'grpc_server_handled_total')).toEqual({
      'grpc_type=unary,grpc_method=Echo,grpc_code=Canceled': 1,
    });
  });

  it('records a call that runs past its deadline as DEADLINE_EXCEEDED', async () => {
    const { server, logs, registry } = await serve({ extraHandlers: { echo: () => undefined } });
    // The deadline travels only as grpc-timeout, so the server's timer (not a client cancel) ends the call.
    const metadata = new grpc.Metadata();
    metadata.set('grpc-timeout', '100m');
    const err = await failure(
      unary(await client(server, ALLOWED, EchoClient), 'echo', {}, metadata),
    );
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await logs.next((r) => r.event === 'grpc.request')).toMatchObject({
      status: 'DEADLINE_EXCEEDED',
      spiffeId: ALLOWED,
    });
    expect(await metricValues(registry, 'grpc_server_handled_total')).toEqual({
      'grpc_type=unary,grpc_method=Echo,grpc_code=DeadlineExceeded': 1,
    });
  });

  it('logging and metrics interceptors work on their own', async () => {
    const logs = createMemoryLogger();
    const registry = new Registry();
    const server = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: [
        createLoggingInterceptor({ logger: logs.logger }),
        createMetricsInterceptor({ registry }),
      ],
    });
    servers.push(server);
    await unary(await client(server, INTRUDER, EchoClient), 'echo');
    expect(requests(logs)[0]).toMatchObject({ status: 'OK', spiffeId: INTRUDER });
    expect(await metricValues(registry, 'grpc_server_handled_total')).toEqual({
      'grpc_type=unary,grpc_method=Echo,grpc_code=OK': 1,
    });
  });

  it('shares one registry between two chains without a duplicate-metric error', async () => {
    const registry = new Registry();
    const logger = createMemoryLogger().logger;
    createServerInterceptors({ policy, logger, registry });
    expect(() => createServerInterceptors({ policy, logger, registry })).not.toThrow();
    expect(registry.getSingleMetric('grpc_server_handled_total')).toBeDefined();
  });

  it('leaves out request logging or metrics when asked', async () => {
    const { server, logs, registry } = await serve({
      requestLogging: false,
      requestMetrics: false,
    });
    await unary(await client(server, ALLOWED, EchoClient), 'echo');
    await failure(unary(await client(server, INTRUDER, EchoClient), 'echo'));
    expect(requests(logs)).toEqual([]);
    expect(registry.getSingleMetric('grpc_server_handled_total')).toBeUndefined();
    // Authorization still logs and counts its denials.
    expect(logs.records.filter((r) => r.event === 'authz.denied')).toHaveLength(1);
    expect(await metricValues(registry, 'sigil_authz_denied_total')).toEqual({
      'grpc_method=Echo,reason=no-matching-rule': 1,
    });
  });

  describe('the standard chain with JWT', () => {
    it('runs JWT before authorization, and logs and counts both kinds of refusal', async () => {
      const { server, logs, registry } = await serve({
        jwt: { jwks: { file: issuer.writeJwks(dir) }, issuer: ISSUER, audience: AUDIENCE },
      });
      const token = await issuer.sign({ sub: 'user-1' });
      const intruder = await client(server, INTRUDER, EchoClient);
      // No token: refused by JWT verification even though authorization would refuse too.
      expect((await failure(unary(intruder, 'echo'))).code).toBe(grpc.status.UNAUTHENTICATED);
      // Valid token, identity not allowed: authorization refuses.
      expect((await failure(unary(intruder, 'echo', {}, bearer(token)))).code).toBe(
        grpc.status.PERMISSION_DENIED,
      );
      await expect(
        unary(await client(server, ALLOWED, EchoClient), 'echo', {}, bearer(token)),
      ).resolves.toEqual({ ok: true });
      expect(requests(logs).map((r) => [r.status, r.spiffeId, typeof r.tokenHash])).toEqual([
        ['UNAUTHENTICATED', INTRUDER, 'undefined'],
        ['PERMISSION_DENIED', INTRUDER, 'string'],
        ['OK', ALLOWED, 'string'],
      ]);
      expect(await metricValues(registry, 'grpc_server_handled_total')).toEqual({
        'grpc_type=unary,grpc_method=Echo,grpc_code=Unauthenticated': 1,
        'grpc_type=unary,grpc_method=Echo,grpc_code=PermissionDenied': 1,
        'grpc_type=unary,grpc_method=Echo,grpc_code=OK': 1,
      });
    });
  });
});
