import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, generateKeyPair, type CertificateAuthority } from '@sigil/pki';
import { issueTestIdentity } from '../test/support/identity';
import type { AgentIdentity } from './identity';
import { createIdentityStore, STATE_FILES } from './identity-store';

let ca: CertificateAuthority;
let controllerCa: CertificateAuthority;

beforeAll(async () => {
  ca = await createCertificateAuthority({ trustDomain: 'example.org', commonName: 'runtime' });
  controllerCa = await createCertificateAuthority({
    trustDomain: 'example.org',
    commonName: 'bootstrap',
  });
});

function issueIdentity(renewals = 0): Promise<AgentIdentity> {
  return issueTestIdentity({ ca, controllerCa, renewals });
}

describe('createIdentityStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'agent-state-')), 'state');
  });
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('returns undefined before enrollment', async () => {
    expect(await createIdentityStore({ kind: 'connector', stateDir: dir }).load()).toBeUndefined();
  });

  it('refuses to save into, or load from, a STATE_DIR open to other users, naming the chmod', async () => {
    const identity = await issueIdentity();
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const store = createIdentityStore({ kind: 'connector', stateDir: dir });
    const refusal = expect.objectContaining({
      code: 'ERR_STATE_UNWRITABLE',
      message: `STATE_DIR ${dir} is open to other users (mode 777): they could read or replace the keys written there; run: chmod 700 ${dir}`,
    });
    await expect(store.save(identity)).rejects.toEqual(refusal);
    expect(existsSync(path.join(dir, STATE_FILES.key))).toBe(false);
    chmodSync(dir, 0o700);
    await store.save(identity);
    chmodSync(dir, 0o770);
    await expect(store.load()).rejects.toEqual(
      expect.objectContaining({
        code: 'ERR_STATE_UNWRITABLE',
        message: expect.stringContaining('mode 770'),
      }),
    );
  });

  it('never writes a key through a symbolic link planted where a temporary file used to be named', async () => {
    mkdirSync(dir, { mode: 0o700 });
    const stolen = path.join(path.dirname(dir), 'stolen');
    writeFileSync(stolen, '');
    // The old predictable names: ${path}.tmp-${pid} and ${path}.new.tmp-${pid}.
    for (const name of [STATE_FILES.key, STATE_FILES.key + '.new'])
      symlinkSync(stolen, path.join(dir, `${name}.tmp-${process.pid}`));
    await createIdentityStore({ kind: 'connector', stateDir: dir }).save(await issueIdentity());
    expect(readFileSync(stolen, 'utf8')).toBe('');
    expect(readFileSync(path.join(dir, STATE_FILES.key), 'utf8')).toContain('PRIVATE KEY');
  });

  it('persists the identity with a 0600 key in a 0700 directory, and loads it back in a new process', async () => {
    const identity = await issueIdentity();
    await createIdentityStore({ kind: 'connector', stateDir: dir }).save(identity);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, STATE_FILES.key)).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, STATE_FILES.certificate), 'utf8')).toBe(
      identity.certificateChainPem,
    );
    const metadata = JSON.parse(readFileSync(path.join(dir, STATE_FILES.metadata), 'utf8'));
    expect(metadata).toMatchObject({
      kind: 'connector',
      agent_id: 'edge-1',
      spiffe_id: identity.spiffeId,
      controller_addrs: ['127.0.0.1:8443'],
    });
    expect(JSON.stringify(metadata)).not.toContain('PRIVATE KEY');
    const loaded = await createIdentityStore({ kind: 'connector', stateDir: dir }).load();
    expect(loaded).toEqual({
      ...identity,
      connectorId: undefined,
      connectorAddress: undefined,
      notBefore: loaded!.notBefore,
      notAfter: loaded!.notAfter,
    });
    expect(Math.abs(loaded!.notAfter.getTime() - identity.notAfter.getTime())).toBeLessThan(1000);
  });

  it('replaces key and certificate on renewal, leaving no temporary files', async () => {
    const store = createIdentityStore({ kind: 'connector', stateDir: dir });
    await store.save(await issueIdentity());
    const renewed = await issueIdentity(1);
    await store.save(renewed);
    const loaded = await store.load();
    expect(loaded!.certificateChainPem).toBe(renewed.certificateChainPem);
    expect(loaded!.privateKeyPem).toBe(renewed.privateKeyPem);
    expect(loaded!.renewals).toBe(1);
    expect(
      existsSync(path.join(dir, 'tls.crt.new')) || existsSync(path.join(dir, 'tls.key.new')),
    ).toBe(false);
  });

  describe('after a crash in the middle of a renewal', () => {
    let old: AgentIdentity;
    let next: AgentIdentity;
    beforeEach(async () => {
      old = await issueIdentity();
      next = await issueIdentity(1);
      await createIdentityStore({ kind: 'connector', stateDir: dir }).save(old);
    });

    it('discards a new key written before its certificate', async () => {
      writeFileSync(path.join(dir, 'tls.key.new'), next.privateKeyPem, { mode: 0o600 });
      const loaded = await createIdentityStore({ kind: 'connector', stateDir: dir }).load();
      expect(loaded!.privateKeyPem).toBe(old.privateKeyPem);
      expect(existsSync(path.join(dir, 'tls.key.new'))).toBe(false);
    });

    it('rolls the pair forward once both were written', async () => {
      writeFileSync(path.join(dir, 'tls.key.new'), next.privateKeyPem, { mode: 0o600 });
      writeFileSync(path.join(dir, 'tls.crt.new'), next.certificateChainPem);
      const loaded = await createIdentityStore({ kind: 'connector', stateDir: dir }).load();
      expect(loaded!.certificateChainPem).toBe(next.certificateChainPem);
      expect(loaded!.privateKeyPem).toBe(next.privateKeyPem);
    });

    it('rolls the certificate forward when the key was already renamed', async () => {
      writeFileSync(path.join(dir, 'tls.key'), next.privateKeyPem, { mode: 0o600 });
      writeFileSync(path.join(dir, 'tls.crt.new'), next.certificateChainPem);
      const loaded = await createIdentityStore({ kind: 'connector', stateDir: dir }).load();
      expect(loaded!.certificateChainPem).toBe(next.certificateChainPem);
    });
  });

  it('refuses a key that does not match the certificate, naming both files', async () => {
    await createIdentityStore({ kind: 'connector', stateDir: dir }).save(await issueIdentity());
    writeFileSync(
      path.join(dir, STATE_FILES.key),
      (await generateKeyPair('ec-p256')).privateKeyPem,
    );
    await expect(
      createIdentityStore({ kind: 'connector', stateDir: dir }).load(),
    ).rejects.toMatchObject({
      code: 'ERR_KEY_MISMATCH',
      message: expect.stringContaining(
        `${path.join(dir, 'tls.key')} is not the key of the certificate in ${path.join(dir, 'tls.crt')}`,
      ),
    });
  });

  it('refuses the state dir of another agent kind, and an incomplete one', async () => {
    await createIdentityStore({ kind: 'connector', stateDir: dir }).save(await issueIdentity());
    await expect(createIdentityStore({ kind: 'tunneler', stateDir: dir }).load()).rejects.toThrow(
      'holds the identity of a connector (edge-1), not of a tunneler',
    );
    rmSync(path.join(dir, STATE_FILES.bundle));
    await expect(createIdentityStore({ kind: 'connector', stateDir: dir }).load()).rejects.toThrow(
      'incomplete identity, missing ca.crt',
    );
  });

  it('keeps an ephemeral identity in memory only', async () => {
    const store = createIdentityStore({ kind: 'connector' });
    expect(store.stateDir).toBeUndefined();
    const identity = await issueIdentity();
    await store.save(identity);
    expect(await store.load()).toEqual(identity);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports an unwritable state dir as one error naming it', async () => {
    writeFileSync(path.join(path.dirname(dir), 'blocker'), '');
    const blocked = path.join(path.dirname(dir), 'blocker', 'state');
    await expect(
      createIdentityStore({ kind: 'connector', stateDir: blocked }).save(await issueIdentity()),
    ).rejects.toMatchObject({
      code: 'ERR_STATE_UNWRITABLE',
      message: expect.stringContaining(blocked),
    });
  });
});
