import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const registerTs = path.join(__dirname, '../../../scripts/register-ts.js');
const child = path.join(__dirname, '../test/fixtures/run-main-child.ts');

function run(mode: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-r', registerTs, child, mode], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('runMain (real child process)', () => {
  it('prints one line `error CODE: message` for a SigilError and exits 1', () => {
    const { status, stdout, stderr } = run('sigil');
    expect(status).toBe(1);
    expect(stderr).toBe('error ERR_TLS_ENV_MISSING: GRPC_SERVER_CERT_PATH is not set\n');
    const event = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(event).toMatchObject({
      event: 'main.failed',
      code: 'ERR_TLS_ENV_MISSING',
      details: { variable: 'GRPC_SERVER_CERT_PATH' },
    });
  });

  it.each([
    ['refused', 2, 'ERR_ENROLLMENT_REFUSED: the controller refused enrollment'],
    ['unreachable', 3, 'ERR_CONTROLLER_UNREACHABLE: no controller reachable'],
    ['internal', 1, 'ERR_INTERNAL: renewal failed'],
  ])(
    'exits %s with the exit code of the catalogue (not details.exitCode), 1 for ERR_INTERNAL',
    (mode, exitCode, line) => {
      const { status, stderr } = run(mode);
      expect(status).toBe(exitCode);
      expect(stderr).toBe(`error ${line}\n`);
    },
  );

  it('reports any other error as ERR_INTERNAL on one line, without a stack trace', () => {
    const { status, stderr } = run('plain');
    expect(status).toBe(1);
    expect(stderr).toBe('error ERR_INTERNAL: cannot read properties of undefined\n');
  });

  it('leaves the process alone when main resolves', () => {
    const { status, stdout, stderr } = run('ok');
    expect(status).toBe(0);
    expect(stdout).toBe('ok\n');
    expect(stderr).toBe('');
  });
});
