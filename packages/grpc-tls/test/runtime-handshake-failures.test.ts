// Failed handshakes as operators meet them: the server logs each reason (rate-limited) with the
// peer and what it presented; the client says which setting and file to check; dialling an IP
// raises no Node deprecation warning. Real handshakes on loopback between real endpoints.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@sigil/pki';
import type { RunningEchoServer } from '@sigil/testing';
import { createMemoryLogger, EchoClient, spawnBin, startEchoServer } from '@sigil/testing';
import type { ClientCredentialsHandle, LoadClientTlsConfigOptions } from '../src';
import {
  createClientCredentials,
  createServerCredentials,
  describeTlsFailure,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../src';
import { createHandshakeLog, HANDSHAKE_LOG_WINDOW_MS } from '../src/internal/handshake-log';
import { callWhoAmI, whoAmIFails } from './support/echo-calls';
import type { Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

let pki: Pki;
let otherPki: Pki;
let server: IssuedCertificate;
let client: IssuedCertificate;
const dir = tempDir();
const cleanups: (() => unknown)[] = [];
const quiet = { watch: false, pollIntervalMs: 0, reloadOnSighup: false };

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
function secretDir(issued: IssuedCertificate, ca = issued.caPem): string {
  const path = join(dir.path, `secret-${(counter += 1)}`);
  writePlainSecret(path, identityFiles(issued, ca));
  return path;
}

async function serve(
  issued: IssuedCertificate,
  logger = createMemoryLogger().logger,
): Promise<RunningEchoServer> {
  const handle = await createServerCredentials(
    loadServerTlsConfig({ ...quiet, dir: secretDir(issued) }),
    { logger },
  );
  const running = await startEchoServer({ credentials: handle.credentials });
  cleanups.push(
    () => handle.close(),
    () => running.close(),
  );
  return running;
}

async function dial(
  options: LoadClientTlsConfigOptions,
  logger = createMemoryLogger().logger,
): Promise<ClientCredentialsHandle> {
  const handle = await createClientCredentials(loadClientTlsConfig({ ...quiet, ...options }), {
    logger,
  });
  cleanups.push(() => handle.close());
  return handle;
}

/** The GRPC_SERVER_CA_CERT_PATH / GRPC_CLIENT_* convention for an identity's files. */
function clientEnv(secret: string): Record<string, string> {
  return {
    GRPC_SERVER_CA_CERT_PATH: join(secret, 'ca.crt'),
    GRPC_CLIENT_CERT_PATH: join(secret, 'tls.crt'),
    GRPC_CLIENT_KEY_PATH: join(secret, 'tls.key'),
  };
}

describe('the client names the setting and file to check', () => {
  it("a server certificate from another CA: not signed by the CA in GRPC_SERVER_CA_CERT_PATH (file), OpenSSL's words after", async () => {
    const impostor = await otherPki.issue({ spiffeId: 'spiffe://other.example/svc/echo' });
    const running = await serve(impostor);
    const secret = secretDir(client);
    const logs = createMemoryLogger();
    const tls = await dial({ env: clientEnv(secret) }, logs.logger);
    const error = await whoAmIFails(`localhost:${running.port}`, tls.credentials);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    const expected = `the server's certificate is not signed by the CA in GRPC_SERVER_CA_CERT_PATH (${join(secret, 'ca.crt')}) (self-signed certificate in certificate chain)`;
    expect(error.details).toContain(expected);
    expect(describeTlsFailure(error, tls.config)).toBe(error.details);
    expect(logs.records.find((r) => r.event === 'grpc_tls.handshake_failed')).toMatchObject({
      level: 40,
      side: 'client',
      reason: 'untrusted_certificate',
      peer: `127.0.0.1:${running.port}`,
      error: expect.stringContaining(expected),
    });
  });

  it('translates the errors of channels made with grpc-js credentials too (describeTlsFailure)', async () => {
    const impostor = await otherPki.issue({ spiffeId: 'spiffe://other.example/svc/echo' });
    const running = await serve(impostor);
    const secret = secretDir(client);
    const config = loadClientTlsConfig({ ...quiet, env: clientEnv(secret) });
    const raw = grpc.credentials.createSsl(
      Buffer.from(client.caPem),
      Buffer.from(client.privateKeyPem!),
      Buffer.from(client.chainPem),
    );
    const error = await whoAmIFails(`localhost:${running.port}`, raw);
    expect(error.details).toContain('self-signed certificate in certificate chain');
    expect(describeTlsFailure(error, config)).toBe(
      `the server's certificate is not signed by the CA in GRPC_SERVER_CA_CERT_PATH (${join(secret, 'ca.crt')}) (${error.details})`,
    );
    expect(describeTlsFailure(new Error('connect ECONNREFUSED'), config)).toBe(
      'connect ECONNREFUSED',
    );
  });

  it('a server requiring a client certificate this client does not present (a TLS 1.3 alert after the handshake: describeTlsFailure)', async () => {
    const running = await serve(server);
    const tls = await dial({
      caFile: join(secretDir(client), 'ca.crt'),
      requireClientCertificate: false,
    });
    const error = await whoAmIFails(`localhost:${running.port}`, tls.credentials);
    expect(error.details).toContain('alert certificate required');
    expect(describeTlsFailure(error, tls.config)).toMatch(
      /^the server requires a client certificate and this client presents none: configure one \(see docs\/grpc-tls\.md\) \(No connection established/,
    );
  });

  it('names the client certificate file when the server refuses it', () => {
    const secret = secretDir(client);
    const config = loadClientTlsConfig({ ...quiet, env: clientEnv(secret) });
    const details =
      'No connection established. Last error: 80:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:SSL alert number 48';
    expect(describeTlsFailure({ code: grpc.status.UNAVAILABLE, details }, config)).toBe(
      `the server refused this client's certificate (GRPC_CLIENT_CERT_PATH (${join(secret, 'tls.crt')})): it is not signed by a CA the server trusts for clients (${details})`,
    );
  });
});

describe('the server logs failed handshakes', () => {
  it('with reason and peer address, one line per reason per window', async () => {
    const logs = createMemoryLogger();
    const running = await serve(server, logs.logger);
    const stranger = await otherPki.issue({
      spiffeId: 'spiffe://other.example/svc/intruder',
      dnsNames: [],
      ipAddresses: [],
    });
    const raw = () =>
      grpc.credentials.createSsl(
        Buffer.from(server.caPem),
        Buffer.from(stranger.privateKeyPem!),
        Buffer.from(stranger.chainPem),
      );
    for (let attempt = 0; attempt < 4; attempt += 1)
      await whoAmIFails(`localhost:${running.port}`, raw());
    const lines = logs.records.filter((r) => r.event === 'grpc_tls.handshake_failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      side: 'server',
      reason: 'untrusted_certificate',
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      suppressed: 0,
    });
    // Another reason has its own window.
    const anonymous = await dial({
      caFile: join(secretDir(client), 'ca.crt'),
      requireClientCertificate: false,
    });
    await whoAmIFails(`localhost:${running.port}`, anonymous.credentials);
    await logs.next(
      (r) => r.event === 'grpc_tls.handshake_failed' && r['reason'] === 'no_client_certificate',
    );
  });

  it('with the presented subject and SPIFFE ID when a request-mode server serves the caller anonymously', async () => {
    const logs = createMemoryLogger();
    const handle = await createServerCredentials(
      loadServerTlsConfig({ ...quiet, dir: secretDir(server), clientCertificate: 'request' }),
      { logger: logs.logger },
    );
    const running = await startEchoServer({ credentials: handle.credentials });
    cleanups.push(
      () => handle.close(),
      () => running.close(),
    );
    const stranger = await otherPki.issue({
      spiffeId: 'spiffe://other.example/svc/intruder',
      dnsNames: [],
      ipAddresses: [],
    });
    const raw = grpc.credentials.createSsl(
      Buffer.from(server.caPem),
      Buffer.from(stranger.privateKeyPem!),
      Buffer.from(stranger.chainPem),
    );
    const client = new EchoClient(`localhost:${running.port}`, raw);
    cleanups.push(() => client.close());
    expect(await callWhoAmI(client)).toEqual({});
    expect(logs.records.find((r) => r.event === 'grpc_tls.handshake_failed')).toMatchObject({
      side: 'server',
      reason: 'untrusted_certificate',
      anonymous: true,
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      spiffeId: 'spiffe://other.example/svc/intruder',
      serialNumber: stranger.serialNumber,
    });
  });

  it('counts what it suppressed and says so on the next line (createHandshakeLog)', () => {
    const logs = createMemoryLogger();
    let now = 0;
    const log = createHandshakeLog(logs.logger, () => now);
    const failure = { side: 'server', reason: 'untrusted_certificate', error: 'x' } as const;
    log(failure);
    now += 1000;
    log(failure);
    log(failure);
    log({ ...failure, reason: 'expired_certificate' });
    now += HANDSHAKE_LOG_WINDOW_MS;
    log(failure);
    expect(logs.records.map((r) => [r['reason'], r['suppressed']])).toEqual([
      ['untrusted_certificate', 0],
      ['expired_certificate', 0],
      ['untrusted_certificate', 2],
    ]);
  });
});

describe('dialling an IP address', () => {
  it('raises no Node deprecation warning (DEP0123), by SPIFFE ID, by IP SAN or with an IP override', async () => {
    const child = spawnBin(join(__dirname, 'support/runtime-dial-ip-child.ts'), {
      nodeArgs: ['-r', join(__dirname, '../../../scripts/register-ts.js')],
    });
    const report = await child.next((record) => record['done'] === true, 25_000);
    await child.exited;
    expect(report).toEqual({ done: true, seen: ['ok', 'ok', 'ok'], warnings: [] });
    expect(child.stderr.join('\n')).not.toContain('DEP0123');
  });
});
