import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBin } from './spawn-bin';

describe('spawnBin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-spawn-bin-'));
  const script = join(dir, 'bin.js');
  writeFileSync(
    script,
    [
      "process.on('SIGTERM', () => { console.log(JSON.stringify({ level: 30, event: 'stopping' })); process.exit(0); });",
      "console.log(JSON.stringify({ level: 30, event: 'started', arg: process.argv[2], env: process.env.ONLY ?? null, home: process.env.HOME ?? null }));",
      "console.log('not json');",
      "process.stderr.write('to stderr');",
      "if (process.argv[2] === 'exit') process.exit(3);",
      'setInterval(() => undefined, 1000);',
    ].join('\n'),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the script with exactly the env given, parses its JSON lines and stops it', async () => {
    const bin = spawnBin(script, { args: ['hello'], env: { ONLY: 'this' } });
    await expect(bin.next('started')).resolves.toMatchObject({
      arg: 'hello',
      env: 'this',
      home: null,
    });
    await expect(bin.stop()).resolves.toEqual({ code: 0, signal: null });
    expect(bin.records.map((record) => record.event)).toEqual(['started', 'stopping']);
    expect(bin.stdout).toContain('not json');
    expect(bin.stderr).toContain('to stderr');
  });

  it('rejects a wait, naming the script and its stderr, when the process exits first', async () => {
    const bin = spawnBin(script, { args: ['exit'] });
    await expect(bin.next('never')).rejects.toThrow(
      `${script} exited (code 3, signal null) before logging event never; stderr: to stderr`,
    );
  });
});
