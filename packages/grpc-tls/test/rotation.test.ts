// Hot rotation: files replaced on disk (plain rewrite, kubelet's ..data swap), SIGHUP, the periodic
// re-read and in-memory identities; open streams keep flowing, new handshakes see the new material.
import { writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@sigil/pki';
import { createMemoryLogger, EchoClient, spawnBin, startEchoServer } from '@sigil/testing';
import type { MemoryLogger, RunningEchoServer } from '@sigil/testing';
import { Registry } from 'prom-client';
import type {
  LoadClientTlsConfigOptions,
  LoadServerTlsConfigOptions,
  ReloadResult,
  ServerCredentialsHandle,
} from '../src';
import {
  createClientCredentials,
  createRotatingIdentity,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../src';
import { callWhoAmI, openTicks, servedCertificate, whoAmI } from './support/echo-calls';
import type { IdentityFiles, Pki } from './support/fixtures';
import {
  createPki,
  identityFiles,
  once,
  tempDir,
  writeKubeletSecret,
  writePlainSecret,
} from './support/fixtures';

let pki: Pki;
let server1: IssuedCertificate;
let server2: IssuedCertificate;
let client1: IssuedCertificate;
let client2: IssuedCertificate;
const dir = tempDir();
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await createPki();
  const clientOptions = { dnsNames: [], ipAddresses: [] };
  [server1, server2, client1, client2] = await Promise.all([
    pki.issue(),
    pki.issue(),
    pki.issue({ ...clientOptions, spiffeId: 'spiffe://example.org/svc/client' }),
    pki.issue({ ...clientOptions, spiffeId: 'spiffe://example.org/svc/client' }),
  ]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dir.remove());

let counter = 0;
function freshDir(): string {
  return join(dir.path, `secret-${(counter += 1)}`);
}

const fast = { debounceMs: 20, pollIntervalMs: 0, reloadOnSighup: false };

interface Served {
  handle: ServerCredentialsHandle;
  running: RunningEchoServer;
  logs: MemoryLogger;
  registry: Registry;
}

async function serve(options: LoadServerTlsConfigOptions): Promise<Served> {
  const logs = createMemoryLogger();
  const registry = new Registry();
  const handle = await createServerCredentials(loadServerTlsConfig({ ...fast, ...options }), {
    logger: logs.logger,
    registry,
  });
  const running = await startEchoServer({ credentials: handle.credentials });
  cleanups.push(
    () => handle.close(),
    () => running.close(),
  );
  return { handle, running, logs, registry };
}

async function channel(options: LoadClientTlsConfigOptions, target: string): Promise<grpc.Client> {
  const tls = await createClientCredentials(
    loadClientTlsConfig({ watch: false, pollIntervalMs: 0, reloadOnSighup: false, ...options }),
    { logger: createMemoryLogger().logger },
  );
  const client = new EchoClient(target, tls.credentials, tls.channelOptions);
  cleanups.push(
    () => tls.close(),
    () => client.close(),
  );
  return client;
}

function clientDir(issued = client1, ca = issued.caPem): string {
  const path = freshDir();
  writePlainSecret(path, identityFiles(issued, ca));
  return path;
}

function applied(handle: {
  onReload(listener: (r: ReloadResult) => void): () => void;
}): Promise<ReloadResult> {
  return once(handle.onReload, (r) => r.status === 'applied');
}

async function servedSerial(
  port: number,
  as: IdentityFiles = identityFiles(client1),
): Promise<string> {
  return (await servedCertificate(port, as)).serialNumber.toLowerCase();
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

it('plain rewrite: the open stream keeps flowing, new connections get the new certificate', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  const { handle, running, logs, registry } = await serve({ env: { GRPC_TLS_DIR: secret } });
  const client = await channel({ dir: clientDir() }, `localhost:${running.port}`);
  const ticks = openTicks(client);
  cleanups.push(() => ticks.cancel());
  await ticks.next(3);
  expect(await servedSerial(running.port)).toBe(server1.serialNumber);

  const rotation = applied(handle);
  writePlainSecret(secret, identityFiles(server2));
  const result = await rotation;
  expect(result).toMatchObject({
    status: 'applied',
    trigger: 'watch',
    certificate: { version: 2, serialNumber: server2.serialNumber },
  });

  await ticks.next(5);
  expect(await servedSerial(running.port)).toBe(server2.serialNumber);
  expect(handle.certificate?.serialNumber).toBe(server2.serialNumber);
  await expect(callWhoAmI(client)).resolves.toMatchObject({ peerSerial: client1.serialNumber });
  expect(logs.records.find((r) => r.event === 'grpc_tls.rotated')).toMatchObject({
    side: 'server',
    trigger: 'watch',
    serialNumber: server2.serialNumber,
    previousSerialNumber: server1.serialNumber,
    caChanged: false,
  });
  expect(
    await metric(registry, 'grpc_tls_rotations_total', { side: 'server', result: 'applied' }),
  ).toBe(1);
});

it("kubelet's atomic ..data swap: new handshakes use the new certificate and the new CA bundle", async () => {
  const pki2 = await createPki('example.org');
  const [newServer, newClient] = await Promise.all([
    pki2.issue(),
    pki2.issue({ spiffeId: 'spiffe://example.org/svc/client', dnsNames: [], ipAddresses: [] }),
  ]);
  const bothRoots = pki.ca.bundlePem + pki2.ca.bundlePem;
  const secret = freshDir();
  writeKubeletSecret(secret, identityFiles(server1));
  const { handle, running, logs } = await serve({ dir: secret });
  const oldClient = await channel(
    { dir: clientDir(client1, bothRoots) },
    `localhost:${running.port}`,
  );
  const ticks = openTicks(oldClient);
  cleanups.push(() => ticks.cancel());
  await ticks.next(3);

  const rotation = applied(handle);
  writeKubeletSecret(secret, identityFiles(newServer, pki2.ca.bundlePem));
  expect((await rotation).certificate?.serialNumber).toBe(newServer.serialNumber);
  expect(logs.records.find((r) => r.event === 'grpc_tls.rotated')).toMatchObject({
    caChanged: true,
  });

  await ticks.next(5);
  expect(await servedSerial(running.port, identityFiles(newClient, bothRoots))).toBe(
    newServer.serialNumber,
  );
  // The old CA is gone from the server's bundle: a new connection with an old-CA client certificate is refused.
  const refused = await whoAmI(
    `localhost:${running.port}`,
    grpc.credentials.createSsl(
      Buffer.from(bothRoots),
      Buffer.from(client1.privateKeyPem!),
      Buffer.from(client1.chainPem),
    ),
  ).catch((err: grpc.ServiceError) => err);
  expect(refused).toMatchObject({ code: grpc.status.UNAVAILABLE });
  await expect(
    whoAmI(
      `localhost:${running.port}`,
      grpc.credentials.createSsl(
        Buffer.from(bothRoots),
        Buffer.from(newClient.privateKeyPem!),
        Buffer.from(newClient.chainPem),
      ),
    ),
  ).resolves.toMatchObject({
    peerSerial: newClient.serialNumber,
  });
});

it('half-written or mismatched files are never served: the old certificate stays and the error is reported', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  const { handle, running, logs, registry } = await serve({ env: { GRPC_TLS_DIR: secret } });
  const rejected = () => once(handle.onReload, (r) => r.status === 'rejected');

  let rejection = rejected();
  writeFileSync(join(secret, 'tls.crt'), server2.chainPem.slice(0, 300));
  expect(await rejection).toMatchObject({
    status: 'rejected',
    trigger: 'watch',
    certificate: { serialNumber: server1.serialNumber },
    error: { code: 'ERR_PEM_MALFORMED' },
  });
  expect(await servedSerial(running.port)).toBe(server1.serialNumber);

  rejection = rejected();
  writeFileSync(join(secret, 'tls.crt'), server2.chainPem);
  const mismatch = await rejection;
  expect(mismatch.error).toMatchObject({
    code: 'ERR_KEY_MISMATCH',
    message: expect.stringContaining(
      `GRPC_TLS_DIR (${join(secret, 'tls.key')}) is not the key of the certificate`,
    ),
  });
  expect(await servedSerial(running.port)).toBe(server1.serialNumber);
  expect(logs.records.find((r) => r.event === 'grpc_tls.rotation_rejected')).toMatchObject({
    level: 50,
    side: 'server',
    code: 'ERR_PEM_MALFORMED',
    servingSerialNumber: server1.serialNumber,
  });
  expect(
    await metric(registry, 'grpc_tls_rotations_total', { side: 'server', result: 'rejected' }),
  ).toBe(2);
  expect(
    await metric(registry, 'grpc_tls_cert_validation_failures_total', {
      side: 'server',
      origin: 'local',
      reason: 'ERR_KEY_MISMATCH',
    }),
  ).toBe(1);

  const rotation = applied(handle);
  writeFileSync(join(secret, 'tls.key'), server2.privateKeyPem!);
  expect((await rotation).certificate?.serialNumber).toBe(server2.serialNumber);
  expect(await servedSerial(running.port)).toBe(server2.serialNumber);
});

it('SIGHUP reloads the files (a real signal to a real process)', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  // jest runs tests with a sandboxed `process` that never receives signals, so the server runs in a child.
  const child = spawnBin(join(__dirname, 'support/sighup-child.ts'), {
    nodeArgs: ['-r', join(__dirname, '../../../scripts/register-ts.js')],
    args: [secret],
    stdin: 'pipe',
  });
  cleanups.push(async () => {
    child.child.stdin!.end();
    await child.exited;
  });
  const ready = await child.next((record) => record['ready'] === true);
  expect(ready).toMatchObject({ serialNumber: server1.serialNumber });
  writePlainSecret(secret, identityFiles(server2));
  const reloaded = child.next((record) => record['trigger'] === 'sighup');
  process.kill(child.child.pid!, 'SIGHUP');
  expect(await reloaded).toEqual({
    status: 'applied',
    trigger: 'sighup',
    serialNumber: server2.serialNumber,
  });
  expect(await servedSerial(ready['port'] as number)).toBe(server2.serialNumber);
  expect(child.child.exitCode).toBeNull();
}, 30_000); // the child transpiles the sources with TypeScript before it starts

