// docs/integration-guide.md's local-development steps, executed as written (the marked block
// `<!-- snippet: local-development.sh -->`, docs/contributing.md#runnable-snippets) from the
// repository root: certificates, policies, the three sample services, and a call through the
// chain with the example client. The built bins are run (`pnpm test` builds first).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

jest.setTimeout(240_000);

describe('docs/integration-guide.md, local development', () => {
  it('ends in a working call through content-service, user-service and identity-service', async () => {
    const guide = readFileSync(join(ROOT, 'docs/integration-guide.md'), 'utf8');
    const code = /^<!-- snippet: local-development\.sh -->\n```bash\n([\s\S]*?)^```$/m.exec(
      guide,
    )?.[1];
    expect(code).toBeDefined();
    // Its own process group, so the services it starts in the background go with it on failure.
    const script = spawn('bash', ['-e', '-c', code!], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    script.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    script.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => process.kill(-script.pid!, 'SIGKILL'), 200_000);
    try {
      const exit = await new Promise<number | null>((resolve) => script.once('close', resolve));
      expect({ exit, stderr }).toEqual({ exit: 0, stderr: expect.any(String) });
      expect(stdout.match(/^\{"status":"ready"\}$/gm)).toHaveLength(3);
      expect(stdout).toMatch(/^created user usr_[0-9a-f]+ \(Ada Lovelace\) in tenant acme$/m);
      expect(stdout).toMatch(/^issued a session token for usr_[0-9a-f]+, valid until \S+$/m);
      expect(stdout).toMatch(/^created post post_[0-9a-f]+ \(#1\) by Ada Lovelace$/m);
      expect(stdout).toMatch(/^watch: #1 "Hello over mTLS" by Ada Lovelace$/m);
    } finally {
      clearTimeout(timer);
      try {
        process.kill(-script.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
  });
});
