// The built `sigil` executable running `sigil admin` as operators do: a real process, its
// environment the only configuration, against a real controller on loopback.
import { ADMIN_TOKEN, closedPort, startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigilProcess, temporaryDirectory } from './support';

// Each run starts a Node process (about a second on a busy machine).
jest.setTimeout(90_000);

describe('the sigil executable: sigil admin', () => {
  let fixture: AdminFixture;
  const tmp = temporaryDirectory('cli-admin-process');
  const run = (args: string[], env: Record<string, string> = fixture.env) =>
    sigilProcess(['admin', ...args], tmp.dir, env);

  beforeAll(async () => {
    fixture = await startAdminFixture();
  });
  afterAll(async () => {
    await fixture.close();
    tmp.remove();
  });

  it('creates a token, and lists the agent it enrolled as a table and as JSON', async () => {
    const created = await run([
      'tokens',
      'create',
      '--kind',
      'connector',
      '--id',
      'edge-7',
      '--json',
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const { token, spiffe_id: spiffeId } = JSON.parse(created.stdout) as Record<string, string>;
    expect(spiffeId).toBe('spiffe://cli.sigil/connector/edge-7');
    await fixture.enroll('connector', 'edge-7', token!);

    const table = await run(['connectors', 'ls']);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, row] = table.stdout.split('\n');
    expect(header).toMatch(/^ID +STATUS +CONNECTED +LAST SEEN +VERSION +PRIVATE IP$/);
    expect(row).toMatch(
      /^edge-7 +(ONLINE|OFFLINE) +no +\S+ \((now|\d+s ago)\) +9\.9\.9-test +10\.1\.2\.3$/,
    );

    const listed = await run(['connectors', 'ls', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: 'edge-7' })]);
  });

  it('revokes the connector, which connectors ls then shows REVOKED', async () => {
    const revoked = await run(['connectors', 'revoke', 'edge-7', '--reason', 'retired']);
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    expect(revoked.stdout).toMatch(
      /^Revoked connector edge-7 \(spiffe:\/\/cli\.sigil\/connector\/edge-7\) at \S+Z: retired\n$/,
    );
    const [, row] = (await run(['connectors', 'ls'])).stdout.split('\n');
    expect(row).toMatch(/^edge-7 +REVOKED +no +/);
  });

  it('exits 2 with the API reason for a bad kind, and for a wrong token', async () => {
    const bad = await run(['tokens', 'create', '--kind', 'robot', '--id', 'r-1']);
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: POST /api/admin/tokens: kind must be "connector" or "tunneler" (field kind) (ERR_TOKEN_REQUEST_INVALID)\n',
    });
    const wrong = await run(['audit'], { ...fixture.env, SIGIL_ADMIN_TOKEN: `${ADMIN_TOKEN}-not` });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('refused the admin token from SIGIL_ADMIN_TOKEN');
  });

  it('exits 3 naming SIGIL_ADMIN_URL when nothing answers there', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = await run(['tunnelers', 'ls', '--json'], {
      SIGIL_ADMIN_URL: url,
      SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(unreachable.code).toBe(3);
    expect(JSON.parse(unreachable.stdout)).toEqual({
      error: {
        code: 'ERR_CONTROLLER_UNREACHABLE',
        message: `cannot reach the admin API at ${url} (SIGIL_ADMIN_URL): connection refused (is the controller running?)`,
      },
    });
  });
});
