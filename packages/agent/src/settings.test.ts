import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveAgentConfig } from './config';
import { AGENT_SETTINGS, readEnrollmentToken, secretFlagWarning, settingsFor } from './settings';

describe('AGENT_SETTINGS', () => {
  it('gives every variable a flag of the same name in kebab-case', () => {
    // The exceptions are the names: TUNNELER_FORWARDS is `--forward`, given once per
    // forward; SIGIL_WORKLOAD_API_SOCKET is `--workload-api-socket`.
    const named: Record<string, string> = {
      TUNNELER_FORWARDS: 'forward',
      SIGIL_WORKLOAD_API_SOCKET: 'workload-api-socket',
    };
    for (const setting of AGENT_SETTINGS)
      expect(setting.flag).toBe(named[setting.env] ?? setting.env.toLowerCase().replace(/_/g, '-'));
    expect(AGENT_SETTINGS.find((s) => s.env === 'TUNNELER_FORWARDS')).toMatchObject({
      flag: 'forward',
      repeatable: true,
      kinds: ['tunneler'],
    });
  });

  it('splits the kind-specific settings', () => {
    expect(settingsFor('connector').map((s) => s.env)).toEqual(
      expect.arrayContaining(['CONNECTOR_ID', 'CONNECTOR_LISTEN_ADDR']),
    );
    expect(settingsFor('connector').map((s) => s.env)).not.toContain('CONNECTOR_ADDR');
    expect(settingsFor('tunneler').map((s) => s.env)).toEqual(
      expect.arrayContaining(['TUNNELER_ID', 'CONNECTOR_ADDR']),
    );
    expect(settingsFor('tunneler').map((s) => s.env)).not.toContain('CONNECTOR_LISTEN_ADDR');
  });

  it('is documented in docs/agents.md, variable, flag and YAML key', () => {
    const docs = readFileSync(path.join(__dirname, '../../../docs/agents.md'), 'utf8');
    for (const setting of AGENT_SETTINGS) {
      expect(docs).toContain(`\`${setting.env}\``);
      expect(docs).toContain(`\`--${setting.flag}\``);
      expect(docs).toContain(`\`${setting.yaml}\``);
    }
  });
});

describe('the enrollment token off the command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agent-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const enrollEnv = {
    CONTROLLER_ADDR: '10.0.0.5:8443',
    CONTROLLER_CA_PATH: '/etc/sigil/controller-ca.crt',
    CONNECTOR_ID: 'edge-1',
    STATE_DIR: '/var/lib/sigil-connector',
  };

  it('reads ENROLLMENT_TOKEN_FILE (first line, trimmed) and standard input for "-"', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, '  sigil_et_from-file  \nsecond line\n');
    expect(readEnrollmentToken({ tokenFile: file })).toBe('sigil_et_from-file');
    expect(readEnrollmentToken({ token: '-', readStdin: () => 'sigil_et_piped\n' })).toBe(
      'sigil_et_piped',
    );
    expect(readEnrollmentToken({ tokenFile: '-', readStdin: () => 'sigil_et_piped' })).toBe(
      'sigil_et_piped',
    );
    expect(readEnrollmentToken({ token: 'sigil_et_plain' })).toBe('sigil_et_plain');
    expect(readEnrollmentToken({})).toBeUndefined();
  });

  it('refuses both sources, an empty source and an unreadable file, naming the variable', () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '\n');
    for (const [sources, message] of [
      [
        { token: 'a', tokenFile: empty },
        /^ENROLLMENT_TOKEN and ENROLLMENT_TOKEN_FILE are both set/,
      ],
      [{ tokenFile: empty }, /^ENROLLMENT_TOKEN_FILE: .*empty holds no token/],
      [{ token: '-', readStdin: () => '' }, /^ENROLLMENT_TOKEN: standard input holds no token/],
      [{ tokenFile: path.join(dir, 'missing') }, /^ENROLLMENT_TOKEN_FILE: cannot read the token/],
    ] as const) {
      expect(() => readEnrollmentToken(sources)).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFIG_INVALID',
          message: expect.stringMatching(message),
        }),
      );
    }
  });

  it('resolves the token from the file for enroll, and marks only a literal flag value as a secret flag', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'sigil_et_from-file\n');
    const fromFile = resolveAgentConfig({
      kind: 'connector',
      command: 'enroll',
      env: { ...enrollEnv, ENROLLMENT_TOKEN_FILE: file },
    });
    expect(fromFile).toMatchObject({ enrollmentToken: 'sigil_et_from-file', secretFlags: [] });
    const fromFlag = resolveAgentConfig({
      kind: 'connector',
      command: 'enroll',
      env: enrollEnv,
      flags: { enrollmentToken: 'sigil_et_in_ps' },
    });
    expect(fromFlag).toMatchObject({
      enrollmentToken: 'sigil_et_in_ps',
      secretFlags: ['--enrollment-token'],
    });
    const fromStdin = resolveAgentConfig({
      kind: 'connector',
      command: 'enroll',
      env: enrollEnv,
      flags: { enrollmentToken: '-' },
      readStdin: () => 'sigil_et_stdin\n',
    });
    expect(fromStdin).toMatchObject({ enrollmentToken: 'sigil_et_stdin', secretFlags: [] });
    expect(() =>
      resolveAgentConfig({ kind: 'connector', command: 'enroll', env: enrollEnv }),
    ).toThrow(/ENROLLMENT_TOKEN/);
    expect(secretFlagWarning('connector', '--enrollment-token')).toMatch(
      /^sigil-connector: warning: --enrollment-token on the command line is visible to every local user \(ps\)/,
    );
  });
});
