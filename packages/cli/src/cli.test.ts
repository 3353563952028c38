import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sigil } from '../test/support';

const COMMANDS = [
  [],
  ['ca'],
  ['ca', 'init'],
  ['certs'],
  ['certs', 'issue'],
  ['certs', 'generate'],
  ['certs', 'check'],
  ['svid'],
  ['svid', 'verify'],
  ['csr'],
  ['csr', 'sign'],
  ['admin'],
  ['admin', 'tokens'],
  ['admin', 'tokens', 'create'],
  ['admin', 'tokens', 'ls'],
  ['admin', 'tokens', 'rm'],
  ['admin', 'connectors'],
  ['admin', 'connectors', 'ls'],
  ['admin', 'connectors', 'revoke'],
  ['admin', 'tunnelers'],
  ['admin', 'tunnelers', 'ls'],
  ['admin', 'tunnelers', 'revoke'],
  ['admin', 'audit'],
  ['admin', 'revocations'],
  ['admin', 'revocations', 'ls'],
  ['doctor'],
  ['doctor', 'tls'],
  ['doctor', 'connect'],
  ['doctor', 'agent'],
];

/** Command groups: every other entry of COMMANDS is a leaf, which takes --json. */
const GROUPS = new Set([
  '',
  'ca',
  'certs',
  'svid',
  'csr',
  'admin',
  'admin tokens',
  'admin connectors',
  'admin tunnelers',
  'admin revocations',
  'doctor',
]);

describe('sigil command line', () => {
  it.each(COMMANDS.map((path) => [path.join(' ') || '(root)', path]))(
    '%s --help prints usage and exits 0',
    async (_name, path) => {
      const run = await sigil([...path, '--help']);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain(
        `Usage: sigil${path.length ? ` ${path.join(' ')}` : ''} [options]`,
      );
      if (!GROUPS.has(path.join(' '))) expect(run.stdout).toContain('--json');
    },
  );

  it('documents the exit codes in the root help', async () => {
    expect((await sigil(['--help'])).stdout).toContain(
      'Exit codes: 0 ok, 1 attention (certs check: expiring soon; svid verify: rejected; doctor: a warning), 2 failure (certs inspect: the chain does not verify; doctor: a failed check), 3 admin API or inspected host unreachable, 64 usage error, 70 internal error.',
    );
    expect((await sigil(['admin', '--help'])).stdout).toContain(
      'Exit codes: 0 ok, 2 refused by the controller or misconfigured, 3 no usable answer (unreachable, timed out, 5xx), 64 usage error.',
    );
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(await sigil(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('shows help on standard error and exits 64 when the command is incomplete', async () => {
    for (const path of [[], ['certs']]) {
      const run = await sigil(path);
      expect(run.code).toBe(64);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('Usage: sigil');
    }
  });

  it('explains an unknown command in one line, suggesting the closest one', async () => {
    const run = await sigil(['certs', 'isue']);
    expect(run).toEqual({
      code: 64,
      stdout: '',
      stderr: "error: unknown command 'isue' (Did you mean issue?) (ERR_USAGE)\n",
    });
  });

  it('prints usage errors as JSON on standard output with --json', async () => {
    const run = await sigil(['certs', 'check', 'tls.crt', '--warn-days', 'soon', '--json']);
    expect(run.code).toBe(64);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'ERR_USAGE',
        message: "--warn-days: 'soon' is not a whole number of days, such as 30",
      },
    });
  });

  it('supports "sigil help <command>"', async () => {
    const run = await sigil(['help', 'certs']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: sigil certs [options] [command]');
  });
});
