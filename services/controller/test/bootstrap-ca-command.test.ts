// `sigil-controller bootstrap-ca rotate` (the built bin, real processes): it finishes a rotation
// interrupted between its renames, and refuses while the current runtime CA is an upstream
// intermediate (the bootstrap CA then signs the controller's certificate).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@sigil/pki';
import { spawnBin } from '@sigil/testing';
import { DATA_FILES, loadOrCreateAuthorities } from '../src/internal/authorities';
import { admin, startController } from './support/fixtures';
import { assertFreshBuild, MAIN } from './support/hostile-peers';

/** Runs `sigil-controller bootstrap-ca rotate` on `dataDir`: exit code and output. */
async function rotate(dataDir: string): Promise<{ code: number | null; output: string }> {
  const bin = spawnBin(MAIN, {
    args: ['bootstrap-ca', 'rotate'],
    env: { DATA_DIR: dataDir, TRUST_DOMAIN: 'test.sigil', LOG_LEVEL: 'warn' },
  });
  const { code } = await bin.exited;
  return { code, output: [...bin.stdout, ...bin.stderr].join('\n') };
}

describe('sigil-controller bootstrap-ca rotate', () => {
  let root: string;
  beforeAll(() => assertFreshBuild());
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sigil-bootstrap-ca-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('replaces the pair, keeps the old certificate, and finishes an interrupted rotation', async () => {
    const dataDir = join(root, 'data');
    const first = await loadOrCreateAuthorities({
      dataDir,
      trustDomain: 'test.sigil',
      now: new Date(),
    });
    const rotated = await rotate(dataDir);
    expect(rotated.code).toBe(0);
    const second = readFileSync(join(dataDir, DATA_FILES.bootstrapCaCertificate), 'utf8');
    expect(second).not.toBe(first.bootstrap.certificatePem);
    expect(readFileSync(join(dataDir, DATA_FILES.previousBootstrapCaCertificate), 'utf8')).toBe(
      first.bootstrap.certificatePem,
    );
    // The pair matches: the controller loads it.
    expect(
      (await loadOrCreateAuthorities({ dataDir, trustDomain: 'test.sigil', now: new Date() }))
        .bootstrap.certificatePem,
    ).toBe(second);

    // Interrupted after the key was renamed into place, before the certificate was.
    const next = await createCertificateAuthority({ trustDomain: 'test.sigil' });
    writeFileSync(join(dataDir, DATA_FILES.bootstrapCaKey), next.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dataDir, DATA_FILES.nextBootstrapCaCertificate), next.certificatePem);
    const finished = await rotate(dataDir);
    expect(finished.code).toBe(0);
    expect(finished.output).toMatch(/finished an interrupted rotation/);
    expect(readFileSync(join(dataDir, DATA_FILES.bootstrapCaCertificate), 'utf8')).toBe(
      next.certificatePem,
    );
    expect(existsSync(join(dataDir, DATA_FILES.nextBootstrapCaCertificate))).toBe(false);
  }, 60_000);

  it('refuses while the current runtime CA is an upstream intermediate, changing nothing', async () => {
    const dataDir = join(root, 'data');
    const fx = await startController({ dataDir });
    const before = fx.controller.bootstrapCaPem;
    try {
      const upstreamRoot = await createCertificateAuthority({
        trustDomain: 'test.sigil',
        commonName: 'Operator root',
      });
      const rootFile = join(root, 'root.crt');
      const rootKeyFile = join(root, 'root.key');
      writeFileSync(rootFile, upstreamRoot.certificatePem);
      writeFileSync(rootKeyFile, upstreamRoot.privateKeyPem, { mode: 0o600 });
      const prepared = await admin(fx.controller, '/api/admin/ca/prepare', {
        method: 'POST',
        body: { upstream: { root_certificate_file: rootFile, root_key_file: rootKeyFile } },
      });
      expect(prepared.status).toBe(200);
      expect(
        (await admin(fx.controller, '/api/admin/ca/activate', { method: 'POST' })).status,
      ).toBe(200);
    } finally {
      await fx.cleanup();
    }
    const refused = await rotate(dataDir);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/ERR_CA_ROTATION_REFUSED|upstream intermediate/);
    expect(refused.output).toContain('the current runtime CA is an upstream intermediate');
    expect(readFileSync(join(dataDir, DATA_FILES.bootstrapCaCertificate), 'utf8')).toBe(before);
  }, 60_000);
});
