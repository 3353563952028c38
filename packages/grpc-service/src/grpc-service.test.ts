import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { createClientCredentials, loadClientTlsConfig } from '@sigil/grpc-tls';
import { isSigilError } from '@sigil/errors';
import { ECHO_SERVICE, ECHO_SERVICE_NAME, EchoClient, echoImplementation } from '@sigil/testing';
import { loadGrpcServiceConfig, type GrpcServiceConfig } from './grpc-service-config';
import { startGrpcService, type RunningGrpcService } from './grpc-service';
import { createHealthService } from './health';
import { identityEnv, type IdentityFiles } from './identity-files';
import { createTestBench, type TestBench } from './test-bench';
import type { Upstream } from './upstream';

type HealthClient = grpc.Client & {
  check(
    request: { service: string },
    callback: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): void;
};

describe('startGrpcService (real mTLS on loopback)', () => {
  const logger = pino({ level: 'silent' });
  let bench: TestBench;
  let policyTemplate: string;
  const pendingSlow: (() => void)[] = [];
  const drains: string[] = [];

  beforeAll(async () => {
    bench = await createTestBench();
    await bench.issue('echo-service', 'svc/echo-service');
    await bench.issue('caller', 'svc/caller');
    await bench.issue('stranger', 'svc/stranger');
    policyTemplate = join(bench.dir, 'echo-policy.yaml');
    writeFileSync(
      policyTemplate,
      "rules:\n  - name: caller\n    methods: ['sigil.test.v1.EchoService/*']\n    callers: ['spiffe://${trustDomain}/svc/caller']\n",
    );
  });
  afterAll(() => bench.cleanup());

  const serviceConfig = (env: Record<string, string> = {}): GrpcServiceConfig =>
    loadGrpcServiceConfig(bench.serviceEnv('echo-service', env), {
      name: 'echo-service',
      defaultPort: 0,
      defaultPolicyPath: policyTemplate,
    });

  const start = (config = serviceConfig()): Promise<RunningGrpcService> =>
    startGrpcService({
      config,
      logger,
      services: [
        {
          definition: ECHO_SERVICE,
          // Slow answers when the test calls the `release` it was handed.
          implementation: echoImplementation({
            slow: (call, callback) =>
              pendingSlow.push(() =>
                callback(null, { text: `slow ${String(call.request['text'])}` }),
              ),
          }),
        },
      ],
      onDrain: () => drains.push('drained'),
    });

  const connect = (running: RunningGrpcService, name: string): Promise<Upstream<EchoClient>> =>
    bench.connect(EchoClient, name, running.address, 'echo-service');

  describe('while serving', () => {
    let running: RunningGrpcService;
    let caller: Upstream<EchoClient>;
    let stranger: Upstream<EchoClient>;

    beforeAll(async () => {
      running = await start();
      caller = await connect(running, 'caller');
      stranger = await connect(running, 'stranger');
    });
    afterAll(async () => {
      await running.close();
    });

    it('binds the ephemeral port it reports', () => {
      expect(running.port).toBeGreaterThan(0);
      expect(running.address).toBe(`127.0.0.1:${running.port}`);
    });

    it('serves a caller the policy admits, over mutual TLS verified by SPIFFE ID', async () => {
      await expect(caller.call('echo', { text: 'hi' }, { passThrough: 'all' })).resolves.toEqual({
        text: 'hi',
      });
    });

    it('refuses a caller the policy does not admit with PERMISSION_DENIED naming it', async () => {
      await expect(
        stranger.call('echo', { text: 'hi' }, { passThrough: 'all' }),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringContaining('spiffe://sigil.test/svc/stranger'),
      });
    });

    it('serves grpc.health.v1 to any authenticated caller, per service', async () => {
      const health = createHealthService();
      const Client = grpc.makeGenericClientConstructor(
        health.definition,
        'Health',
      ) as unknown as new (...args: ConstructorParameters<typeof EchoClient>) => HealthClient;
      const client = new Client(
        running.address,
        (await connectCredentials(bench.files('stranger'))).credentials,
      );
      const check = (service: string) =>
        new Promise<{ status: string } | undefined>((resolve, reject) =>
          client.check({ service }, (err, res) => (err ? reject(err) : resolve(res))),
        );
      await expect(check('')).resolves.toEqual({ status: 'SERVING' });
      await expect(check(ECHO_SERVICE_NAME)).resolves.toEqual({ status: 'SERVING' });
      client.close();
    });

    it('exposes readiness and metrics (requests, denials, TLS) over HTTP', async () => {
      expect((await fetch(`${running.http.url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${running.http.url}/metrics`)).text();
      expect(metrics).toMatch(
        /grpc_server_handled_total\{[^}]*grpc_method="Echo"[^}]*grpc_code="OK"\} [1-9]/,
      );
      expect(metrics).toMatch(/sigil_authz_denied_total\{[^}]*\} [1-9]/);
      expect(metrics).toContain('grpc_tls_');
      expect(metrics).toContain('process_cpu_user_seconds_total');
    });
  });

  it('drains on close(): not ready, onDrain, in-flight call completes, then the port is closed', async () => {
    const running = await start();
    const caller = await connect(running, 'caller');
    await caller.call('echo', { text: 'warm-up' });
    drains.length = 0;
    const inFlight = caller.call('slow', { text: 'job' }, { passThrough: 'all' });
    await waitUntil(() => pendingSlow.length === 1);
    const closed = running.close();
    expect(running.close()).toBe(closed);
    await waitUntil(async () => (await fetch(`${running.http.url}/readyz`)).status === 503);
    expect(drains).toEqual(['drained']);
    pendingSlow.shift()!();
    await expect(inFlight).resolves.toEqual({ text: 'slow job' });
    await closed;
    await expect(
      caller.call('echo', { text: 'late' }, { passThrough: 'all' }),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('cuts calls still running when the drain times out', async () => {
    const running = await start(serviceConfig({ SHUTDOWN_TIMEOUT_MS: '300' }));
    const caller = await connect(running, 'caller');
    const stuck = caller.call('slow', { text: 'forever' }, { passThrough: 'all' });
    await waitUntil(() => pendingSlow.length === 1);
    await running.close();
    await expect(stuck).rejects.toMatchObject({ code: expect.any(Number) });
    pendingSlow.length = 0;
  });

  it('fails with ERR_LISTEN_FAILED naming GRPC_LISTEN_ADDR when the port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    // grpc-js also reports the failed bind on console.error; the SigilError is what matters here.
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const attempt = start(serviceConfig({ GRPC_LISTEN_ADDR: `127.0.0.1:${port}` }));
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_LISTEN_FAILED',
      message: expect.stringContaining('GRPC_LISTEN_ADDR'),
    });
    await attempt.catch((err: unknown) => expect(isSigilError(err)).toBe(true));
    consoleError.mockRestore();
    await new Promise((resolve) => blocker.close(resolve));
  });
});

/** Client credentials of `files` for a hand-made client (the health client has no Upstream). */
async function connectCredentials(files: IdentityFiles) {
  const handle = await createClientCredentials(
    loadClientTlsConfig({
      env: { ...identityEnv(files), GRPC_SERVER_SPIFFE_ID: 'spiffe://sigil.test/svc/echo-service' },
      configFile: false,
      watch: false,
    }),
    { logger: pino({ level: 'silent' }) },
  );
  handle.close();
  return handle;
}

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
