// `sigil admin entries` against a real controller (in this process, embedded store).
import { startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigil } from './support';

jest.setTimeout(60_000);

describe('sigil admin entries', () => {
  let fixture: AdminFixture;
  const admin = (args: string[]) => sigil(['admin', 'entries', ...args], { env: fixture.env });

  beforeAll(async () => {
    fixture = await startAdminFixture();
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('creates, lists and deletes an entry; --json prints the API answer', async () => {
    const created = await admin([
      'create',
      '--spiffe-id',
      'spiffe://cli.sigil/billing',
      '--parent-id',
      'spiffe://cli.sigil/connector/edge-1',
      '--selector',
      'unix:uid:1000',
      '--selector',
      'unix:path:/usr/bin/node',
      '--x509-ttl',
      '30m',
      '--json',
    ]);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const entry = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(entry).toMatchObject({
      spiffe_id: 'spiffe://cli.sigil/billing',
      parent_id: 'spiffe://cli.sigil/connector/edge-1',
      selectors: ['unix:path:/usr/bin/node', 'unix:uid:1000'],
      x509_ttl_seconds: 1800,
      jwt_ttl_seconds: 300,
    });
    const listed = await admin(['ls']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(String(entry.id));
    expect(listed.stdout).toContain('unix:path:/usr/bin/node unix:uid:1000');
    const removed = await admin(['rm', String(entry.id)]);
    expect(removed.stdout.trim()).toBe(
      `Deleted registration entry ${String(entry.id)} (spiffe://cli.sigil/billing, parent spiffe://cli.sigil/connector/edge-1)`,
    );
    expect((await admin(['ls'])).stdout.trim()).toBe('no registration entries');
  });

  it('exits 2 with the controller’s reason for a bad selector', async () => {
    const run = await admin([
      'create',
      '--spiffe-id',
      'spiffe://cli.sigil/billing',
      '--parent-id',
      'spiffe://cli.sigil/connector/edge-1',
      '--selector',
      'docker:label:x',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('selector "docker:label:x" is not one of');
  });
});
