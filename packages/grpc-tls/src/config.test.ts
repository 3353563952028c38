import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  ClientTlsConfig,
  loadClientTlsConfig,
  loadServerTlsConfig,
  ServerTlsConfig,
} from './config';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-tls-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function failure(load: () => unknown): SigilError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

const serverEnv = {
  GRPC_SERVER_CERT_PATH: '/etc/grpc-tls/tls.crt',
  GRPC_SERVER_KEY_PATH: '/etc/grpc-tls/tls.key',
  GRPC_CLIENT_CA_CERT_PATH: '/etc/grpc-tls/ca.crt',
};

describe('server conventions', () => {
  it('reads the default GRPC_SERVER_* variables, strict by default', () => {
    const config = loadServerTlsConfig({ env: serverEnv });
    expect(config).toMatchObject({
      side: 'server',
      mode: 'file',
      source: 'the GRPC_SERVER_* variables',
      requireClientCertificate: true,
      minVersion: 'TLSv1.2',
      warnDays: 30,
      warnings: [],
      files: {
        certificate: { path: '/etc/grpc-tls/tls.crt', origin: 'GRPC_SERVER_CERT_PATH' },
        privateKey: { path: '/etc/grpc-tls/tls.key', origin: 'GRPC_SERVER_KEY_PATH' },
        ca: { path: '/etc/grpc-tls/ca.crt', origin: 'GRPC_CLIENT_CA_CERT_PATH' },
      },
    });
  });

  it('stops asking for client certificates only when GRPC_REQUIRE_CLIENT_CERT=false and there is no CA, with a warning', () => {
    const config = loadServerTlsConfig({
      env: {
        GRPC_SERVER_CERT_PATH: '/c',
        GRPC_SERVER_KEY_PATH: '/k',
        GRPC_REQUIRE_CLIENT_CERT: 'false',
      },
    });
    expect(config.requireClientCertificate).toBe(false);
    expect(config.clientCertificate).toBe('none');
    expect(config.files?.ca).toBeUndefined();
    expect(config.warnings.map((w) => w.event)).toEqual(['grpc_tls.client_cert_not_requested']);
    expect(config.warnings[0]!.message).toContain('GRPC_REQUIRE_CLIENT_CERT=false');
  });

  it('reads the short GRPC_TLS_CERT/KEY/CA form (CA present = mutual TLS)', () => {
    const config = loadServerTlsConfig({
      env: {
        GRPC_TLS_CERT: '/opt/certs/server.crt',
        GRPC_TLS_KEY: '/opt/certs/server.key',
        GRPC_TLS_CA: '/opt/certs/ca.crt',
      },
    });
    expect(config.source).toBe('the GRPC_TLS_* variables');
    expect(config.files?.ca).toEqual({ path: '/opt/certs/ca.crt', origin: 'GRPC_TLS_CA' });
    expect(config.requireClientCertificate).toBe(true);
  });

  it('refuses the short form without GRPC_TLS_CA unless client certificates are explicitly optional', () => {
    const env = { GRPC_TLS_CERT: '/opt/certs/server.crt', GRPC_TLS_KEY: '/opt/certs/server.key' };
    const error = failure(() => loadServerTlsConfig({ env }));
    expect(error.code).toBe('ERR_TLS_ENV_MISSING');
    expect(error.message).toMatch(/^GRPC_TLS_CA is not set/);
    expect(error.message).toContain('GRPC_REQUIRE_CLIENT_CERT=false');
    expect(
      loadServerTlsConfig({ env: { ...env, GRPC_REQUIRE_CLIENT_CERT: 'false' } }).files?.ca,
    ).toBeUndefined();
  });

  it('reads a cert-manager Secret mount named by GRPC_TLS_DIR', () => {
    const config = loadServerTlsConfig({ env: { GRPC_TLS_DIR: '/etc/grpc-tls' } });
    expect(config.source).toBe('GRPC_TLS_DIR');
    expect(config.files).toEqual({
      certificate: { path: '/etc/grpc-tls/tls.crt', origin: 'GRPC_TLS_DIR' },
      privateKey: { path: '/etc/grpc-tls/tls.key', origin: 'GRPC_TLS_DIR' },
      ca: { path: '/etc/grpc-tls/ca.crt', origin: 'GRPC_TLS_DIR' },
    });
  });

  it('skips a Secret without ca.crt when client certificates are optional', () => {
    const config = loadServerTlsConfig({
      env: { GRPC_TLS_DIR: dir, GRPC_REQUIRE_CLIENT_CERT: 'false' },
    });
    expect(config.files?.ca).toBeUndefined();
    writeFileSync(join(dir, 'ca.crt'), '');
    expect(
      loadServerTlsConfig({ env: { GRPC_TLS_DIR: dir, GRPC_REQUIRE_CLIENT_CERT: 'false' } }).files
        ?.ca?.path,
    ).toBe(join(dir, 'ca.crt'));
  });

  it('reads a certs directory <PREFIX>CERTS_DIR/<name>/ with per-file overrides and TLS_VERIFY_CLIENT', () => {
    const env = {
      PARALLAX_TLS_ENABLED: 'true',
      PARALLAX_CERTS_DIR: '/srv/certs',
      PARALLAX_TLS_CA_FILE: '/srv/roots.pem',
      PARALLAX_TLS_VERIFY_CLIENT: 'false',
    };
    const config = loadServerTlsConfig({ env, prefix: 'PARALLAX', name: 'control-plane' });
    expect(config.source).toBe('PARALLAX_CERTS_DIR');
    expect(config.files).toEqual({
      certificate: { path: '/srv/certs/control-plane/cert.pem', origin: 'PARALLAX_CERTS_DIR' },
      privateKey: { path: '/srv/certs/control-plane/key.pem', origin: 'PARALLAX_CERTS_DIR' },
      ca: { path: '/srv/roots.pem', origin: 'PARALLAX_TLS_CA_FILE' },
    });
    expect(config.requireClientCertificate).toBe(false);
    expect(config.warnings[0]!.message).toContain('PARALLAX_TLS_VERIFY_CLIENT=false');
  });

  it('needs a name for a certs directory', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { PARALLAX_CERTS_DIR: '/srv/certs' }, prefix: 'PARALLAX_' }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toContain('PARALLAX_CERTS_DIR');
    expect(error.message).toContain('/srv/certs/control-plane/cert.pem');
  });

  it('names the missing variable when nothing is configured: never a silent fallback to plaintext', () => {
    const error = failure(() => loadServerTlsConfig({ env: {} }));
    expect(error.code).toBe('ERR_TLS_ENV_MISSING');
    expect(error.message).toMatch(/^GRPC_SERVER_CERT_PATH is not set/);
    expect(error.details['variable']).toBe('GRPC_SERVER_CERT_PATH');
  });

  it('names the other half of a pair', () => {
    expect(
      failure(() =>
        loadServerTlsConfig({
          env: { GRPC_SERVER_CERT_PATH: '/c', GRPC_CLIENT_CA_CERT_PATH: '/ca' },
        }),
      ).message,
    ).toMatch(/^GRPC_SERVER_KEY_PATH is not set: .*GRPC_SERVER_CERT_PATH is set/);
    expect(
      failure(() => loadServerTlsConfig({ env: { GRPC_TLS_KEY: '/k', GRPC_TLS_CA: '/ca' } }))
        .message,
    ).toMatch(/^GRPC_TLS_CERT is not set/);
    expect(
      failure(() => loadServerTlsConfig({ env: {}, certificateFile: '/c', caFile: '/ca' })).message,
    ).toMatch(/^option privateKeyFile is not set/);
  });

  it('rejects a value that is not a boolean, naming the variable', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { ...serverEnv, GRPC_REQUIRE_CLIENT_CERT: 'sure' } }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toBe(
      'GRPC_REQUIRE_CLIENT_CERT: "sure" is not a boolean (use true or false)',
    );
  });
});