it('the periodic re-read catches changes that produce no file event', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  const { handle } = await serve({ dir: secret, watch: false, pollIntervalMs: 25 });
  const rotation = applied(handle);
  writePlainSecret(secret, identityFiles(server2));
  expect(await rotation).toMatchObject({
    trigger: 'poll',
    certificate: { serialNumber: server2.serialNumber },
  });
  expect(handle.reload()).toMatchObject({ status: 'unchanged', trigger: 'manual' });
});

/** A raw TLS 1.2-at-most client: 'connected' or the error code it got. */
function tls12(port: number, ciphers?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        ca: server1.caPem,
        cert: client1.chainPem,
        key: client1.privateKeyPem,
        servername: 'localhost',
        maxVersion: 'TLSv1.2',
        ...(ciphers ? { ciphers } : {}),
        ALPNProtocols: ['h2'],
      },
      () => {
        socket.destroy();
        resolve('connected');
      },
    );
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

it('keeps the minimum TLS version across rotation', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  const { handle, running } = await serve({ dir: secret, minVersion: 'TLSv1.3' });
  expect(await tls12(running.port)).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
  const rotation = applied(handle);
  writePlainSecret(secret, identityFiles(server2));
  await rotation;
  expect(await tls12(running.port)).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
  expect(await servedSerial(running.port)).toBe(server2.serialNumber);
});

