// `sigil admin agent-versions` and the upgrade flag in `connectors ls` / `tunnelers ls`, against
// a real controller with a connector and a tunneler enrolled at version 9.9.9-test.
import { startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigil } from './support';

jest.setTimeout(60_000);

describe('sigil admin agent-versions', () => {
  let fixture: AdminFixture;
  const admin = (args: string[]) => sigil(['admin', ...args], { env: fixture.env });
  const json = async (args: string[]) => {
    const run = await admin([...args, '--json']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    fixture = await startAdminFixture();
    const { controller } = fixture;
    const connector = await controller.createEnrollmentToken({ kind: 'connector', id: 'edge-1' });
    await fixture.enroll('connector', 'edge-1', connector.token);
    const tunneler = await controller.createEnrollmentToken({
      kind: 'tunneler',
      id: 'laptop-1',
      connectorId: 'edge-1',
    });
    await fixture.enroll('tunneler', 'laptop-1', tunneler.token);
  });
  afterAll(() => fixture.close());

  it('shows that nothing is pinned', async () => {
    const run = await admin(['agent-versions']);
    expect(run).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'KIND       MINIMUM  SET AT  RENEWALS REFUSED FROM  BELOW MINIMUM',
        'connector  -        -       -                      0',
        'tunneler   -        -       -                      0',
        'AGENT_UPGRADE_GRACE is unset: agents below a minimum are flagged and told, never refused.',
        '',
      ].join('\n'),
    });
  });

  it('pins one minimum, keeps the other, and flags the agents below in the lists', async () => {
    expect(await json(['agent-versions', '--connector-min', '10.0.0'])).toMatchObject({
      connector_min: '10.0.0',
      tunneler_min: null,
      upgrade_required: { connectors: 1, tunnelers: 0 },
    });
    // 9.9.9-test is below 9.9.9 (a prerelease); the connector minimum stays as it was.
    expect(await json(['agent-versions', '--tunneler-min', '9.9.9'])).toMatchObject({
      connector_min: '10.0.0',
      tunneler_min: '9.9.9',
      upgrade_required: { connectors: 1, tunnelers: 1 },
    });
    const table = (await admin(['agent-versions'])).stdout.split('\n');
    expect(table[1]).toMatch(/^connector {2}10\.0\.0 {3}\d{4}-\S+Z \((now|\d+s ago)\) +never +1$/);
    expect(table[2]).toMatch(/^tunneler {3}9\.9\.9 {4}\d{4}-\S+Z \((now|\d+s ago)\) +never +1$/);

    const connectors = (await admin(['connectors', 'ls'])).stdout.split('\n');
    expect(connectors[1]).toMatch(/ 9\.9\.9-test \(upgrade required\) {2}10\.1\.2\.3$/);
    expect((await admin(['tunnelers', 'ls'])).stdout).toMatch(
      /laptop-1 .* 9\.9\.9-test \(upgrade required\)\n$/,
    );
    const listed = (await admin(['connectors', 'ls', '--json'])).stdout;
    expect(JSON.parse(listed)).toEqual([expect.objectContaining({ upgrade_required: true })]);
  });

  it("shows the controller's 400 naming the field, and clears a minimum with none", async () => {
    const bad = await admin(['agent-versions', '--tunneler-min', '9.9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^error: PUT \/api\/admin\/agent-versions: tunneler_min "9\.9" is not a semantic version .*\(field tunneler_min\) \(ERR_REQUEST_INVALID\)\n$/,
    );
    expect(await json(['agent-versions', '--connector-min', 'none'])).toMatchObject({
      connector_min: null,
      tunneler_min: '9.9.9',
    });
    expect((await admin(['connectors', 'ls'])).stdout).not.toMatch(/upgrade required/);
  });
});