describe('client conventions', () => {
  it('reads the default client variables and GRPC_SERVER_DOMAIN', () => {
    const config = loadClientTlsConfig({
      env: {
        GRPC_SERVER_CA_CERT_PATH: '/etc/grpc-tls/ca.crt',
        GRPC_CLIENT_CERT_PATH: '/etc/grpc-tls/client.crt',
        GRPC_CLIENT_KEY_PATH: '/etc/grpc-tls/client.key',
        GRPC_SERVER_DOMAIN: 'user-service.nova.svc.cluster.local',
        GRPC_SERVER_SPIFFE_ID: 'spiffe://nova.local/svc/user-service, spiffe://partner.io',
      },
    });
    expect(config).toMatchObject({
      side: 'client',
      mode: 'file',
      requireClientCertificate: true,
      serverName: 'user-service.nova.svc.cluster.local',
      expectedServerIds: ['spiffe://nova.local/svc/user-service', 'spiffe://partner.io'],
      expectedServerIdOrigin: 'GRPC_SERVER_SPIFFE_ID',
      insecureSkipVerify: false,
      files: {
        ca: { path: '/etc/grpc-tls/ca.crt', origin: 'GRPC_SERVER_CA_CERT_PATH' },
        certificate: { path: '/etc/grpc-tls/client.crt', origin: 'GRPC_CLIENT_CERT_PATH' },
        privateKey: { path: '/etc/grpc-tls/client.key', origin: 'GRPC_CLIENT_KEY_PATH' },
      },
    });
  });

  it('reads the prefixed form (MIGLET_CONTROLLER_TLS_*)', () => {
    const config = loadClientTlsConfig({
      prefix: 'MIGLET_CONTROLLER_',
      env: {
        MIGLET_CONTROLLER_TLS_ENABLED: 'true',
        MIGLET_CONTROLLER_TLS_CA_CERT_PATH: '/opt/miglet/certs/ca.crt',
        MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH: '/opt/miglet/certs/client.crt',
        MIGLET_CONTROLLER_TLS_CLIENT_KEY_PATH: '/opt/miglet/certs/client.key',
        MIGLET_CONTROLLER_TLS_SERVER_NAME: 'controller.monkci.io',
      },
    });
    expect(config.source).toBe('the MIGLET_CONTROLLER_TLS_* variables');
    expect(config.serverName).toBe('controller.monkci.io');
    expect(config.files?.ca?.origin).toBe('MIGLET_CONTROLLER_TLS_CA_CERT_PATH');
    expect(config.files?.privateKey?.path).toBe('/opt/miglet/certs/client.key');
  });

  it('requires the client certificate of the prefixed form (mutual TLS by default)', () => {
    const error = failure(() =>
      loadClientTlsConfig({
        prefix: 'MIGLET_CONTROLLER_',
        env: {
          MIGLET_CONTROLLER_TLS_ENABLED: 'true',
          MIGLET_CONTROLLER_TLS_CA_CERT_PATH: '/ca.crt',
        },
      }),
    );
    expect(error.code).toBe('ERR_TLS_ENV_MISSING');
    expect(error.message).toMatch(/^MIGLET_CONTROLLER_TLS_CLIENT_CERT_PATH is not set/);
    const optional = loadClientTlsConfig({
      prefix: 'MIGLET_CONTROLLER_',
      requireClientCertificate: false,
      env: { MIGLET_CONTROLLER_TLS_CA_CERT_PATH: '/ca.crt' },
    });
    expect(optional.files).toEqual({
      ca: { path: '/ca.crt', origin: 'MIGLET_CONTROLLER_TLS_CA_CERT_PATH' },
    });
    expect(optional.warnings.map((w) => w.event)).toEqual(['grpc_tls.client_cert_optional']);
  });

  it('allows INSECURE_SKIP_VERIFY loudly, and refuses it in production without the override', () => {
    const env = {
      MIGLET_CONTROLLER_TLS_ENABLED: 'true',
      MIGLET_CONTROLLER_TLS_INSECURE_SKIP_VERIFY: 'true',
      GRPC_TLS_DIR: '/etc/grpc-tls',
    };
    const config = loadClientTlsConfig({ prefix: 'MIGLET_CONTROLLER_', env });
    expect(config.insecureSkipVerify).toBe(true);
    expect(config.warnings.map((w) => w.event)).toContain('grpc_tls.insecure_skip_verify');
    const error = failure(() =>
      loadClientTlsConfig({
        prefix: 'MIGLET_CONTROLLER_',
        env: { ...env, NODE_ENV: 'production' },
      }),
    );
    expect(error.code).toBe('ERR_TLS_INSECURE_IN_PRODUCTION');
    expect(error.message).toContain('MIGLET_CONTROLLER_TLS_INSECURE_SKIP_VERIFY');
    expect(
      loadClientTlsConfig({
        prefix: 'MIGLET_CONTROLLER_',
        env: { ...env, NODE_ENV: 'production', SIGIL_ALLOW_INSECURE_IN_PRODUCTION: 'true' },
      }).insecureSkipVerify,
    ).toBe(true);
  });

  it('names the CA variable when the client has none', () => {
    expect(failure(() => loadClientTlsConfig({ env: {} })).message).toMatch(
      /^GRPC_SERVER_CA_CERT_PATH is not set/,
    );
  });

  it('reads the certs-directory form on the client side', () => {
    const config = loadClientTlsConfig({
      prefix: 'PARALLAX_',
      name: 'agent-1',
      env: { PARALLAX_TLS_ENABLED: 'true', PARALLAX_CERTS_DIR: '/srv/certs' },
    });
    expect(config.files?.certificate).toEqual({
      path: '/srv/certs/agent-1/cert.pem',
      origin: 'PARALLAX_CERTS_DIR',
    });
    expect(config.files?.ca?.path).toBe('/srv/certs/agent-1/ca.pem');
  });

  it('rejects an expected server ID that is not a SPIFFE ID, naming the variable', () => {
    const error = failure(() =>
      loadClientTlsConfig({
        env: { GRPC_TLS_DIR: '/etc/grpc-tls', GRPC_SERVER_SPIFFE_ID: 'user-service' },
      }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toMatch(/^GRPC_SERVER_SPIFFE_ID: invalid SPIFFE ID "user-service"/);
  });
});

describe('YAML config file', () => {
  it('reads the seed-style tls section named by SIGIL_TLS_CONFIG, relative to the file', () => {
    mkdirSync(join(dir, 'certs'));
    const file = join(dir, 'miglet.yaml');
    writeFileSync(
      file,
      [
        'pool_id: my-pool',
        'controller:',
        '  grpc_endpoint: "10.0.0.5:50051"',
        '  tls:',
        '    enabled: true',
        '    ca_cert_path: certs/ca.crt',
        '    client_cert_path: /opt/miglet/certs/client.crt',
        '    client_key_path: /opt/miglet/certs/client.key',
        '    server_name: controller.monkci.io',
        '    min_version: TLSv1.3',
      ].join('\n'),
    );
    const config = loadClientTlsConfig({
      env: { SIGIL_TLS_CONFIG: file },
      configSection: 'controller.tls',
    });
    expect(config.source).toBe(`the YAML file ${file}`);
    expect(config.files?.ca).toEqual({
      path: join(dir, 'certs/ca.crt'),
      origin: `${file}: controller.tls.ca_cert_path`,
    });
    expect(config.serverName).toBe('controller.monkci.io');
    expect(config.minVersion).toBe('TLSv1.3');
  });

  it('rejects unknown keys so a typo never weakens TLS', () => {
    const file = join(dir, 'tls.yaml');
    writeFileSync(file, 'tls:\n  require_client_certs: false\n');
    const error = failure(() => loadServerTlsConfig({ env: { SIGIL_TLS_CONFIG: file } }));
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toContain(`${file}: tls.require_client_certs: unknown TLS setting`);
  });

  it('names SIGIL_TLS_CONFIG when the file cannot be read', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { SIGIL_TLS_CONFIG: join(dir, 'missing.yaml') } }),
    );
    expect(error.code).toBe('ERR_FILE_UNREADABLE');
    expect(error.message).toMatch(/^SIGIL_TLS_CONFIG: cannot read .*missing\.yaml \(ENOENT\)/);
  });
});

