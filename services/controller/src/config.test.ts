import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControllerConfig, redactUrl } from './config';
import type { ControllerConfig } from './config';
import { ADMIN_LIMIT_DEFAULTS } from './internal/admin-guard';
import { GRPC_LIMIT_DEFAULTS } from './internal/grpc-limits';

const LIMIT_DEFAULTS = {
  grpcLimits: GRPC_LIMIT_DEFAULTS,
  adminLimits: ADMIN_LIMIT_DEFAULTS,
  auditRetentionSeconds: 90 * 86_400,
  auditSummaryIntervalSeconds: 60,
};

function run(env: NodeJS.ProcessEnv, argv: string[] = []): ControllerConfig {
  const parsed = parseControllerConfig({ env, argv, cwd: '/srv' });
  if (parsed.action !== 'run') throw new Error('expected a run config');
  return parsed.config;
}

describe('parseControllerConfig', () => {
  it('applies the documented defaults', () => {
    expect(run({ DATA_DIR: 'data' })).toEqual({
      dataDir: '/srv/data',
      trustDomain: 'sigil.local',
      controllerListenAddress: '127.0.0.1:8443',
      adminListenAddress: '127.0.0.1:8080',
      adminSessionIdleTimeoutSeconds: 1800,
      adminSessionMaxAgeSeconds: 43_200,
      adminSignInFailuresPerMinute: 5,
      adminTls: 'auto',
      connectorCertTtlSeconds: 3600,
      tunnelerCertTtlSeconds: 1800,
      enrollmentTokenTtlSeconds: 900,
      agentOfflineAfterSeconds: 30,
      controllerCertTtlSeconds: 86400,
      certBackdateSeconds: 300,
      clockSkewWarnSeconds: 30,
      caActivationGraceSeconds: 3600,
      caAutoRotate: false,
      caRotateAtFraction: 0.5,
      caAutoRotateIntervalSeconds: 60,
      runtimeCaTtlSeconds: 3650 * 86_400,
      serverNames: [],
      logLevel: 'info',
      ...LIMIT_DEFAULTS,
      secretFlags: [],
    });
  });

  it('reads every setting from env, and flags win over env', () => {
    const config = run(
      {
        DATA_DIR: '/var/lib/sigil',
        TRUST_DOMAIN: 'example.org',
        CONTROLLER_LISTEN_ADDR: '0.0.0.0:9443',
        ADMIN_LISTEN_ADDR: '127.0.0.1:9080',
        DATABASE_URL: 'postgresql://sigil@db:5432/sigil',
        CONNECTOR_CERT_TTL: '5m',
        TUNNELER_CERT_TTL: '90s',
        ENROLLMENT_TOKEN_TTL: '1h',
        AGENT_OFFLINE_AFTER: '45s',
        CONTROLLER_CERT_TTL: '12h',
        CERT_BACKDATE: '10m',
        CLOCK_SKEW_WARN: '2m',
        CA_ACTIVATION_GRACE: '10m',
        CONTROLLER_SERVER_NAMES: 'controller.example.org, 10.0.0.1',
        LOG_LEVEL: 'debug',
        SIGIL_ADMIN_TOKEN: 'a-long-enough-admin-token',
      },
      ['--trust-domain', 'flag.example', '--connector-cert-ttl=1h30m'],
    );
    expect(config).toEqual({
      dataDir: '/var/lib/sigil',
      trustDomain: 'flag.example',
      controllerListenAddress: '0.0.0.0:9443',
      adminListenAddress: '127.0.0.1:9080',
      adminSessionIdleTimeoutSeconds: 1800,
      adminSessionMaxAgeSeconds: 43_200,
      adminSignInFailuresPerMinute: 5,
      adminTls: 'auto',
      databaseUrl: 'postgresql://sigil@db:5432/sigil',
      connectorCertTtlSeconds: 5400,
      tunnelerCertTtlSeconds: 90,
      enrollmentTokenTtlSeconds: 3600,
      agentOfflineAfterSeconds: 45,
      controllerCertTtlSeconds: 43200,
      certBackdateSeconds: 600,
      clockSkewWarnSeconds: 120,
      caActivationGraceSeconds: 600,
      caAutoRotate: false,
      caRotateAtFraction: 0.5,
      caAutoRotateIntervalSeconds: 60,
      runtimeCaTtlSeconds: 3650 * 86_400,
      serverNames: ['controller.example.org', '10.0.0.1'],
      logLevel: 'debug',
      adminToken: 'a-long-enough-admin-token',
      ...LIMIT_DEFAULTS,
      secretFlags: [],
    });
  });

  it('reads the automatic CA rotation settings, and refuses a fraction outside 0.1 to 0.9', () => {
    expect(
      run({
        DATA_DIR: '/d',
        CA_AUTO_ROTATE: 'true',
        CA_ROTATE_AT: '60%',
        CA_AUTO_ROTATE_INTERVAL: '30s',
        RUNTIME_CA_TTL: '365d',
      }),
    ).toMatchObject({
      caAutoRotate: true,
      caRotateAtFraction: 0.6,
      caAutoRotateIntervalSeconds: 30,
      runtimeCaTtlSeconds: 365 * 86_400,
    });
    expect(run({ DATA_DIR: '/d', CA_ROTATE_AT: '0.75' }).caRotateAtFraction).toBe(0.75);
    expect(() => run({ DATA_DIR: '/d', CA_ROTATE_AT: '0.95' })).toThrow(
      /^CA_ROTATE_AT="0.95": must be a fraction from 0.1 to 0.9/,
    );
    expect(() => run({ DATA_DIR: '/d', CA_AUTO_ROTATE: 'sometimes' })).toThrow(/CA_AUTO_ROTATE/);
  });

  it('reads every limit from its variable', () => {
    const config = run({
      DATA_DIR: '/d',
      CONTROLLER_MAX_MESSAGE_SIZE: '32768',
      CONTROLLER_MAX_CONCURRENT_STREAMS: '8',
      CONTROLLER_MAX_SESSION_MEMORY: '2',
      CONTROLLER_IDLE_CONNECTION_TIMEOUT: '1m',
      CONTROLLER_HANDSHAKE_TIMEOUT: '3s',
      CONTROLLER_UNAUTHENTICATED_CONNECTION_TIMEOUT: '20s',
      CONTROLLER_MAX_CONCURRENT_HANDSHAKES: '3',
      CONTROLLER_MAX_CONNECTIONS: '500',
      CONTROLLER_MAX_CONNECTIONS_PER_IP: '4',
      CONTROLLER_ENROLL_RATE_PER_IP: '5',
      CONTROLLER_ENROLL_RATE: '50',
      ADMIN_MAX_CONNECTIONS: '16',
      ADMIN_REQUEST_TIMEOUT: '5s',
      ADMIN_AUTH_FAILURES_PER_MINUTE: '3',
      AUDIT_RETENTION: '30d',
      AUDIT_SUMMARY_INTERVAL: '10s',
    });
    expect(config).toMatchObject({
      grpcLimits: {
        maxMessageBytes: 32768,
        maxConcurrentStreams: 8,
        maxSessionMemoryMib: 2,
        idleConnectionTimeoutMs: 60_000,
        handshakeTimeoutMs: 3000,
        unauthenticatedConnectionTimeoutMs: 20_000,
        maxConcurrentHandshakes: 3,
        maxConnections: 500,
        maxConnectionsPerAddress: 4,
        enrollmentsPerMinutePerAddress: 5,
        enrollmentsPerMinute: 50,
      },
      adminLimits: { maxConnections: 16, requestTimeoutMs: 5000, authFailuresPerMinute: 3 },
      auditRetentionSeconds: 30 * 86_400,
      auditSummaryIntervalSeconds: 10,
    });
    expect(() => run({ DATA_DIR: '/d', CONTROLLER_MAX_CONNECTIONS_PER_IP: '0' })).toThrow(
      /^CONTROLLER_MAX_CONNECTIONS_PER_IP="0" is not a positive integer/,
    );
    expect(() => run({ DATA_DIR: '/d', CONTROLLER_MAX_CONCURRENT_HANDSHAKES: 'abc' })).toThrow(
      /^CONTROLLER_MAX_CONCURRENT_HANDSHAKES="abc" is not a positive integer/,
    );
  });

  it('reads a YAML --config file with lower-case variable names, below env and flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-config-'));
    try {
      const file = join(dir, 'controller.yaml');
      writeFileSync(file, 'data_dir: /data\ntrust_domain: file.example\ntoken_ttl_wrong: 1\n');
      expect(() => run({}, ['--config', file])).toThrow(/unknown key "token_ttl_wrong"/);
      writeFileSync(
        file,
        'data_dir: /data\ntrust_domain: file.example\ncontroller_server_names: [a.example, b.example]\nenrollment_token_ttl: 10m\n',
      );
      expect(run({ TRUST_DOMAIN: 'env.example' }, ['--config', file])).toMatchObject({
        dataDir: '/data',
        trustDomain: 'env.example',
        serverNames: ['a.example', 'b.example'],
        enrollmentTokenTtlSeconds: 600,
      });
      expect(run({ CONTROLLER_CONFIG: file })).toMatchObject({ trustDomain: 'file.example' });
      writeFileSync(file, 'enrollment_token_ttl: soon\ndata_dir: /d\n');
      expect(() => run({ CONTROLLER_CONFIG: file })).toThrow(
        `${file}: enrollment_token_ttl="soon" is not a duration`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{}, [], /DATA_DIR \(or --data-dir\) is required/],
    [
      { DATA_DIR: '/d', CONTROLLER_LISTEN_ADDR: '8443' },
      [],
      /^CONTROLLER_LISTEN_ADDR="8443" is not a listen address/,
    ],
    [
      { DATA_DIR: '/d' },
      ['--admin-listen-addr', 'localhost:99999'],
      /^--admin-listen-addr="localhost:99999" is not a listen address \(port 99999 is out of range/,
    ],
    [
      { DATA_DIR: '/d', TRUST_DOMAIN: 'Not_A_Domain' },
      [],
      /^TRUST_DOMAIN="Not_A_Domain" is not a valid SPIFFE trust domain/,
    ],
    [
      { DATA_DIR: '/d', CONNECTOR_CERT_TTL: '10' },
      [],
      /^CONNECTOR_CERT_TTL="10" is not a duration \(use a number with a unit: 90s, 15m, 1h\)/,
    ],
    [
      { DATA_DIR: '/d', TUNNELER_CERT_TTL: '1500ms' },
      [],
      /^TUNNELER_CERT_TTL="1500ms": use whole seconds/,
    ],
    [
      { DATA_DIR: '/d', ENROLLMENT_TOKEN_TTL: '2d' },
      [],
      /^ENROLLMENT_TOKEN_TTL="2d": must be between 1s and 86400s/,
    ],
    [
      { DATA_DIR: '/d', CONNECTOR_CERT_TTL: '5s' },
      [],
      /^CONNECTOR_CERT_TTL="5s": must be between 10s/,
    ],
    [
      { DATA_DIR: '/d', DATABASE_URL: 'mysql://u:pw@h/db' },
      [],
      /^DATABASE_URL="mysql:\/\/u:\*\*\*@h\/db": expected a postgres/,
    ],
    [{ DATA_DIR: '/d', LOG_LEVEL: 'loud' }, [], /^LOG_LEVEL="loud" is not a log level/],
    [
      { DATA_DIR: '/d', CONTROLLER_SERVER_NAMES: 'ok.example,bad_name' },
      [],
      /^CONTROLLER_SERVER_NAMES="ok.example,bad_name": "bad_name" is neither a DNS name nor an IP address/,
    ],
    [{ DATA_DIR: '/d', SIGIL_ADMIN_TOKEN: 'short' }, [], /^SIGIL_ADMIN_TOKEN is too short/],
    [
      { DATA_DIR: '/d', SIGIL_ADMIN_TOKEN: 'aaaaaaaaaaaaaaaa' },
      [],
      /^SIGIL_ADMIN_TOKEN is too predictable \(about 75 bits estimated, one character repeats too often; at least 128 bits/,
    ],
    [
      { DATA_DIR: '/d', SIGIL_ADMIN_TOKEN: 'abcdefghijklmnopqrst' },
      [],
      /^SIGIL_ADMIN_TOKEN is too predictable \(about 94 bits estimated;/,
    ],
    [
      { DATA_DIR: '/d', SIGIL_ADMIN_TOKEN: 'a'.repeat(40) },
      [],
      /^SIGIL_ADMIN_TOKEN is too predictable \(about 188 bits estimated, one character repeats/,
    ],
    [
      { DATA_DIR: '/d' },
      ['--no-such-flag'],
      /Unknown option '--no-such-flag'.*see sigil-controller --help/,
    ],
  ])('refuses %j %j with ERR_CONFIG_INVALID naming the variable or flag', (env, argv, message) => {
    expect(() => run(env as NodeJS.ProcessEnv, argv)).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('reads the trust domain from SIGIL_TRUST_DOMAIN or its alias TRUST_DOMAIN, refusing both disagreeing', () => {
    expect(run({ DATA_DIR: '/d', SIGIL_TRUST_DOMAIN: 'canonical.example' }).trustDomain).toBe(
      'canonical.example',
    );
    expect(run({ DATA_DIR: '/d', TRUST_DOMAIN: 'alias.example' }).trustDomain).toBe(
      'alias.example',
    );
    expect(() =>
      run({ DATA_DIR: '/d', SIGIL_TRUST_DOMAIN: 'a.example', TRUST_DOMAIN: 'b.example' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(
          /SIGIL_TRUST_DOMAIN="a.example" and TRUST_DOMAIN="b.example" disagree/,
        ),
      }),
    );
  });

  it('reads ADMIN_TLS (any case) and the admin certificate files relative to the working directory', () => {
    expect(
      run({
        DATA_DIR: 'd',
        ADMIN_TLS: 'ON',
        ADMIN_TLS_CERT_FILE: 'tls/admin.crt',
        ADMIN_TLS_KEY_FILE: '/etc/sigil/admin.key',
      }),
    ).toMatchObject({
      adminTls: 'on',
      adminTlsCertFile: '/srv/tls/admin.crt',
      adminTlsKeyFile: '/etc/sigil/admin.key',
    });
    expect(() => run({ DATA_DIR: 'd', ADMIN_TLS: 'maybe' })).toThrow(
      /ADMIN_TLS.*must be one of auto, on, off/,
    );
  });

  it('answers --help with usage listing every flag and variable', () => {
    const parsed = parseControllerConfig({ argv: ['--help'] });
    expect(parsed.action).toBe('help');
    const text = parsed.action === 'help' ? parsed.text : '';
    for (const name of [
      '--controller-listen-addr',
      'CONTROLLER_LISTEN_ADDR',
      'ADMIN_LISTEN_ADDR',
      'TRUST_DOMAIN',
      'DATA_DIR',
      'DATABASE_URL',
      'SIGIL_ADMIN_TOKEN',
      'ENROLLMENT_TOKEN_TTL',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(
      /--connector-cert-ttl +CONNECTOR_CERT_TTL +connector X509-SVID lifetime \(10s to 30 days\) \(default 1h\)/,
    );
  });
});

describe('parseControllerConfig --explain', () => {
  it('prints each value with its source, hiding secrets', () => {
    const parsed = parseControllerConfig({
      env: {
        DATA_DIR: '/d',
        TRUST_DOMAIN: 'alias.example',
        SIGIL_ADMIN_TOKEN: 'a-long-enough-admin-token',
      },
      argv: ['--explain', '--log-level', 'debug'],
    });
    expect(parsed.action).toBe('explain');
    const text = parsed.action === 'explain' ? parsed.text : '';
    expect(text).toMatch(/^trustDomain +"alias.example" +env:TRUST_DOMAIN$/m);
    expect(text).toMatch(/^logLevel +"debug" +flag:--log-level$/m);
    expect(text).toMatch(/^adminListenAddress +"127.0.0.1:8080" +default$/m);
    expect(text).toMatch(/^adminToken +<secret> +env:SIGIL_ADMIN_TOKEN$/m);
    expect(text).not.toContain('a-long-enough-admin-token');
  });
});

describe('secrets off the command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads DATABASE_URL_FILE (first line) and stdin for "-", and never marks them as flags', () => {
    const file = join(dir, 'database-url');
    writeFileSync(file, 'postgresql://app:from-file@db/sigil\n');
    expect(run({ DATA_DIR: '/d', DATABASE_URL_FILE: file })).toMatchObject({
      databaseUrl: 'postgresql://app:from-file@db/sigil',
      secretFlags: [],
    });
    const parsed = parseControllerConfig({
      env: { DATA_DIR: '/d', DATABASE_URL_FILE: '-' },
      stdin: () => 'postgresql://app:from-stdin@db/sigil\n',
    });
    expect(parsed.action === 'run' && parsed.config.databaseUrl).toBe(
      'postgresql://app:from-stdin@db/sigil',
    );
  });

  it('still takes --database-url but names it in secretFlags (the program warns: ps shows it)', () => {
    expect(
      run({ DATA_DIR: '/d' }, ['--database-url', 'postgresql://app:pw@db/sigil']).secretFlags,
    ).toEqual(['--database-url']);
    expect(run({ DATA_DIR: '/d', DATABASE_URL: 'postgresql://db/sigil' }).secretFlags).toEqual([]);
  });

  it('refuses DATABASE_URL together with DATABASE_URL_FILE, an empty or unreadable file, and a bad URL inside without echoing the password', () => {
    const file = join(dir, 'database-url');
    writeFileSync(file, '\n');
    for (const [env, message] of [
      [{ DATABASE_URL: 'postgresql://db/x', DATABASE_URL_FILE: file }, /both set/],
      [{ DATABASE_URL_FILE: file }, /the file is empty/],
      [{ DATABASE_URL_FILE: join(dir, 'missing') }, /cannot read the file/],
    ] as const) {
      expect(() => run({ DATA_DIR: '/d', ...env })).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFIG_INVALID',
          message: expect.stringMatching(message),
        }),
      );
    }
    writeFileSync(file, 'mysql://app:hunter2@db/x');
    expect(() => run({ DATA_DIR: '/d', DATABASE_URL_FILE: file })).toThrow(
      /^DATABASE_URL_FILE \(.*\)="mysql:\/\/app:\*\*\*@db\/x": expected a postgres/,
    );
  });
});

describe('redactUrl', () => {
  it('hides password and sslpassword query parameters, and a password with unencoded @ or /', () => {
    expect(redactUrl('postgresql://db:5432/sigil?user=app&password=s3cr3t&sslmode=require')).toBe(
      'postgresql://db:5432/sigil?user=app&password=***&sslmode=require',
    );
    expect(redactUrl('postgres://app:pw@db/sigil?sslpassword=keypass&PASSWORD=x')).toBe(
      'postgres://app:***@db/sigil?sslpassword=***&PASSWORD=***',
    );
    expect(redactUrl('postgresql://app:p@ss/w0rd@db:5432/sigil')).toBe(
      'postgresql://app:***@db:5432/sigil',
    );
    expect(redactUrl('postgresql://app:pw@db/sigil#password=frag')).not.toContain('pw@');
  });

  it('hides the password of a database URL', () => {
    expect(redactUrl('postgresql://app:s3cr3t@db:5432/sigil')).toBe(
      'postgresql://app:***@db:5432/sigil',
    );
    expect(redactUrl('postgresql://postgres@127.0.0.1:5432/test')).toBe(
      'postgresql://postgres@127.0.0.1:5432/test',
    );
  });
});

describe('admin session settings', () => {
  it('reads ADMIN_SESSION_IDLE_TIMEOUT, ADMIN_SESSION_MAX_AGE and SIGIL_ADMIN_PASSWORD', () => {
    expect(
      run({
        DATA_DIR: 'data',
        ADMIN_SESSION_IDLE_TIMEOUT: '5m',
        ADMIN_SESSION_MAX_AGE: '1h',
        ADMIN_SIGN_IN_FAILURES_PER_MINUTE: '3',
        SIGIL_ADMIN_PASSWORD: 'a-good-long-password',
      }),
    ).toMatchObject({
      adminSessionIdleTimeoutSeconds: 300,
      adminSessionMaxAgeSeconds: 3600,
      adminSignInFailuresPerMinute: 3,
      adminPassword: 'a-good-long-password',
    });
  });

  it('refuses a short SIGIL_ADMIN_PASSWORD and an out-of-range timeout, naming the variable', () => {
    expect(() => run({ DATA_DIR: 'data', SIGIL_ADMIN_PASSWORD: 'short' })).toThrow(
      /SIGIL_ADMIN_PASSWORD.*too short/,
    );
    expect(() => run({ DATA_DIR: 'data', ADMIN_SESSION_IDLE_TIMEOUT: '1s' })).toThrow(
      /ADMIN_SESSION_IDLE_TIMEOUT/,
    );
  });
});
