// Rotation under load, from outside: a server and a client in processes of their own, the client
// calling on several long-lived channels, on a channel per call and on two server streams, while
// the server and client certificates rotate (cp+mv, then kubelet's `..data` swap) and the CA is
// swapped through a two-root bundle. No call may fail, no stream may skip a message, and each
// rotation must reach new handshakes.
import {
  lstatSync,
  mkdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { IssuedCertificate } from '@sigil/pki';
import { createCertificateAuthority } from '@sigil/pki';
import type { BinProcess } from '@sigil/testing';
import { spawnBin, waitFor } from '@sigil/testing';
import { servedCertificate } from './support/echo-calls';
import type { IdentityFiles, Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir } from './support/fixtures';

jest.setTimeout(90_000);

const dir = tempDir();
const children: BinProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    child.child.stdin?.end();
    await child.stop();
  }
  dir.remove();
});

const NAMES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** cp+mv: each file written beside its final name and renamed over it, key first. */
function copyAndMove(secret: string, files: IdentityFiles): void {
  for (const role of ['key', 'cert', 'ca'] as const) {
    const final = join(secret, NAMES[role]);
    writeFileSync(`${final}.tmp`, files[role], { mode: 0o600 });
    renameSync(`${final}.tmp`, final);
  }
}

let swaps = 0;
/**
 * kubelet's atomic update: the data in a new `..<timestamp>` directory, `..data` renamed to point
 * at it, each name a symlink through `..data` (the first swap replaces plain files by such links).
 */
function kubeletSwap(secret: string, files: IdentityFiles): void {
  swaps += 1;
  const stamp = `..2026_01_01_00_00_${String(swaps).padStart(2, '0')}.${process.pid}`;
  mkdirSync(join(secret, stamp));
  for (const role of ['key', 'cert', 'ca'] as const)
    writeFileSync(join(secret, stamp, NAMES[role]), files[role], { mode: 0o600 });
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(secret, '..data'));
  } catch {
    previous = undefined;
  }
  symlinkSync(stamp, join(secret, '..data_tmp'));
  renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
  for (const name of Object.values(NAMES)) {
    if (lstatSync(join(secret, name)).isSymbolicLink()) continue;
    symlinkSync(join('..data', name), join(secret, `${name}.link`));
    renameSync(join(secret, `${name}.link`), join(secret, name));
  }
  if (previous) rmSync(join(secret, previous), { recursive: true, force: true });
}

it('zero failed calls, no gap in any stream, new serials in new handshakes', async () => {
  // The next CA has a name of its own, as a real successor does: OpenSSL looks issuers up by name.
  const [pki, nextCa] = await Promise.all([
    createPki(),
    createCertificateAuthority({ trustDomain: 'example.org', commonName: 'example.org root CA 2' }),
  ]);
  const nextPki: Pki = {
    ca: nextCa,
    issue: (options = {}) =>
      nextCa.issue({
        spiffeId: 'spiffe://example.org/svc/echo',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        ...options,
      }),
  };
  const client = (from: Pki) =>
    from.issue({ spiffeId: 'spiffe://example.org/svc/client', dnsNames: [], ipAddresses: [] });
  const serverDir = join(dir.path, 'server');
  const clientDir = join(dir.path, 'client');
  mkdirSync(serverDir);
  mkdirSync(clientDir);
  // Every certificate up front: issuing while the load runs competes with it for the thread pool.
  const [servers, clients, nextServer, nextClient] = await Promise.all([
    Promise.all(Array.from({ length: 5 }, () => pki.issue())),
    Promise.all(Array.from({ length: 5 }, () => client(pki))),
    nextPki.issue(),
    client(nextPki),
  ]);
  let serverCert = servers.pop()!;
  let clientCert = clients.pop()!;
  let bundle = pki.ca.bundlePem;
  copyAndMove(serverDir, identityFiles(serverCert));
  copyAndMove(clientDir, identityFiles(clientCert));

  const loader = ['-r', join(__dirname, '../../../scripts/register-ts.js')];
  const server = spawnBin(join(__dirname, 'support/runtime-load-server.ts'), {
    nodeArgs: loader,
    args: [serverDir],
    stdin: 'pipe',
  });
  children.push(server);
  const port = (await server.next((r) => r['ready'] === true, 40_000))['port'] as number;
  const load = spawnBin(join(__dirname, 'support/runtime-load-client.ts'), {
    nodeArgs: loader,
    args: [`127.0.0.1:${port}`, clientDir],
    stdin: 'pipe',
  });
  children.push(load);
  const latest = () => load.records.filter((r) => r['progress'] === true).at(-1);
  await waitFor(
    'load on every channel and stream',
    () => {
      const last = latest();
      return (
        last && (last['calls'] as number) > 20 && (last['streamed'] as number[]).every((n) => n > 0)
      );
    },
    40_000,
  );

  const bothRoots = `${pki.ca.bundlePem.trim()}\n${nextPki.ca.bundlePem.trim()}\n`;
  const servedSerial = async () =>
    (
      await servedCertificate(port, { ...identityFiles(clientCert), ca: bothRoots })
    ).serialNumber.toLowerCase();
  const rotateServer = async (write: typeof copyAndMove, issued: IssuedCertificate) => {
    write(serverDir, identityFiles(issued, bundle));
    serverCert = issued;
    await waitFor(
      `server serial ${issued.serialNumber} in a new handshake`,
      async () => (await servedSerial()) === issued.serialNumber,
    );
  };
  const rotateClient = async (write: typeof copyAndMove, issued: IssuedCertificate) => {
    write(clientDir, identityFiles(issued, bundle));
    clientCert = issued;
    const calls = (latest()?.['calls'] as number) ?? 0;
    // The per-call channel's reply names the client certificate its new handshake presented.
    await waitFor(`client serial ${issued.serialNumber} in a new handshake`, () => {
      const last = latest();
      return (
        last?.['perCallPeerSerial'] === issued.serialNumber && (last['calls'] as number) > calls
      );
    });
  };

  for (const write of [copyAndMove, kubeletSwap]) {
    for (let round = 0; round < 2; round += 1) {
      await rotateServer(write, servers.pop()!);
      await rotateClient(write, clients.pop()!);
    }
  }
  // CA rotation: trust both roots everywhere, move both certificates to the new CA, drop the old root.
  bundle = bothRoots;
  await rotateServer(kubeletSwap, serverCert);
  await rotateClient(kubeletSwap, clientCert);
  await rotateServer(kubeletSwap, nextServer);
  await rotateClient(kubeletSwap, nextClient);
  bundle = nextPki.ca.bundlePem;
  await rotateServer(kubeletSwap, serverCert);
  await rotateClient(kubeletSwap, clientCert);

  load.child.stdin!.write('stop\n');
  const summary = await load.next((r) => r['summary'] === true, 30_000);
  expect(summary).toMatchObject({ failed: 0, failures: [] });
  expect(summary['calls']).toBeGreaterThan(100);
  const streams = summary['streams'] as { received: number; gaps: number; error?: string }[];
  expect(streams).toHaveLength(2);
  for (const stream of streams) {
    expect(stream).toEqual({ received: expect.any(Number), gaps: 0 });
    expect(stream.received).toBeGreaterThan(100);
  }
  // Every rotation the server saw was applied (half-written pairs may be rejected and retried).
  const reloads = server.records
    .filter((r) => r['reload'] === 'applied')
    .map((r) => r['serialNumber']);
  expect(reloads.at(-1)).toBe(serverCert.serialNumber);
});
