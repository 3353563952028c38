// `sigil admin ca` against a real controller: the CA rotation verbs and their refusals.
import { startAdminFixture } from './admin-support';
import type { AdminFixture } from './admin-support';
import { sigil } from './support';

jest.setTimeout(60_000);

describe('sigil admin ca', () => {
  let fixture: AdminFixture;
  const admin = (args: string[]) => sigil(['admin', 'ca', ...args], { env: fixture.env });

  beforeAll(async () => {
    fixture = await startAdminFixture();
    const { token } = await fixture.controller.createEnrollmentToken({
      kind: 'connector',
      id: 'edge-1',
    });
    // Enrolled, so ONLINE for a while, but never connected: it cannot acknowledge a new root.
    await fixture.enroll('connector', 'edge-1', token);
  });
  afterAll(() => fixture.close());

  it('shows the current generation with the live certificates under it', async () => {
    const run = await admin(['status']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^bundle version 1\n/);
    expect(run.stdout).toMatch(/current\s+1\s+\S+Z\s+1\s+0\s+[0-9a-f:]+/);
  });

  it('refuses to retire without a previous generation (exit 2)', async () => {
    const run = await admin(['retire']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('retire refused: there is no previous generation');
  });

  it('prepares the next generation, then refuses to activate while an online agent has not acknowledged it', async () => {
    const prepared = await admin(['prepare']);
    expect(prepared.code).toBe(0);
    expect(prepared.stdout).toContain('Prepared runtime CA generation 2');
    expect(prepared.stdout).toContain('next 2, current 1, previous -; bundle version 2');
    const again = await admin(['prepare']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('generation 2 is already prepared');
    const activate = await admin(['activate']);
    expect(activate.code).toBe(2);
    expect(activate.stderr).toContain(
      'have not acknowledged the bundle with the new root (connector edge-1)',
    );
    const status = JSON.parse((await admin(['status', '--json'])).stdout) as {
      bundle_version: number;
      activation: { allowed: boolean; pending: { id: string; bundle_version: number }[] };
    };
    expect(status.bundle_version).toBe(2);
    expect(status.activation.allowed).toBe(false);
    expect(status.activation.pending).toEqual([
      { kind: 'connector', id: 'edge-1', online: true, bundle_version: 0 },
    ]);
  });
});
