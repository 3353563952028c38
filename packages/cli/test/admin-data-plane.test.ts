// `sigil admin resources|grants` and `tokens create --label` against a real controller.
import { startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigil } from './support';

jest.setTimeout(60_000);

describe('sigil admin resources and grants', () => {
  let fixture: AdminFixture;
  const admin = (args: string[]) => sigil(['admin', ...args], { env: fixture.env });
  const json = async <T>(args: string[]): Promise<T> => {
    const run = await admin([...args, '--json']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    fixture = await startAdminFixture();
    await admin(['tokens', 'create', '--kind', 'connector', '--id', 'edge-1']);
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('creates, lists and deletes a resource and its grants', async () => {
    const created = await admin([
      'resources',
      'create',
      'pg-main',
      '--address',
      '10.0.0.5:5432',
      '--connector-id',
      'edge-1',
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain(
      'Created resource pg-main at 10.0.0.5:5432 (connector edge-1)',
    );
    const listed = await admin(['resources', 'ls']);
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME\s+ADDRESS\s+CONNECTOR\s+CREATED$/);
    expect(listed.stdout).toMatch(/pg-main\s+10\.0\.0\.5:5432\s+edge-1/);

    const byLabel = await json<{ id: string; label: string }>([
      'grants',
      'create',
      'pg-main',
      '--label',
      'team=db',
    ]);
    expect(byLabel.label).toBe('team=db');
    const byId = await admin(['grants', 'create', 'pg-main', '--tunneler-id', 'laptop-1']);
    expect(byId.stdout).toMatch(
      /^Granted tunneler laptop-1 access to pg-main \(grant [0-9a-f-]{36}\)/,
    );
    const grants = await json<Array<{ id: string }>>(['grants', 'ls']);
    expect(grants).toHaveLength(2);
    const removed = await admin(['grants', 'rm', byLabel.id]);
    expect(removed.stdout).toContain('tunnelers labelled team=db no longer reaches pg-main');
    expect(await json<unknown[]>(['grants', 'ls'])).toHaveLength(1);

    const deleted = await admin(['resources', 'rm', 'pg-main']);
    expect(deleted.stdout).toBe('Deleted resource pg-main and its grants\n');
    expect(await json<unknown[]>(['grants', 'ls'])).toEqual([]);
    expect((await admin(['resources', 'ls'])).stdout).toBe('no resources\n');
  });

  it('exits 2 with the field the controller refused', async () => {
    const bad = await admin([
      'resources',
      'create',
      'x',
      '--address',
      '10.0.0.0/40:1',
      '--connector-id',
      'edge-1',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('prefix length 40 is out of range 0-32');
    const neither = await admin(['grants', 'create', 'x']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give exactly one of tunneler_id and label');
  });

  it('sends repeated --label flags with a tunneler token', async () => {
    await admin([
      'tokens',
      'create',
      '--kind',
      'tunneler',
      '--id',
      't-1',
      '--connector-id',
      'edge-1',
      '--label',
      'team=db',
      '--label',
      'ci',
    ]);
    const audit = fixture.controller.store.listAudit({ limit: 10, action: 'admin.token_created' });
    expect((await audit).find((r) => r.subject.endsWith('/t-1'))?.details.labels).toEqual([
      'ci',
      'team=db',
    ]);
  });
});
