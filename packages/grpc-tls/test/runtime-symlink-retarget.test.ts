// GRPC_TLS_DIR naming a symlink to a release directory (`/etc/tls/current -> releases/v1`),
// retargeted to a new release the way deploy tools do it: `ln -sfn` (remove, then link again) or
// an atomic rename of a new link over the old one. A real server; the new serial must be served
// to new handshakes within seconds, with the periodic re-read and SIGHUP off.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedCertificate } from '@sigil/pki';
import { createMemoryLogger, startEchoServer, waitFor } from '@sigil/testing';
import { createServerCredentials, loadServerTlsConfig } from '../src';
import { servedCertificate } from './support/echo-calls';
import type { Pki } from './support/fixtures';
import { createPki, identityFiles, tempDir, writePlainSecret } from './support/fixtures';

let pki: Pki;
let client: IssuedCertificate;
const dir = tempDir();
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await createPki();
  client = await pki.issue({
    spiffeId: 'spiffe://example.org/svc/client',
    dnsNames: [],
    ipAddresses: [],
  });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dir.remove());

async function release(root: string, name: string): Promise<IssuedCertificate> {
  const issued = await pki.issue();
  writePlainSecret(join(root, 'releases', name), identityFiles(issued));
  return issued;
}

/** `ln -sfn releases/<name> current`: the link disappears for a moment, then points elsewhere. */
function lnSfn(root: string, name: string): void {
  rmSync(join(root, 'current'));
  symlinkSync(join('releases', name), join(root, 'current'));
}

/** A new link renamed over the old one (`ln -s ... current.tmp && mv -T current.tmp current`). */
function renameOver(root: string, name: string): void {
  symlinkSync(join('releases', name), join(root, 'current.tmp'));
  renameSync(join(root, 'current.tmp'), join(root, 'current'));
}

async function servedSerial(port: number): Promise<string> {
  return (await servedCertificate(port, identityFiles(client))).serialNumber.toLowerCase();
}

it.each([
  ['ln -sfn', lnSfn],
  ['a link renamed over the old one', renameOver],
] as const)(
  'a retargeted GRPC_TLS_DIR symlink (%s) is served to new handshakes within seconds, and the new target is watched',
  async (_name, retarget) => {
    const root = join(dir.path, `deploy-${Math.random().toString(36).slice(2)}`);
    mkdirSync(root, { recursive: true });
    const v1 = await release(root, 'v1');
    symlinkSync(join('releases', 'v1'), join(root, 'current'));
    const logs = createMemoryLogger();
    const handle = await createServerCredentials(
      loadServerTlsConfig({
        env: { GRPC_TLS_DIR: join(root, 'current') },
        configFile: false,
        debounceMs: 50,
        pollIntervalMs: 0,
        reloadOnSighup: false,
      }),
      { logger: logs.logger },
    );
    const running = await startEchoServer({ credentials: handle.credentials });
    cleanups.push(
      () => handle.close(),
      () => running.close(),
    );
    expect(await servedSerial(running.port)).toBe(v1.serialNumber);

    const v2 = await release(root, 'v2');
    retarget(root, 'v2');
    await waitFor(
      'the v2 certificate in a new handshake',
      async () => (await servedSerial(running.port)) === v2.serialNumber,
      5000,
    );
    // The watch follows the link to its new target: a rewrite inside v2 is seen too.
    const v2b = await pki.issue();
    const files = identityFiles(v2b);
    writeFileSync(join(root, 'releases/v2/tls.key.tmp'), files.key, { mode: 0o600 });
    writeFileSync(join(root, 'releases/v2/tls.crt.tmp'), files.cert);
    renameSync(join(root, 'releases/v2/tls.key.tmp'), join(root, 'releases/v2/tls.key'));
    renameSync(join(root, 'releases/v2/tls.crt.tmp'), join(root, 'releases/v2/tls.crt'));
    await waitFor(
      'the rewritten v2 certificate in a new handshake',
      async () => (await servedSerial(running.port)) === v2b.serialNumber,
      5000,
    );
    expect(
      logs.records.filter((r) => r.event === 'grpc_tls.rotated').map((r) => r['trigger']),
    ).toEqual(['watch', 'watch']);
  },
);
