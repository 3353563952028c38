import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSigilError } from '@sigil/errors';
import type { SigilErrorCode } from '@sigil/errors';
import { evaluatePolicy } from '@sigil/interceptors';
import {
  loadGrpcServiceConfig,
  loadUpstreamConfig,
  parsePositiveInteger,
  parseSpiffeIdList,
} from './grpc-service-config';
import { identityEnv, type IdentityFiles } from './identity-files';
import { createTestBench, type TestBench } from './test-bench';

const TRUST_DOMAIN = 'sigil.test';

function expectConfigError(
  run: () => unknown,
  code: SigilErrorCode,
  variable: string,
  message: RegExp,
): void {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(isSigilError(error, code)).toBe(true);
  expect((error as Error).message).toMatch(message);
  expect(JSON.stringify((error as { details?: unknown }).details)).toContain(variable);
}

describe('loadGrpcServiceConfig', () => {
  let bench: TestBench;
  let server: IdentityFiles;
  let template: string;

  beforeAll(async () => {
    bench = await createTestBench();
    server = await bench.issue('echo-service', 'svc/echo-service');
    template = join(bench.dir, 'default-policy.yaml');
    writeFileSync(
      template,
      "rules:\n  - name: callers\n    methods: ['sigil.test.v1.Echo/*']\n    callers: ['spiffe://${trustDomain}/svc/caller', '${extra}']\n",
    );
  });
  afterAll(() => bench.cleanup());

  const load = (env: Record<string, string>) =>
    loadGrpcServiceConfig(
      { ...identityEnv(server), ...env },
      {
        name: 'echo-service',
        defaultPort: 50099,
        defaultPolicyPath: template,
        policyVariables: (td) => ({ extra: [`spiffe://${td}/client/web`] }),
      },
    );

  it('applies the defaults: 0.0.0.0:<port>, metrics on 0.0.0.0:9090, info, 10 s drain', () => {
    const config = load({});
    expect(config).toMatchObject({
      name: 'echo-service',
      listen: { host: '0.0.0.0', port: 50099 },
      metricsListen: { host: '0.0.0.0', port: 9090 },
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
    });
    expect(config.tls).toMatchObject({
      side: 'server',
      mode: 'file',
      requireClientCertificate: true,
    });
  });

  it('reads GRPC_LISTEN_ADDR, METRICS_LISTEN_ADDR, LOG_LEVEL and SHUTDOWN_TIMEOUT_MS', () => {
    const config = load({
      GRPC_LISTEN_ADDR: '127.0.0.1:0',
      METRICS_LISTEN_ADDR: '[::1]:9191',
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT_MS: '2500',
    });
    expect(config).toMatchObject({
      listen: { host: '127.0.0.1', port: 0 },
      metricsListen: { host: '::1', port: 9191 },
      logLevel: 'debug',
      shutdownTimeoutMs: 2500,
    });
  });

  it('takes the trust domain from the service certificate and renders the default policy with it', () => {
    const config = load({});
    expect(config.trustDomain).toBe(TRUST_DOMAIN);
    expect(config.authorization.source).toContain(template);
    const allowed = (spiffeId: string) =>
      evaluatePolicy(config.authorization, { spiffeId, method: '/sigil.test.v1.Echo/Echo' })
        .allowed;
    expect(allowed('spiffe://sigil.test/svc/caller')).toBe(true);
    expect(allowed('spiffe://sigil.test/client/web')).toBe(true);
    expect(allowed('spiffe://sigil.test/svc/other')).toBe(false);
    expect(allowed('spiffe://elsewhere.test/svc/caller')).toBe(false);
  });

  it('accepts a SIGIL_TRUST_DOMAIN that agrees with the certificate', () => {
    expect(load({ SIGIL_TRUST_DOMAIN: TRUST_DOMAIN }).trustDomain).toBe(TRUST_DOMAIN);
  });

  it('accepts the alias TRUST_DOMAIN and names it when it contradicts the certificate', () => {
    expect(load({ TRUST_DOMAIN: TRUST_DOMAIN }).trustDomain).toBe(TRUST_DOMAIN);
    expectConfigError(
      () => load({ TRUST_DOMAIN: 'other.test' }),
      'ERR_CONFIG_INVALID',
      'TRUST_DOMAIN',
      /^TRUST_DOMAIN="other.test": disagrees with the certificate/,
    );
  });

  it('refuses a SIGIL_TRUST_DOMAIN that contradicts the certificate', () => {
    expectConfigError(
      () => load({ SIGIL_TRUST_DOMAIN: 'other.test' }),
      'ERR_CONFIG_INVALID',
      'SIGIL_TRUST_DOMAIN',
      /disagrees with the certificate .*tls\.crt/,
    );
  });

  it('needs SIGIL_TRUST_DOMAIN when the certificate has no SPIFFE ID', async () => {
    const classic = await bench.issue('classic', 'unused', {
      spiffeId: undefined,
      dnsNames: ['echo.internal'],
      profile: 'server',
    });
    const run = (env: Record<string, string>) =>
      loadGrpcServiceConfig(
        { ...identityEnv(classic), ...env },
        {
          name: 'echo-service',
          defaultPort: 1,
          defaultPolicyPath: template,
          policyVariables: () => ({ extra: [] }),
        },
      );
    expect(run({ SIGIL_TRUST_DOMAIN: 'classic.test' }).trustDomain).toBe('classic.test');
    expectConfigError(
      () => run({}),
      'ERR_CONFIG_INVALID',
      'SIGIL_TRUST_DOMAIN',
      /SIGIL_TRUST_DOMAIN is not set and the certificate .* carries no SPIFFE ID/,
    );
  });

  it('uses the SIGIL_AUTHZ_POLICY file instead of the default policy', () => {
    const override = join(bench.dir, 'override.yaml');
    writeFileSync(
      override,
      "rules:\n  - methods: ['*']\n    callers: ['spiffe://sigil.test/svc/admin']\n",
    );
    const config = load({ SIGIL_AUTHZ_POLICY: override });
    expect(config.authorization.source).toContain(override);
    expect(
      evaluatePolicy(config.authorization, {
        spiffeId: 'spiffe://sigil.test/svc/caller',
        method: '/sigil.test.v1.Echo/Echo',
      }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(config.authorization, {
        spiffeId: 'spiffe://sigil.test/svc/admin',
        method: '/sigil.test.v1.Echo/Echo',
      }).allowed,
    ).toBe(true);
  });

  it.each([
    ['GRPC_LISTEN_ADDR', 'localhost'],
    ['METRICS_LISTEN_ADDR', ':9090'],
    ['LOG_LEVEL', 'chatty'],
    ['SHUTDOWN_TIMEOUT_MS', '-5'],
  ])('names %s when it is invalid', (variable, value) => {
    expectConfigError(
      () => load({ [variable]: value }),
      'ERR_CONFIG_INVALID',
      variable,
      new RegExp(variable),
    );
  });

  it('passes grpc-tls errors through, naming the variable', () => {
    expectConfigError(
      () => load({ GRPC_SERVER_CERT_PATH: '' }),
      'ERR_TLS_ENV_MISSING',
      'GRPC_SERVER_CERT_PATH',
      /GRPC_SERVER_CERT_PATH is not set/,
    );
  });
});

describe('loadUpstreamConfig', () => {
  let bench: TestBench;
  let client: IdentityFiles;
  beforeAll(async () => {
    bench = await createTestBench();
    client = await bench.issue('caller', 'svc/caller');
  });
  afterAll(() => bench.cleanup());

  const options = {
    name: 'identity-service',
    variable: 'IDENTITY_SERVICE_ADDR',
    defaultAddress: 'localhost:50051',
    trustDomain: TRUST_DOMAIN,
  };

  it('expects spiffe://<trust domain>/svc/<name> by default', () => {
    const config = loadUpstreamConfig(identityEnv(client), options);
    expect(config).toMatchObject({ name: 'identity-service', address: 'localhost:50051' });
    expect(config.tls.expectedServerIds).toEqual(['spiffe://sigil.test/svc/identity-service']);
  });

  it('reads the address variable and lets GRPC_SERVER_SPIFFE_ID name another identity', () => {
    const config = loadUpstreamConfig(
      {
        ...identityEnv(client),
        IDENTITY_SERVICE_ADDR: '10.0.0.7:7000',
        GRPC_SERVER_SPIFFE_ID: 'spiffe://sigil.test/ns/prod/identity',
      },
      options,
    );
    expect(config.address).toBe('10.0.0.7:7000');
    expect(config.tls.expectedServerIds).toEqual(['spiffe://sigil.test/ns/prod/identity']);
  });

  it('names the address variable when it is not host:port', () => {
    expectConfigError(
      () =>
        loadUpstreamConfig(
          { ...identityEnv(client), IDENTITY_SERVICE_ADDR: 'identity-service' },
          options,
        ),
      'ERR_CONFIG_INVALID',
      'IDENTITY_SERVICE_ADDR',
      /IDENTITY_SERVICE_ADDR/,
    );
  });
});

describe('parsePositiveInteger / parseSpiffeIdList', () => {
  it('parse or fall back', () => {
    expect(parsePositiveInteger({}, 'X', 7)).toBe(7);
    expect(parsePositiveInteger({ X: ' 12 ' }, 'X', 7)).toBe(12);
    expect(parseSpiffeIdList({}, 'IDS', ['spiffe://a.test/x'])).toEqual(['spiffe://a.test/x']);
    expect(parseSpiffeIdList({ IDS: 'spiffe://a.test/x, spiffe://a.test/y,' }, 'IDS', [])).toEqual([
      'spiffe://a.test/x',
      'spiffe://a.test/y',
    ]);
  });

  it('name the variable and the bad entry', () => {
    expect(() => parsePositiveInteger({ X: '1.5' }, 'X', 1)).toThrow(
      /X="1.5" is not a positive integer/,
    );
    expect(() => parseSpiffeIdList({ IDS: 'spiffe://a.test/x,https://a.test' }, 'IDS', [])).toThrow(
      /IDS: "https:\/\/a.test" is not a SPIFFE ID/,
    );
  });
});
