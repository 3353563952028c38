// docs/demo.md: `pnpm demo` stopped with Ctrl-C stops everything and exits 0, without pnpm's
// ELIFECYCLE line. Ctrl-C signals the terminal's whole foreground process group (pnpm, the shell
// running the script, the demo), so this test does the same: `pnpm demo` in a process group of
// its own, SIGINT to the group. The root script `exec`s the demo, so no shell between pnpm and
// the demo is killed by the signal (pnpm would report a command killed by SIGINT as failed).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@sigil/testing';

const ROOT = join(__dirname, '..', '..', '..');

jest.setTimeout(300_000);

describe('pnpm demo, stopped with Ctrl-C', () => {
  it('stops every process, exits 0 and prints no ELIFECYCLE', async () => {
    const demo = spawn('pnpm', ['demo'], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      demo.once('close', (code, signal) => resolve({ code, signal })),
    );
    try {
      // The live table, once both tunnelers are in it: the whole control plane is running.
      await waitFor(
        'the demo status table',
        () => (/^tunneler +tunneler-local-02 /m.test(output) ? true : undefined),
        240_000,
      );
      process.kill(-demo.pid!, 'SIGINT');
      const result = await exited;
      expect({ ...result, elifecycle: output.includes('ELIFECYCLE') }).toEqual({
        code: 0,
        signal: null,
        elifecycle: false,
      });
      expect(output).toContain(
        'stopped: controller, connector and tunnelers are down; temp dir removed',
      );
    } finally {
      if (demo.exitCode === null) process.kill(-demo.pid!, 'SIGKILL');
    }
  });
});