it('keeps the cipher list across rotation', async () => {
  const secret = freshDir();
  writePlainSecret(secret, identityFiles(server1));
  const { handle, running } = await serve({
    dir: secret,
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  });
  const check = async () => {
    expect(await tls12(running.port, 'ECDHE-ECDSA-AES256-GCM-SHA384')).toMatch(
      /HANDSHAKE_FAILURE|NO_SHARED_CIPHER/,
    );
    expect(await tls12(running.port, 'ECDHE-ECDSA-AES128-GCM-SHA256')).toBe('connected');
  };
  await check();
  const rotation = applied(handle);
  writePlainSecret(secret, identityFiles(server2));
  await rotation;
  await check();
});

it('client rotation: new connections present the new client certificate, the open stream keeps flowing', async () => {
  const { running } = await serve({ dir: clientDir(server1) });
  const secret = clientDir(client1);
  const logs = createMemoryLogger();
  const tls = await createClientCredentials(loadClientTlsConfig({ dir: secret, ...fast }), {
    logger: logs.logger,
  });
  cleanups.push(() => tls.close());
  const streaming = new EchoClient(`localhost:${running.port}`, tls.credentials);
  cleanups.push(() => streaming.close());
  const ticks = openTicks(streaming);
  cleanups.push(() => ticks.cancel());
  await ticks.next(3);

  const rotation = applied(tls);
  writePlainSecret(secret, identityFiles(client2));
  expect((await rotation).certificate?.serialNumber).toBe(client2.serialNumber);
  // A channel of its own (grpc-js otherwise shares the open connection, which rightly keeps its certificate).
  await expect(
    whoAmI(`localhost:${running.port}`, tls.credentials, { 'grpc.use_local_subchannel_pool': 1 }),
  ).resolves.toMatchObject({ peerSerial: client2.serialNumber });
  await expect(callWhoAmI(streaming)).resolves.toMatchObject({ peerSerial: client1.serialNumber });
  await ticks.next(5);
  expect(logs.records.find((r) => r.event === 'grpc_tls.rotated')).toMatchObject({
    side: 'client',
    serialNumber: client2.serialNumber,
  });
});

