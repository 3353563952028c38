// Real mutual-TLS handshakes on loopback between a grpc-js server and clients built by @sigil/grpc-tls.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@sigil/pki';
import {
  createMemoryLogger,
  forgeCaCertificateWithSpiffeId,
  startEchoServer,
} from '@sigil/testing';
import type { RunningEchoServer } from '@sigil/testing';
import { Registry } from 'prom-client';
import type {
  ClientCredentialsHandle,
  LoadClientTlsConfigOptions,
  LoadServerTlsConfigOptions,
  ServerCredentialsHandle,
} from '../src';
import {
  createClientCredentials,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../src';
import { whoAmI, whoAmIFails } from './support/echo-calls';
import type { Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

let pki: Pki;
let otherPki: Pki;
let server: IssuedCertificate;
let client: IssuedCertificate;
const dir = tempDir();
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  [pki, otherPki] = await Promise.all([createPki(), createPki('other.example')]);
  [server, client] = await Promise.all([
    pki.issue(),
    pki.issue({ spiffeId: 'spiffe://example.org/svc/client', dnsNames: [], ipAddresses: [] }),
  ]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dir.remove());

let counter = 0;
/** Writes an identity as tls.crt/tls.key/ca.crt in a fresh directory. */
function secretDir(issued: IssuedCertificate, ca = issued.caPem): string {
  const path = join(dir.path, `secret-${(counter += 1)}`);
  writePlainSecret(path, identityFiles(issued, ca));
  return path;
}

const quiet = { watch: false, pollIntervalMs: 0, reloadOnSighup: false };

async function serve(
  options: LoadServerTlsConfigOptions,
  registry = new Registry(),
): Promise<{ handle: ServerCredentialsHandle; running: RunningEchoServer }> {
  const handle = await createServerCredentials(loadServerTlsConfig({ ...quiet, ...options }), {
    logger: createMemoryLogger().logger,
    registry,
  });
  const running = await startEchoServer({ credentials: handle.credentials });
  cleanups.push(
    () => handle.close(),
    () => running.close(),
  );
  return { handle, running };
}

async function dial(
  options: LoadClientTlsConfigOptions,
  registry = new Registry(),
): Promise<ClientCredentialsHandle> {
  const handle = await createClientCredentials(loadClientTlsConfig({ ...quiet, ...options }), {
    logger: createMemoryLogger().logger,
    registry,
  });
  cleanups.push(() => handle.close());
  return handle;
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('mutual TLS through each environment convention', () => {
  const cases: [
    string,
    () => { server: LoadServerTlsConfigOptions; client: LoadClientTlsConfigOptions },
  ][] = [
    [
      'default GRPC_SERVER_* / GRPC_CLIENT_* variables',
      () => {
        const s = secretDir(server);
        const c = secretDir(client);
        return {
          server: {
            env: {
              GRPC_SERVER_CERT_PATH: join(s, 'tls.crt'),
              GRPC_SERVER_KEY_PATH: join(s, 'tls.key'),
              GRPC_CLIENT_CA_CERT_PATH: join(s, 'ca.crt'),
              GRPC_REQUIRE_CLIENT_CERT: 'true',
            },
          },
          client: {
            env: {
              GRPC_SERVER_CA_CERT_PATH: join(c, 'ca.crt'),
              GRPC_CLIENT_CERT_PATH: join(c, 'tls.crt'),
              GRPC_CLIENT_KEY_PATH: join(c, 'tls.key'),
            },
          },
        };
      },
    ],
    [
      'short GRPC_TLS_CERT/KEY/CA server, GRPC_TLS_DIR client',
      () => {
        const s = secretDir(server);
        return {
          server: {
            env: {
              GRPC_TLS_CERT: join(s, 'tls.crt'),
              GRPC_TLS_KEY: join(s, 'tls.key'),
              GRPC_TLS_CA: join(s, 'ca.crt'),
            },
          },
          client: { env: { GRPC_TLS_DIR: secretDir(client) } },
        };
      },
    ],
    [
      'GRPC_TLS_DIR server, prefixed MIGLET_CONTROLLER_TLS_* client',
      () => {
        const c = secretDir(client);
        return {
          server: { env: { GRPC_TLS_DIR: secretDir(server) } },
          client: {
            prefix: 'MIGLET_CONTROLLER_',
            env: {
              MIGLET_CONTROLLER_TLS_ENABLED: 'true',
              MIGLET_CONTROLLER_TLS_CA_CERT_PATH: join(c, 'ca.crt'),
              MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: join(c, 'tls.crt'),
              MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: join(c, 'tls.key'),
            },
          },
        };
      },
    ],
    [
      'PARALLAX_CERTS_DIR/<name>/cert.pem|key.pem|ca.pem on both sides',
      () => {
        const certs = join(dir.path, `certs-${(counter += 1)}`);
        for (const [name, issued] of [
          ['control-plane', server],
          ['agent-1', client],
        ] as const) {
          mkdirSync(join(certs, name), { recursive: true });
          writeFileSync(join(certs, name, 'cert.pem'), issued.chainPem);
          writeFileSync(join(certs, name, 'key.pem'), issued.privateKeyPem!, { mode: 0o600 });
          writeFileSync(join(certs, name, 'ca.pem'), issued.caPem);
        }
        const env = {
          PARALLAX_TLS_ENABLED: 'true',
          PARALLAX_CERTS_DIR: certs,
          PARALLAX_TLS_VERIFY_CLIENT: 'true',
        };
        return {
          server: { env, prefix: 'PARALLAX_', name: 'control-plane' },
          client: { env, prefix: 'PARALLAX_', name: 'agent-1' },
        };
      },
    ],
    [
      'YAML file named by SIGIL_TLS_CONFIG',
      () => {
        const s = secretDir(server);
        const c = secretDir(client);
        const file = join(dir.path, `tls-${(counter += 1)}.yaml`);
        writeFileSync(
          file,
          `tls:\n  server_cert_path: ${s}/tls.crt\n  server_key_path: ${s}/tls.key\n  client_ca_cert_path: ${s}/ca.crt\n` +
            `  ca_cert_path: ${c}/ca.crt\n  client_cert_path: ${c}/tls.crt\n  client_key_path: ${c}/tls.key\n  min_version: TLSv1.3\n`,
        );
        return {
          server: { env: { SIGIL_TLS_CONFIG: file } },
          client: { env: { SIGIL_TLS_CONFIG: file } },
        };
      },
    ],
  ];

  it.each(cases)('%s', async (_name, setup) => {
    const options = setup();
    const { running } = await serve(options.server);
    const tls = await dial(options.client);
    const view = await whoAmI(`localhost:${running.port}`, tls.credentials, tls.channelOptions);
    expect(view.peerSerial).toBe(client.serialNumber);
    expect(view.peerUri).toBe('URI:spiffe://example.org/svc/client');
  });
});

describe('refusals', () => {
  it('refuses a client without a certificate, and counts it', async () => {
    const registry = new Registry();
    const { running } = await serve({ dir: secretDir(server) }, registry);
    const anonymous = await dial({
      caFile: join(secretDir(client), 'ca.crt'),
      requireClientCertificate: false,
    });
    const error = await whoAmIFails(`localhost:${running.port}`, anonymous.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(
      await metric(registry, 'grpc_tls_handshake_errors_total', {
        side: 'server',
        reason: 'no_client_certificate',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(registry, 'grpc_tls_cert_validation_failures_total', {
        side: 'server',
        origin: 'peer',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const registry = new Registry();
    const { running } = await serve({ dir: secretDir(server) }, registry);
    const stranger = await otherPki.issue({
      spiffeId: 'spiffe://other.example/svc/intruder',
      dnsNames: [],
      ipAddresses: [],
    });
    // The stranger trusts our CA (it knows where it dials) but its own certificate is foreign.
    const foreign = await dial({
      dir: secretDir(stranger, server.caPem),
      requireClientCertificate: true,
    }).catch((err: Error) => err);
    expect(foreign).toMatchObject({ code: 'ERR_TLS_CA_MISMATCH' });
    const raw = grpc.credentials.createSsl(
      Buffer.from(server.caPem),
      Buffer.from(stranger.privateKeyPem!),
      Buffer.from(stranger.chainPem),
    );
    const error = await whoAmIFails(`localhost:${running.port}`, raw);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(
      await metric(registry, 'grpc_tls_handshake_errors_total', {
        side: 'server',
        reason: 'untrusted_certificate',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('refuses a client presenting an expired certificate', async () => {
    const registry = new Registry();
    const { running } = await serve({ dir: secretDir(server) }, registry);
    const expired = await pki.issue({
      spiffeId: 'spiffe://example.org/svc/old',
      dnsNames: [],
      ipAddresses: [],
      now: new Date(Date.now() - 3 * 86_400_000),
      ttlSeconds: 3600,
    });
    const raw = grpc.credentials.createSsl(
      Buffer.from(server.caPem),
      Buffer.from(expired.privateKeyPem!),
      Buffer.from(expired.chainPem),
    );
    expect((await whoAmIFails(`localhost:${running.port}`, raw)).code).toBe(
      grpc.status.UNAVAILABLE,
    );
    expect(
      await metric(registry, 'grpc_tls_handshake_errors_total', {
        side: 'server',
        reason: 'expired_certificate',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('refuses a server whose certificate comes from another CA', async () => {
    const registry = new Registry();
    const impostor = await otherPki.issue({ spiffeId: 'spiffe://other.example/svc/echo' });
    const { running } = await serve({ dir: secretDir(impostor), requireClientCertificate: false });
    const tls = await dial({ dir: secretDir(client) }, registry);
    const error = await whoAmIFails(`localhost:${running.port}`, tls.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(
      await metric(registry, 'grpc_tls_handshake_errors_total', {
        side: 'client',
        reason: 'untrusted_certificate',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('server identity', () => {
  let uriOnly: IssuedCertificate;
  let dnsOnly: IssuedCertificate;
  beforeAll(async () => {
    [uriOnly, dnsOnly] = await Promise.all([
      pki.issue({ spiffeId: 'spiffe://example.org/svc/echo', dnsNames: [], ipAddresses: [] }),
      pki.issue({
        spiffeId: undefined,
        dnsNames: ['echo.internal'],
        ipAddresses: [],
        profile: 'server',
      }),
    ]);
  });

  it('accepts a URI-SAN-only server certificate by its expected SPIFFE ID, exact or by trust domain', async () => {
    const { running } = await serve({ dir: secretDir(uriOnly) });
    for (const expected of ['spiffe://example.org/svc/echo', 'spiffe://example.org']) {
      const tls = await dial({ dir: secretDir(client), env: { GRPC_SERVER_SPIFFE_ID: expected } });
      expect((await whoAmI(running.address, tls.credentials, tls.channelOptions)).peerSerial).toBe(
        client.serialNumber,
      );
    }
  });

  it('refuses a server presenting another SPIFFE ID, naming both', async () => {
    const registry = new Registry();
    const { running } = await serve({ dir: secretDir(uriOnly) });
    const tls = await dial(
      { dir: secretDir(client), expectedServerId: 'spiffe://example.org/svc/billing' },
      registry,
    );
    const error = await whoAmIFails(running.address, tls.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain(
      'the server presented spiffe://example.org/svc/echo; option expectedServerId expects spiffe://example.org/svc/billing',
    );
    expect(
      await metric(registry, 'grpc_tls_handshake_errors_total', {
        side: 'client',
        reason: 'identity_mismatch',
      }),
    ).toBe(1);
  });

  it('refuses a CA certificate as the server even when it carries the expected SPIFFE ID', async () => {
    const forged = forgeCaCertificateWithSpiffeId(pki.ca, 'spiffe://example.org/svc/echo');
    const running = await startEchoServer({
      credentials: grpc.ServerCredentials.createSsl(
        Buffer.from(pki.ca.bundlePem),
        [
          {
            cert_chain: Buffer.from(forged.chainPem),
            private_key: Buffer.from(forged.privateKeyPem),
          },
        ],
        false,
      ),
    });
    cleanups.push(() => running.close());
    const tls = await dial({
      dir: secretDir(client),
      expectedServerId: 'spiffe://example.org/svc/echo',
    });
    const error = await whoAmIFails(running.address, tls.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain(
      `is not an X509-SVID leaf (X509-SVID rejected: spiffe://example.org/svc/echo: the leaf (serial ${forged.serialNumber}) is a CA certificate`,
    );
  });

  it('explains how to verify a URI-SAN-only certificate when no SPIFFE ID is expected', async () => {
    const { running } = await serve({ dir: secretDir(uriOnly) });
    const tls = await dial({ dir: secretDir(client) });
    expect((await whoAmIFails(running.address, tls.credentials)).details).toContain(
      'names only a SPIFFE ID (spiffe://example.org/svc/echo), no DNS name or IP: set GRPC_SERVER_SPIFFE_ID',
    );
  });

  it('checks DNS names of classic certificates, with GRPC_SERVER_DOMAIN overriding the dialled IP', async () => {
    const { running } = await serve({ dir: secretDir(dnsOnly, pki.ca.bundlePem) });
    const c = secretDir(client);
    const plain = await dial({ dir: c });
    expect((await whoAmIFails(running.address, plain.credentials)).details).toMatch(
      /IP: 127\.0\.0\.1 is not in the cert's list/,
    );
    const overridden = await dial({ dir: c, env: { GRPC_SERVER_DOMAIN: 'echo.internal' } });
    expect(overridden.channelOptions).toEqual({
      'grpc.ssl_target_name_override': 'echo.internal',
      'grpc.default_authority': 'echo.internal',
    });
    expect(
      (await whoAmI(running.address, overridden.credentials, overridden.channelOptions)).peerSerial,
    ).toBe(client.serialNumber);
    const prefixed = await dial({
      dir: c,
      prefix: 'MIGLET_CONTROLLER_',
      env: { MIGLET_CONTROLLER_TLS_SERVER_NAME: 'echo.internal' },
    });
    expect(
      (await whoAmI(running.address, prefixed.credentials, prefixed.channelOptions)).peerSerial,
    ).toBe(client.serialNumber);
    const wrong = await dial({ dir: c, env: { GRPC_SERVER_DOMAIN: 'billing.internal' } });
    expect(
      (await whoAmIFails(running.address, wrong.credentials, wrong.channelOptions)).details,
    ).toContain("Host: billing.internal. is not in the cert's altnames: DNS:echo.internal");
  });

  it('checks the SPIFFE ID instead of the host name when both are configured', async () => {
    const { running } = await serve({ dir: secretDir(server) });
    const tls = await dial({
      dir: secretDir(client),
      expectedServerId: 'spiffe://example.org/svc/echo',
      serverName: 'anything.internal',
    });
    expect((await whoAmI(running.address, tls.credentials, tls.channelOptions)).peerSerial).toBe(
      client.serialNumber,
    );
  });

  it('skips verification only when asked for by name, with a loud warning', async () => {
    const impostor = await otherPki.issue({ spiffeId: 'spiffe://other.example/svc/echo' });
    const { running } = await serve({ dir: secretDir(impostor), requireClientCertificate: false });
    const logs = createMemoryLogger();
    const c = secretDir(client);
    const tls = await createClientCredentials(
      loadClientTlsConfig({
        ...quiet,
        prefix: 'MIGLET_CONTROLLER_',
        env: {
          MIGLET_CONTROLLER_TLS_INSECURE_SKIP_VERIFY: 'true',
          MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: join(c, 'tls.crt'),
          MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: join(c, 'tls.key'),
        },
      }),
      { logger: logs.logger },
    );
    cleanups.push(() => tls.close());
    expect(await whoAmI(running.address, tls.credentials)).toEqual({});
    expect(logs.records.find((r) => r.event === 'grpc_tls.insecure_skip_verify')).toMatchObject({
      level: 40,
      side: 'client',
    });
  });
});

describe('modes', () => {
  it('dev mode: throwaway certificates from an in-memory CA, server and client in one process', async () => {
    const logs = createMemoryLogger();
    const handle = await createServerCredentials(
      loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'dev' } }),
      { logger: logs.logger },
    );
    const running = await startEchoServer({ credentials: handle.credentials });
    cleanups.push(
      () => handle.close(),
      () => running.close(),
    );
    const tls = await dial({ env: { SIGIL_TLS_MODE: 'dev' } });
    expect(await whoAmI(running.address, tls.credentials)).toEqual({
      peerSerial: tls.certificate!.serialNumber,
      peerUri:
        'URI:spiffe://dev.sigil.local/dev/client, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    });
    expect(handle.certificate?.spiffeId).toBe('spiffe://dev.sigil.local/dev/server');
    expect(logs.records.find((r) => r.event === 'grpc_tls.dev_mode')).toMatchObject({ level: 40 });
    expect(() =>
      loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'dev', NODE_ENV: 'production' } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TLS_DEV_IN_PRODUCTION' }));
  });

  it('insecure mode: plaintext only by name, warned about on every start', async () => {
    const logs = createMemoryLogger();
    const config = loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'insecure' } });
    for (let start = 0; start < 2; start += 1)
      (await createServerCredentials(config, { logger: logs.logger })).close();
    expect(logs.records.filter((r) => r.event === 'grpc_tls.insecure_mode')).toHaveLength(2);
    expect(logs.records.find((r) => r.event === 'grpc_tls.insecure_mode')).toMatchObject({
      level: 40,
      msg: expect.stringContaining('TLS is DISABLED (SIGIL_TLS_MODE)'),
    });
    const handle = await createServerCredentials(config, { logger: logs.logger });
    const running = await startEchoServer({ credentials: handle.credentials });
    cleanups.push(() => running.close());
    const tls = await createClientCredentials(
      loadClientTlsConfig({ env: { SIGIL_TLS_MODE: 'insecure' } }),
      { logger: logs.logger },
    );
    expect(await whoAmI(running.address, tls.credentials)).toEqual({});
    // A TLS client cannot talk to it: nothing silently downgrades.
    const secure = await dial({ dir: secretDir(client) });
    expect((await whoAmIFails(running.address, secure.credentials)).code).toBe(
      grpc.status.UNAVAILABLE,
    );
  });
});

describe('metrics', () => {
  it('times handshakes on both sides and publishes days to expiry at scrape time', async () => {
    const registry = new Registry();
    const { running } = await serve({ dir: secretDir(server) }, registry);
    const tls = await dial({ dir: secretDir(client) }, registry);
    await whoAmI(`localhost:${running.port}`, tls.credentials);
    const durations = (
      await registry.getSingleMetric('grpc_tls_handshake_duration_seconds')!.get()
    ).values.filter(
      (v) =>
        (v as { metricName?: string }).metricName === 'grpc_tls_handshake_duration_seconds_count',
    );
    expect(durations.find((v) => v.labels['side'] === 'client')?.value).toBe(1);
    expect(durations.find((v) => v.labels['side'] === 'server')?.value).toBeGreaterThanOrEqual(1);
    const expiry = (await registry.getSingleMetric('grpc_tls_cert_expiry_days')!.get()).values;
    expect(expiry).toEqual(
      expect.arrayContaining([
        {
          labels: { side: 'server', identity: 'spiffe://example.org/svc/echo' },
          value: expect.closeTo(1, 1),
        },
        {
          labels: { side: 'client', identity: 'spiffe://example.org/svc/client' },
          value: expect.closeTo(1, 1),
        },
      ]),
    );
    const text = await registry.metrics();
    for (const name of [
      'grpc_tls_handshake_errors_total',
      'grpc_tls_cert_validation_failures_total',
      'grpc_tls_handshake_duration_seconds',
      'grpc_tls_cert_expiry_days',
      'grpc_tls_rotations_total',
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });
});
