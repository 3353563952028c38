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

  it('exits 0 after heartbeats and renewals flowed end to end, with a summary', async () => {
    const root = path.resolve(__dirname, '../../..');
    demo = spawnBin(path.join(root, 'scripts/demo.js'), {
      args: ['--once'],
      cwd: root,
      env: process.env,
    });
    const { code } = await demo.exited;
    const stdout = demo.stdout.join('\n');
    expect({ code, stderr: demo.stderr.join('\n') }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^sigil demo --once: all 16 checks passed in [\d.]+ s$/m);
    for (const [kind, id] of [
      ['connector', 'connector-local-01'],
      ['tunneler', 'tunneler-local-01'],
      ['tunneler', 'tunneler-local-02'],
    ]) {
      expect(stdout).toContain(`ok   ${kind} ${id}: renewed its certificate`);
      expect(stdout).toContain(`ok   ${kind} ${id}: one stream for the whole run`);
      expect(stdout).toContain(`ok   ${kind} ${id}: heartbeats 1..`);
    }
    expect(stdout).not.toContain('FAIL');
  });
});
