import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseControllerConfig, redactUrl } from './config';
import type { ControllerConfig } from './config';

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
      connectorCertTtlSeconds: 3600,
      tunnelerCertTtlSeconds: 1800,
      enrollmentTokenTtlSeconds: 900,
      agentOfflineAfterSeconds: 30,
      controllerCertTtlSeconds: 86400,
      certBackdateSeconds: 300,
      clockSkewWarnSeconds: 30,
      serverNames: [],
      logLevel: 'info',
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
      databaseUrl: 'postgresql://sigil@db:5432/sigil',
      connectorCertTtlSeconds: 5400,
      tunnelerCertTtlSeconds: 90,
      enrollmentTokenTtlSeconds: 3600,
      agentOfflineAfterSeconds: 45,
      controllerCertTtlSeconds: 43200,
      certBackdateSeconds: 600,
      clockSkewWarnSeconds: 120,
      serverNames: ['controller.example.org', '10.0.0.1'],
      logLevel: 'debug',
      adminToken: 'a-long-enough-admin-token',
    });
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

describe('redactUrl', () => {
  it('hides the password of a database URL', () => {
    expect(redactUrl('postgresql://app:s3cr3t@db:5432/sigil')).toBe(
      'postgresql://app:***@db:5432/sigil',
    );
    expect(redactUrl('postgresql://postgres@127.0.0.1:5432/test')).toBe(
      'postgresql://postgres@127.0.0.1:5432/test',
    );
  });
});
