import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { loadServerTlsConfig } from './server-tls-config';

const files = {
  GRPC_SERVER_CERT_PATH: '/etc/grpc-tls/tls.crt',
  GRPC_SERVER_KEY_PATH: '/etc/grpc-tls/tls.key',
};
const withCa = { ...files, GRPC_CLIENT_CA_CERT_PATH: '/etc/grpc-tls/ca.crt' };

function failure(load: () => unknown): SigilError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

describe('clientCertificate', () => {
  it('defaults to require, with no warning', () => {
    const config = loadServerTlsConfig({ env: withCa, configFile: false });
    expect(config).toMatchObject({ clientCertificate: 'require', requireClientCertificate: true });
    expect(config.warnings).toEqual([]);
  });

  it.each([
    ['require', []],
    ['request', ['grpc_tls.client_cert_optional']],
    ['none', ['grpc_tls.client_cert_not_requested']],
  ] as const)('reads GRPC_CLIENT_CERT=%s', (mode, events) => {
    const config = loadServerTlsConfig({ env: { ...withCa, GRPC_CLIENT_CERT: mode } });
    expect(config.clientCertificate).toBe(mode);
    expect(config.requireClientCertificate).toBe(mode === 'require');
    expect(config.warnings.map((w) => w.event)).toEqual(events);
    for (const warning of config.warnings) {
      expect(warning.message).toContain(`GRPC_CLIENT_CERT=${mode}`);
      expect(warning.variables).toEqual(['GRPC_CLIENT_CERT']);
    }
  });

  it('reads the option, which beats the environment, and <PREFIX>TLS_CLIENT_CERT', () => {
    expect(
      loadServerTlsConfig({
        env: { ...withCa, GRPC_CLIENT_CERT: 'none' },
        clientCertificate: 'request',
      }).clientCertificate,
    ).toBe('request');
    expect(
      loadServerTlsConfig({ env: { ...withCa, SIGIL_TLS_CLIENT_CERT: 'Request' }, prefix: 'SIGIL' })
        .clientCertificate,
    ).toBe('request');
  });

  it('keeps the boolean spellings: true is require, false is request when there is a client CA', () => {
    expect(loadServerTlsConfig({ env: withCa, requireClientCertificate: false })).toMatchObject({
      clientCertificate: 'request',
      requireClientCertificate: false,
    });
    expect(
      loadServerTlsConfig({ env: { ...withCa, GRPC_REQUIRE_CLIENT_CERT: 'true' } })
        .clientCertificate,
    ).toBe('require');
    expect(
      loadServerTlsConfig({ env: { ...withCa, GRPC_REQUIRE_CLIENT_CERT: 'false' } })
        .clientCertificate,
    ).toBe('request');
  });

  it('refuses a mode and its boolean spelling that disagree', () => {
    const error = failure(() =>
      loadServerTlsConfig({
        env: { ...withCa, GRPC_CLIENT_CERT: 'request', GRPC_REQUIRE_CLIENT_CERT: 'true' },
      }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
    expect(error.message).toContain('GRPC_CLIENT_CERT');
    expect(error.message).toContain('GRPC_REQUIRE_CLIENT_CERT');
    expect(
      failure(() =>
        loadServerTlsConfig({
          env: withCa,
          clientCertificate: 'none',
          requireClientCertificate: true,
        }),
      ).code,
    ).toBe('ERR_TLS_CONFIG_AMBIGUOUS');
  });

  it('refuses a value that is not a mode, naming the variable', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { ...withCa, GRPC_CLIENT_CERT: 'optional' } }),
    );
    expect(error.code).toBe('ERR_TLS_CONFIG_INVALID');
    expect(error.message).toMatch(/GRPC_CLIENT_CERT.*"optional" is not a client certificate mode/);
  });

  it('needs the client CA for request, and names how to do without', () => {
    const error = failure(() =>
      loadServerTlsConfig({ env: { ...files, GRPC_CLIENT_CERT: 'request' } }),
    );
    expect(error.code).toBe('ERR_TLS_ENV_MISSING');
    expect(error.message).toMatch(
      /^GRPC_CLIENT_CA_CERT_PATH is not set: client certificates are requested \(GRPC_CLIENT_CERT=request\)/,
    );
    expect(error.message).toContain('GRPC_CLIENT_CERT=none');
    expect(
      loadServerTlsConfig({ env: { ...files, GRPC_CLIENT_CERT: 'none' } }).clientCertificate,
    ).toBe('none');
  });

  it('is none in insecure mode', () => {
    const config = loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'insecure' } });
    expect(config).toMatchObject({ clientCertificate: 'none', requireClientCertificate: false });
  });

  it('reads client_cert from the YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-tls-client-cert-'));
    try {
      const file = join(dir, 'tls.yaml');
      writeFileSync(file, 'tls:\n  client_cert: request\n');
      const config = loadServerTlsConfig({ env: { ...withCa, SIGIL_TLS_CONFIG: file } });
      expect(config.clientCertificate).toBe('request');
      expect(config.warnings[0]!.message).toContain(`${file}: tls.client_cert=request`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