describe('precedence: options > env (one convention) > YAML > defaults', () => {
  it('layers settings field by field', () => {
    const file = join(dir, 'tls.yaml');
    writeFileSync(
      file,
      'tls:\n  dir: /yaml/tls\n  min_version: TLSv1.3\n  cert_warn_days: 10\n  require_client_cert: true\n',
    );
    const env = {
      SIGIL_TLS_CONFIG: file,
      GRPC_SERVER_CERT_PATH: '/env/tls.crt',
      GRPC_SERVER_KEY_PATH: '/env/tls.key',
      SIGIL_TLS_CERT_WARN_DAYS: '20',
    };
    const config = loadServerTlsConfig({ env, caFile: '/explicit/ca.crt' });
    expect(config.files).toEqual({
      certificate: { path: '/env/tls.crt', origin: 'GRPC_SERVER_CERT_PATH' },
      privateKey: { path: '/env/tls.key', origin: 'GRPC_SERVER_KEY_PATH' },
      ca: { path: '/explicit/ca.crt', origin: 'option caFile' },
    });
    expect(config.minVersion).toBe('TLSv1.3');
    expect(config.warnDays).toBe(20);
    expect(loadServerTlsConfig({ env, warnDays: 5, minVersion: 'TLSv1.2' })).toMatchObject({
      warnDays: 5,
      minVersion: 'TLSv1.2',
    });
    expect(loadServerTlsConfig({ env: { SIGIL_TLS_CONFIG: file } }).files?.certificate).toEqual({
      path: '/yaml/tls/tls.crt',
      origin: `${file}: tls.dir`,
    });
  });

  it('lets an explicit file beat every env convention', () => {
    const config = loadServerTlsConfig({
      env: serverEnv,
      certificateFile: '/mine/tls.crt',
      privateKeyFile: '/mine/tls.key',
    });
    expect(config.files?.certificate.origin).toBe('option certificateFile');
    expect(config.files?.ca?.origin).toBe('GRPC_CLIENT_CA_CERT_PATH');
  });

  it('accepts two conventions that agree, refuses two that disagree', () => {
    const agreeing = loadServerTlsConfig({ env: { ...serverEnv, GRPC_TLS_DIR: '/etc/grpc-tls' } });
    expect(agreeing.source).toBe('the GRPC_SERVER_* variables');
    const error = failure(() =>
      loadServerTlsConfig({
        env: { ...serverEnv, GRPC_TLS_CERT: '/opt/controller/certs/server.crt' },
      }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    expect(error.message).toContain(
      'GRPC_SERVER_CERT_PATH names /etc/grpc-tls/tls.crt, GRPC_TLS_CERT names /opt/controller/certs/server.crt',
    );
  });

  it('refuses a pair split across conventions', () => {
    const error = failure(() =>
      loadServerTlsConfig({
        env: {
          GRPC_SERVER_CERT_PATH: '/a/tls.crt',
          GRPC_TLS_KEY: '/b/tls.key',
          GRPC_TLS_CA: '/b/ca.crt',
        },
      }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    expect(error.message).toContain('GRPC_TLS_KEY');
  });

  it('refuses flags that say the same thing differently', () => {
    const error = failure(() =>
      loadClientTlsConfig({
        prefix: 'MIGLET_CONTROLLER_',
        env: {
          GRPC_TLS_DIR: '/etc/grpc-tls',
          GRPC_SERVER_DOMAIN: 'a.example',
          MIGLET_CONTROLLER_TLS_SERVER_NAME: 'b.example',
        },
      }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    expect(error.message).toBe(
      'GRPC_SERVER_DOMAIN=a.example and MIGLET_CONTROLLER_TLS_SERVER_NAME=b.example disagree; set one of them',
    );
  });
});

describe('modes', () => {
  it('selects dev mode by SIGIL_TLS_MODE and refuses it in production', () => {
    expect(loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'dev' } })).toMatchObject({
      mode: 'dev',
      source: 'SIGIL_TLS_MODE',
    });
    const error = failure(() =>
      loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'dev', NODE_ENV: 'production' } }),
    );
    expect(error.code).toBe('ERR_TLS_DEV_IN_PRODUCTION');
    expect(
      failure(() => loadClientTlsConfig({ mode: 'dev', env: { NODE_ENV: 'production' } })).code,
    ).toBe('ERR_TLS_DEV_IN_PRODUCTION');
  });

  it('runs plaintext only when asked for by name, with a warning', () => {
    const config = loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'insecure' } });
    expect(config).toMatchObject({ mode: 'insecure', requireClientCertificate: false });
    expect(config.warnings).toEqual([
      expect.objectContaining({ event: 'grpc_tls.insecure_mode', variables: ['SIGIL_TLS_MODE'] }),
    ]);
    expect(
      failure(() => loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'plaintext' } })).message,
    ).toBe('SIGIL_TLS_MODE: "plaintext" is not a TLS mode (use file, dev, insecure or spiffe)');
  });

  it('refuses insecure mode in production unless SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true', () => {
    const env = { SIGIL_TLS_MODE: 'insecure', NODE_ENV: 'production' };
    const error = failure(() => loadClientTlsConfig({ env }));
    expect(error.code).toBe('ERR_TLS_INSECURE_IN_PRODUCTION');
    expect(error.message).toContain('SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true');
    expect(
      loadClientTlsConfig({ env: { ...env, SIGIL_ALLOW_INSECURE_IN_PRODUCTION: 'true' } }).mode,
    ).toBe('insecure');
  });

  it('refuses a mode next to certificate files of the same precedence', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { ...serverEnv, SIGIL_TLS_MODE: 'insecure' } }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    expect(error.message).toContain(
      'SIGIL_TLS_MODE selects mode "insecure" but GRPC_SERVER_CERT_PATH names a certificate file',
    );
  });

  it('treats <PREFIX>TLS_ENABLED=false as plaintext only with <PREFIX>TLS_ALLOW_INSECURE=true or SIGIL_TLS_MODE=insecure', () => {
    const error = failure(() =>
      loadServerTlsConfig({ prefix: 'PARALLAX_', env: { PARALLAX_TLS_ENABLED: 'false' } }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toContain('PARALLAX_TLS_ENABLED=false asks for plaintext');
    expect(
      loadServerTlsConfig({
        prefix: 'PARALLAX_',
        env: { PARALLAX_TLS_ENABLED: 'false', PARALLAX_TLS_ALLOW_INSECURE: 'true' },
      }).mode,
    ).toBe('insecure');
    expect(
      loadClientTlsConfig({
        prefix: 'MIGLET_CONTROLLER_',
        env: { MIGLET_CONTROLLER_TLS_ENABLED: 'false', SIGIL_TLS_MODE: 'insecure' },
      }).mode,
    ).toBe('insecure');
  });

  it('never treats <PREFIX>TLS_ALLOW_INSECURE as a fallback', () => {
    const config = loadServerTlsConfig({
      prefix: 'PARALLAX_',
      name: 'control-plane',
      env: {
        PARALLAX_TLS_ENABLED: 'true',
        PARALLAX_CERTS_DIR: '/srv/certs',
        PARALLAX_TLS_ALLOW_INSECURE: 'true',
      },
    });
    expect(config.mode).toBe('file');
    expect(config.warnings.map((w) => w.event)).toEqual(['grpc_tls.allow_insecure_ignored']);
  });

  it('offers the guide spelling ServerTlsConfig.fromEnv / ClientTlsConfig.fromEnv', () => {
    expect(ServerTlsConfig.fromEnv({ env: serverEnv })).toEqual(
      loadServerTlsConfig({ env: serverEnv }),
    );
    expect(
      ClientTlsConfig.fromEnv({ env: { GRPC_TLS_DIR: '/etc/grpc-tls' } }).files?.certificate?.path,
    ).toBe('/etc/grpc-tls/tls.crt');
  });
});
