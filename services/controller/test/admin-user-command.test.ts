// `sigil-controller admin-user add|rm|passwd NAME` (the built bin, a real process) against the
// store of a running controller: users it creates sign in, a password change and a removal end
// their sessions at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin } from '@sigil/testing';
import { adminHttp, signIn } from './support/admin-http';
import { startController } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';
import { assertFreshBuild, MAIN } from './support/hostile-peers';

jest.setTimeout(90_000);

/** Runs `sigil-controller admin-user ...args` on `dataDir`, with `input` piped (or no stdin). */
async function adminUser(
  dataDir: string,
  args: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string[]; stderr: string }> {
  const bin = spawnBin(MAIN, {
    args: ['admin-user', ...args],
    env: { DATA_DIR: dataDir, TRUST_DOMAIN: 'test.sigil', LOG_LEVEL: 'warn' },
    ...(input === undefined ? {} : { stdin: 'pipe' as const }),
  });
  if (input !== undefined) bin.child.stdin!.end(input);
  const { code } = await bin.exited;
  return { code, stdout: bin.stdout, stderr: bin.stderr.join('\n') };
}

describe('sigil-controller admin-user', () => {
  let root: string;
  let fixture: ControllerFixture;
  let base: string;
  beforeAll(async () => {
    assertFreshBuild();
    root = mkdtempSync(join(tmpdir(), 'sigil-admin-user-'));
    fixture = await startController({
      dataDir: join(root, 'data'),
      adminPassword: 'first-admin-pass-1',
    });
    base = fixture.controller.adminUrl;
  });
  afterAll(async () => {
    await fixture.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('adds a user with a piped password and a role, or a generated one printed once', async () => {
    const piped = await adminUser(
      fixture.dataDir,
      ['add', 'alice', '--role', 'admin'],
      'alice-password-1\n',
    );
    expect(piped).toMatchObject({ code: 0, stdout: [] });
    expect(piped.stderr).toMatch(/created console user "alice" \(role admin\)/);
    expect((await signIn(base, 'alice', 'alice-password-1')).response.json.role).toBe('admin');

    const generated = await adminUser(fixture.dataDir, ['add', 'bob']);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toHaveLength(1);
    expect(generated.stderr).toMatch(/shown only this once/);
    expect(generated.stderr).not.toContain(generated.stdout[0]);
    const bob = await signIn(base, 'bob', generated.stdout[0]!);
    expect(bob.response.json.role).toBe('viewer');

    const taken = await adminUser(fixture.dataDir, ['add', 'bob']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
  });

  it('passwd ends the sessions of a running controller; rm ends the user', async () => {
    await adminUser(fixture.dataDir, ['add', 'carol'], 'carol-password-1\n');
    const before = await signIn(base, 'carol', 'carol-password-1');
    const changed = await adminUser(fixture.dataDir, ['passwd', 'carol'], 'carol-password-2\n');
    expect(changed.code).toBe(0);
    expect((await adminHttp(base, '/api/admin/session', before)).status).toBe(401);
    const after = await signIn(base, 'carol', 'carol-password-2');
    expect((await adminHttp(base, '/api/admin/session', after)).status).toBe(200);

    const removed = await adminUser(fixture.dataDir, ['rm', 'carol']);
    expect(removed.code).toBe(0);
    expect((await adminHttp(base, '/api/admin/session', after)).status).toBe(401);
    const again = await adminUser(fixture.dataDir, ['rm', 'carol']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no console user "carol"/);
  });

  it('refuses bad usage, naming what is wrong', async () => {
    const noVerb = await adminUser(fixture.dataDir, ['frob', 'x']);
    expect(noVerb.code).not.toBe(0);
    expect(noVerb.stderr).toMatch(/usage: sigil-controller admin-user add NAME/);
    const role = await adminUser(fixture.dataDir, ['add', 'dave', '--role', 'root']);
    expect(role.stderr).toMatch(/--role must be one of viewer, admin/);
    const short = await adminUser(fixture.dataDir, ['add', 'erin'], 'short\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/password must have 12/);
    expect(short.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
