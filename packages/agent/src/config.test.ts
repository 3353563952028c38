import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSigilError, type SigilError } from '@sigil/errors';
import { resolveAgentConfig, type AgentConfigSources } from './config';

const enrollEnv = {
  ENROLLMENT_TOKEN: 'tok-123',
  CONTROLLER_ADDR: '10.0.0.5:8443, 10.0.0.6:8443',
  CONTROLLER_CA_PATH: '/etc/sigil/controller-ca.crt',
  CONNECTOR_ID: 'edge-1',
  STATE_DIR: '/var/lib/sigil-connector',
};

function failure(sources: AgentConfigSources): SigilError {
  try {
    resolveAgentConfig(sources);
  } catch (err) {
    if (isSigilError(err)) return err;
    throw err;
  }
  throw new Error('expected a SigilError');
}

describe('resolveAgentConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agent-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads enrollment settings from the environment, with defaults', () => {
    const config = resolveAgentConfig({ kind: 'connector', command: 'enroll', env: enrollEnv });
    expect(config).toMatchObject({
      kind: 'connector',
      enrolls: true,
      ephemeral: false,
      agentId: 'edge-1',
      enrollmentToken: 'tok-123',
      controllerAddresses: ['10.0.0.5:8443', '10.0.0.6:8443'],
      controllerCaPath: '/etc/sigil/controller-ca.crt',
      stateDir: '/var/lib/sigil-connector',
      connectorListenAddress: { host: '0.0.0.0', port: 9443 },
      httpAddress: { host: '127.0.0.1', port: 9090 },
      heartbeatIntervalMs: 10_000,
      reconnect: { initialMs: 500, maxMs: 30_000 },
      logLevel: 'error',
    });
  });

  it('serves the Workload API at /run/sigil/workload-api.sock unless SIGIL_WORKLOAD_API_SOCKET (--workload-api-socket) says another path or off, for connectors only', () => {
    const connector = (env: Record<string, string>, flags = {}) =>
      resolveAgentConfig({
        kind: 'connector',
        command: 'run',
        env: { ...enrollEnv, ...env },
        flags,
      }).workloadApiSocket;
    expect(connector({})).toBe('/run/sigil/workload-api.sock');
    expect(connector({ SIGIL_WORKLOAD_API_SOCKET: '/tmp/wl/api.sock' })).toBe('/tmp/wl/api.sock');
    expect(connector({}, { workloadApiSocket: '/tmp/flag.sock' })).toBe('/tmp/flag.sock');
    expect(connector({ SIGIL_WORKLOAD_API_SOCKET: 'off' })).toBeUndefined();
    expect(connector({ SIGIL_WORKLOAD_API_SOCKET: 'none' })).toBeUndefined();
    expect(
      resolveAgentConfig({
        kind: 'tunneler',
        command: 'run',
        env: { ...enrollEnv, CONNECTOR_ADDR: '10.0.0.9:9443' },
      }).workloadApiSocket,
    ).toBeUndefined();
    expect(() => connector({ SIGIL_WORKLOAD_API_SOCKET: 'relative.sock' })).toThrow(
      /SIGIL_WORKLOAD_API_SOCKET.*absolute socket path, or off/,
    );
  });

  it('lets flags win over the environment, and the environment over the file', () => {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(
      file,
      'connector_id: from-file\nheartbeat_interval: 3s\ncontroller:\n  addr: [file-a:1, file-b:2]\n',
    );
    const config = resolveAgentConfig({
      kind: 'connector',
      command: 'enroll',
      env: {
        ...enrollEnv,
        CONNECTOR_ID: 'from-env',
        CONTROLLER_ADDR: undefined,
        AGENT_CONFIG_PATH: file,
      },
      flags: { agentId: 'from-flag' },
    });
    expect(config.agentId).toBe('from-flag');
    expect(config.heartbeatIntervalMs).toBe(3_000);
    expect(config.controllerAddresses).toEqual(['file-a:1', 'file-b:2']);
    const envWins = resolveAgentConfig({
      kind: 'connector',
      command: 'enroll',
      env: { ...enrollEnv, CONNECTOR_ID: 'from-env' },
      configFile: file,
    });
    expect(envWins.agentId).toBe('from-env');
  });

  it('names the missing variable, its flag and its file key', () => {
    const error = failure({
      kind: 'tunneler',
      command: 'enroll',
      env: { ...enrollEnv, CONNECTOR_ID: undefined, TUNNELER_ID: 'laptop-1' },
    });
    expect(error.code).toBe('ERR_CONFIG_MISSING');
    expect(error.message).toBe(
      'CONNECTOR_ADDR is not set: sigil-tunneler enroll needs it (env CONNECTOR_ADDR, flag --connector-addr or connector.addr in the config file)',
    );
  });

  it('asks for no enrollment settings to run from a state dir', () => {
    const config = resolveAgentConfig({
      kind: 'tunneler',
      command: 'run',
      env: { STATE_DIR: '/state' },
    });
    expect(config).toMatchObject({
      enrolls: false,
      stateDir: '/state',
      httpAddress: { port: 9091 },
      logLevel: 'info',
    });
    expect(config.enrollmentToken).toBeUndefined();
  });

  it('falls back to systemd STATE_DIRECTORY, and needs a state dir unless ephemeral', () => {
    expect(
      resolveAgentConfig({
        kind: 'connector',
        command: 'run',
        env: { STATE_DIRECTORY: '/var/lib/sigil-connector:/x' },
      }).stateDir,
    ).toBe('/var/lib/sigil-connector');
    expect(failure({ kind: 'connector', command: 'run', env: {} }).message).toContain(
      'STATE_DIR is not set',
    );
    const ephemeral = resolveAgentConfig({
      kind: 'connector',
      command: 'run',
      ephemeral: true,
      env: enrollEnv,
    });
    expect(ephemeral).toMatchObject({ enrolls: true, ephemeral: true, stateDir: undefined });
    expect(
      failure({ kind: 'connector', command: 'run', ephemeral: true, env: { STATE_DIR: '/s' } })
        .message,
    ).toContain('--ephemeral needs it');
  });

  it.each([
    [{ CONTROLLER_ADDR: 'no-port' }, 'CONTROLLER_ADDR="no-port" is invalid'],
    [{ CONTROLLER_ADDR: 'a:1,b:99999' }, '"b:99999" is not host:port'],
    [{ CONNECTOR_ID: 'bad/id' }, 'CONNECTOR_ID="bad/id" is invalid'],
    [{ HEARTBEAT_INTERVAL: '10' }, 'HEARTBEAT_INTERVAL="10" is not a duration'],
    [{ AGENT_HTTP_ADDR: 'localhost' }, 'AGENT_HTTP_ADDR'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [
      { RECONNECT_BACKOFF_MAX: '100ms' },
      'RECONNECT_BACKOFF_MAX=100ms is below RECONNECT_BACKOFF_INITIAL',
    ],
  ])('refuses %p', (override, message) => {
    const error = failure({
      kind: 'connector',
      command: 'enroll',
      env: { ...enrollEnv, ...override },
    });
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toContain(message);
  });

  it('reads the data-plane settings: the connector limits, the tunneler forwards (a YAML list too)', () => {
    const connector = resolveAgentConfig({
      kind: 'connector',
      command: 'run',
      env: {
        STATE_DIR: '/s',
        CONNECTOR_IDLE_TIMEOUT: '90s',
        CONNECTOR_MAX_STREAMS_PER_TUNNELER: '8',
      },
    });
    expect(connector.dataPlane).toEqual({
      maxStreamsPerTunneler: 8,
      maxConnectionsPerResource: 512,
      idleTimeoutMs: 90_000,
    });
    expect(connector.forwards).toEqual([]);
    const file = path.join(dir, 'tunneler.yaml');
    writeFileSync(
      file,
      'forwards:\n  - 127.0.0.1:15432=pg-main\n  - 127.0.0.1:2222=lab@10.0.0.7:22\n',
    );
    const tunneler = resolveAgentConfig({
      kind: 'tunneler',
      command: 'run',
      env: { STATE_DIR: '/s' },
      configFile: file,
    });
    expect(tunneler.forwards.map((f) => `${f.listen.port}=${f.resource}@${f.target}`)).toEqual([
      '15432=pg-main@',
      '2222=lab@10.0.0.7:22',
    ]);
    expect(tunneler.dataPlane).toBeUndefined();
    const bad = failure({
      kind: 'tunneler',
      command: 'run',
      env: { STATE_DIR: '/s' },
      flags: { forwards: '127.0.0.1:1=pg,nonsense' },
    });
    expect(bad.message).toMatch(
      /^--forward="127\.0\.0\.1:1=pg,nonsense" is invalid: "nonsense" is not listen=resource/,
    );
  });

  it('names the flag when a flag is at fault', () => {
    expect(
      failure({
        kind: 'connector',
        command: 'enroll',
        env: enrollEnv,
        flags: { heartbeatInterval: 'soon' },
      }).message,
    ).toContain('--heartbeat-interval="soon" is not a duration');
  });

  it('refuses unknown and misplaced keys in the config file, naming file and key', () => {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(file, 'controller:\n  adr: x:1\n');
    const error = failure({
      kind: 'connector',
      command: 'run',
      env: { STATE_DIR: '/s' },
      configFile: file,
    });
    expect(error.message).toContain(`config file ${file}: unknown key "controller.adr"`);
    writeFileSync(file, 'connector:\n  addr: x:1\n');
    expect(
      failure({ kind: 'connector', command: 'run', env: { STATE_DIR: '/s' }, configFile: file })
        .message,
    ).toContain('unknown key "connector.addr"');
    writeFileSync(file, 'heartbeat_interval: 10\n');
    expect(
      failure({ kind: 'connector', command: 'run', env: { STATE_DIR: '/s' }, configFile: file })
        .message,
    ).toContain(`${file}: heartbeat_interval="10" is not a duration`);
  });

  it('reports an unreadable or malformed config file', () => {
    expect(
      failure({
        kind: 'connector',
        command: 'run',
        env: { STATE_DIR: '/s' },
        configFile: path.join(dir, 'none.yaml'),
      }).code,
    ).toBe('ERR_FILE_UNREADABLE');
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'a: [1, 2\n');
    expect(
      failure({ kind: 'connector', command: 'run', env: { STATE_DIR: '/s' }, configFile: file })
        .message,
    ).toContain(`config file ${file}`);
  });
});
