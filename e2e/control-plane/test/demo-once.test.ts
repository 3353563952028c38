import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

// `pnpm demo --once` is the README's main job: the real controller, connector and two tunnelers
// as processes, checked end to end. It runs the built bins (`pnpm test` builds first).
jest.setTimeout(120_000);

describe('pnpm demo --once', () => {
  let demo: ChildProcess | undefined;
  afterAll(async () => {
    // Only if the test failed half-way: SIGTERM makes the demo stop its processes and clean up.
    if (demo !== undefined && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo!.once('exit', resolve));
      demo.kill('SIGTERM');
      await exited;
    }
  });

  it('exits 0 after heartbeats and renewals flowed end to end, with a summary', async () => {
    const root = path.resolve(__dirname, '../../..');
    const child = spawn(process.execPath, [path.join(root, 'scripts/demo.js'), '--once'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo = child;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
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
