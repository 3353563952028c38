import * as path from 'node:path';
import { spawnBin } from '@sigil/testing';
import type { BinProcess } from '@sigil/testing';

// `pnpm demo --once` is the README's main job: the real controller, connector and two tunnelers
// as processes, checked end to end. It runs the built bins (`pnpm test` builds first).
jest.setTimeout(120_000);

describe('pnpm demo --once', () => {
  let demo: BinProcess | undefined;
  // Only if the test failed half-way: SIGTERM makes the demo stop its processes and clean up.
  afterAll(() => demo?.stop());

  it('exits 0 after heartbeats, renewals and a revocation flowed end to end, with a summary', async () => {
    const root = path.resolve(__dirname, '../../..');
    demo = spawnBin(path.join(root, 'scripts/demo.js'), {
      args: ['--once'],
      cwd: root,
      env: process.env,
    });
    const { code } = await demo.exited;
    const stdout = demo.stdout.join('\n');
    expect({ code, stderr: demo.stderr.join('\n') }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^sigil demo --once: all 28 checks passed in [\d.]+ s$/m);
    for (const [kind, id] of [
      ['connector', 'connector-local-01'],
      ['tunneler', 'tunneler-local-01'],
      ['tunneler', 'tunneler-local-02'],
    ]) {
      expect(stdout).toContain(`ok   ${kind} ${id}: renewed its certificate`);
      expect(stdout).toContain(`ok   ${kind} ${id}: one stream for the whole run`);
      expect(stdout).toContain(`ok   ${kind} ${id}: heartbeats 1..`);
    }
    // tunneler-local-02 is revoked with `sigil admin tunnelers revoke` once it has renewed.
    expect(stdout).toMatch(
      /^ {2}tunneler {3}tunneler-local-02 \(via connector-local-01\) {2}REVOKED .* \(exited 4\) /m,
    );
    expect(stdout).toMatch(/^ {2}tunneler-local-02 {2}connector-local-01 {2}REVOKED {2}/m);
    for (const check of [
      'ok   sigil admin tunnelers revoke tunneler-local-02 --reason "demo: laptop reported lost" exited 0: Revoked tunneler tunneler-local-02',
      'ok   tunneler tunneler-local-02 is REVOKED in GET /api/admin/tunnelers (status REVOKED)',
      'ok   tunneler-local-02 is in GET /api/admin/revocations with its reason ("demo: laptop reported lost")',
      'ok   tunneler tunneler-local-02 stopped for good with exit code 4 and logged agent.revoked',
      'ok   connector-local-01 has tunneler-local-02 on its deny list',
      'ok   connector connector-local-01 carries on after the revocation',
      'ok   tunneler tunneler-local-01 carries on after the revocation',
      'ok   sigil admin tunnelers ls shows tunneler-local-02 REVOKED',
    ])
      expect(stdout).toContain(check);
    // The data plane: requests through tunneler-local-01's forward, byte-exact, audited.
    expect(stdout).toMatch(
      /^ {2}ok {3}tunneler-local-01 reached demo-web through connector-local-01: \d+ of \d+ requests byte-exact, 0 failed$/m,
    );
    expect(stdout).toContain(
      'ok   tunnel.closed for tunneler-local-01 -> demo-web in GET /api/admin/audit',
    );
    // The console the live demo prints, with a sign-in that works (checked by the demo itself).
    const consoleLine =
      /^ {2}console: (http:\/\/127\.0\.0\.1:\d+\/) user admin password (\S+)$/m.exec(stdout);
    expect(consoleLine).not.toBeNull();
    expect(stdout).toContain(
      `ok   the console is served at ${consoleLine![1]} (GET / 200, text/html`,
    );
    expect(stdout).toContain(
      'ok   the printed sign-in works: POST /api/admin/session as admin answered 200 (role admin)',
    );
    expect(stdout).not.toContain('FAIL');
  });
});