it('an in-memory identity rotates server and client credentials, and rejects bad updates', async () => {
  const serverIdentity = createRotatingIdentity({
    certificateChainPem: server1.chainPem,
    privateKeyPem: server1.privateKeyPem!,
    caPem: server1.caPem,
  });
  const clientIdentity = createRotatingIdentity({
    certificateChainPem: client1.chainPem,
    privateKeyPem: client1.privateKeyPem!,
    caPem: client1.caPem,
  });
  const { handle, running, logs } = await serve({ identity: serverIdentity });
  const client = await channel(
    { identity: clientIdentity, expectedServerId: 'spiffe://example.org/svc/echo' },
    running.address,
  );
  const ticks = openTicks(client);
  cleanups.push(() => ticks.cancel());
  await ticks.next(3);

  const rotation = applied(handle);
  const snapshot = serverIdentity.update({
    certificateChainPem: server2.chainPem,
    privateKeyPem: server2.privateKeyPem!,
    caPem: server2.caPem,
  });
  expect(snapshot).toMatchObject({
    version: 2,
    serialNumber: server2.serialNumber,
    spiffeId: 'spiffe://example.org/svc/echo',
  });
  expect(await rotation).toMatchObject({
    trigger: 'update',
    certificate: { serialNumber: server2.serialNumber },
  });
  await ticks.next(5);
  expect(await servedSerial(running.port)).toBe(server2.serialNumber);

  expect(() =>
    serverIdentity.update({
      certificateChainPem: server1.chainPem,
      privateKeyPem: server2.privateKeyPem!,
      caPem: server1.caPem,
    }),
  ).toThrow(expect.objectContaining({ code: 'ERR_KEY_MISMATCH' }));
  expect(serverIdentity.current.serialNumber).toBe(server2.serialNumber);
  expect(logs.records.find((r) => r.event === 'grpc_tls.rotation_rejected')).toMatchObject({
    trigger: 'update',
    code: 'ERR_KEY_MISMATCH',
  });

  clientIdentity.update({
    certificateChainPem: client2.chainPem,
    privateKeyPem: client2.privateKeyPem!,
    caPem: client2.caPem,
  });
  const fresh = await channel(
    { identity: clientIdentity, expectedServerId: 'spiffe://example.org/svc/echo' },
    running.address,
  );
  await expect(callWhoAmI(fresh)).resolves.toMatchObject({ peerSerial: client2.serialNumber });
});
