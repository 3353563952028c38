// `sigil admin jwt-authority` against a real controller (in this process, embedded store).
import { startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigil } from './support';

jest.setTimeout(60_000);

interface View {
  bundle_version: number;
  keys: { role: string; kid: string }[];
  retire_allowed_at: string | null;
}

describe('sigil admin jwt-authority', () => {
  let fixture: AdminFixture;
  const run = (args: string[]) => sigil(['admin', ...args], { env: fixture.env });
  const step = async (args: string[]): Promise<View> => {
    const result = await run(['jwt-authority', ...args, '--json']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(result.stdout) as View;
  };

  beforeAll(async () => {
    fixture = await startAdminFixture();
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('prepares, activates and retires the JWT signing key, the bundle holding both in between; audited', async () => {
    const initial = await step(['status']);
    expect(initial.keys.map((k) => k.role)).toEqual(['current']);
    const [first] = initial.keys;
    // An entry whose JWT-SVIDs live an hour: the old key may not retire before that.
    const entry = await run([
      'entries',
      'create',
      '--spiffe-id',
      'spiffe://cli.sigil/billing',
      '--parent-id',
      'spiffe://cli.sigil/connector/edge-1',
      '--selector',
      'unix:uid:1000',
      '--jwt-ttl',
      '1h',
    ]);
    expect(entry.code).toBe(0);

    const prepared = await run(['jwt-authority', 'prepare']);
    expect(prepared.code).toBe(0);
    expect(prepared.stdout).toContain('Prepared the next JWT authority key');
    expect(prepared.stdout).toMatch(/next\s+\S+/);
    const activated = await step(['activate']);
    expect(activated.keys.map((k) => k.role)).toEqual(['current', 'previous']);
    expect(activated.keys[1]!.kid).toBe(first!.kid);
    expect(activated.bundle_version).toBe(initial.bundle_version + 2);
    expect(Date.parse(activated.retire_allowed_at!) - Date.now()).toBeGreaterThan(3500_000);

    const early = await run(['jwt-authority', 'retire']);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('may be valid until');
    const forced = await step(['retire', '--force']);
    expect(forced.keys.map((k) => [k.role, k.kid])).toEqual([['current', activated.keys[0]!.kid]]);

    const audit = await run(['audit', '--json']);
    const actions = (JSON.parse(audit.stdout) as { action: string; outcome: string }[]).map(
      (r) => `${r.action}:${r.outcome}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'admin.jwt_authority_prepared:success',
        'admin.jwt_authority_activated:success',
        'admin.jwt_authority_retired:refused',
        'admin.jwt_authority_retired:success',
      ]),
    );
  });

  it('exits 2 naming the step that is not allowed', async () => {
    const result = await run(['jwt-authority', 'activate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no key is prepared: prepare one first');
  });
});
