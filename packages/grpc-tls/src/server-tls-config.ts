import { SigilError } from '@sigil/errors';
import type { Layer } from './internal/layers';
import { dropMissingImplied, envBoolean, envFileLayer } from './internal/layers';
import { commonSettings } from './internal/tls-common';
import { agree, certsDirLayer, createContext, pick, toSetting } from './internal/tls-context';
import { requireFile, resolveFiles } from './internal/tls-files';
import { resolveMode } from './internal/tls-mode';
import type {
  LoadTlsConfigOptions,
  TlsConfigBase,
  TlsConfigWarning,
  TlsFileSetting,
} from './tls-config-types';

/**
 * A parsed, validated server configuration: the input of `createServerCredentials`.
 *
 * @example
 * ```ts
 * const config: ServerTlsConfig = ServerTlsConfig.fromEnv();
 * logger.info({ mode: config.mode, source: config.source, mtls: config.requireClientCertificate });
 * ```
 */
export interface ServerTlsConfig extends TlsConfigBase {
  readonly side: 'server';
  /** The PEM files (mode `file`). `ca` verifies client certificates. */
  readonly files?: {
    readonly certificate: TlsFileSetting;
    readonly privateKey: TlsFileSetting;
    readonly ca?: TlsFileSetting;
  };
  /** Refuse clients without a certificate signed by the CA. Default true. */
  readonly requireClientCertificate: boolean;
}

/**
 * Options of {@link loadServerTlsConfig}.
 *
 * @example
 * ```ts
 * loadServerTlsConfig({ dir: '/etc/grpc-tls', requireClientCertificate: true });
 * ```
 */
export interface LoadServerTlsConfigOptions extends LoadTlsConfigOptions {
  requireClientCertificate?: boolean;
}

/**
 * Reads the server's TLS settings once, at start-up, from explicit options, then the environment
 * (one convention: `<PREFIX>CERTS_DIR`, `GRPC_SERVER_*`, `GRPC_TLS_*`, `GRPC_TLS_DIR`), then the
 * YAML file named by `SIGIL_TLS_CONFIG`, then defaults. Strict: mutual TLS with client
 * certificates required unless `GRPC_REQUIRE_CLIENT_CERT=false` says otherwise. Throws one
 * `SigilError` naming the variable at fault (`ERR_TLS_ENV_MISSING`, `ERR_TLS_CONFIG_INVALID`,
 * `ERR_TLS_CONFIG_AMBIGUOUS`, `ERR_TLS_DEV_IN_PRODUCTION`, `ERR_TLS_INSECURE_IN_PRODUCTION`).
 *
 * @example
 * ```ts
 * // GRPC_SERVER_CERT_PATH=/etc/grpc-tls/tls.crt GRPC_SERVER_KEY_PATH=/etc/grpc-tls/tls.key
 * // GRPC_CLIENT_CA_CERT_PATH=/etc/grpc-tls/ca.crt
 * const config = loadServerTlsConfig();
 * config.files?.certificate; // { path: '/etc/grpc-tls/tls.crt', origin: 'GRPC_SERVER_CERT_PATH' }
 * ```
 */
export function loadServerTlsConfig(options: LoadServerTlsConfigOptions = {}): ServerTlsConfig {
  const ctx = createContext(options);
  const { env, prefix, yaml } = ctx;
  const warnings: TlsConfigWarning[] = [];
  const envLayers: Layer[] = [];
  if (prefix) envLayers.push(certsDirLayer(env, prefix, options.name));
  envLayers.push(
    envFileLayer('the GRPC_SERVER_* variables', env, {
      certificate: 'GRPC_SERVER_CERT_PATH',
      privateKey: 'GRPC_SERVER_KEY_PATH',
      ca: 'GRPC_CLIENT_CA_CERT_PATH',
    }),
    envFileLayer('the GRPC_TLS_* variables', env, {
      certificate: 'GRPC_TLS_CERT',
      privateKey: 'GRPC_TLS_KEY',
      ca: 'GRPC_TLS_CA',
    }),
  );
  const files = resolveFiles(ctx, envLayers, (section) => ({
    certificate: section.server_cert_path,
    privateKey: section.server_key_path,
    ca: section.client_ca_cert_path,
  }));

  const requireClientCertificate = pick<boolean>(
    options.requireClientCertificate === undefined
      ? undefined
      : { value: options.requireClientCertificate, origin: 'option requireClientCertificate' },
    agree([
      envBoolean(env, 'GRPC_REQUIRE_CLIENT_CERT'),
      prefix ? envBoolean(env, `${prefix}TLS_VERIFY_CLIENT`) : undefined,
    ]),
    yaml?.require_client_cert,
  ) ?? { value: true, origin: 'default' };

  const mode = resolveMode(ctx, files, warnings);
  let fileSettings: ServerTlsConfig['files'];
  if (mode.value === 'file') {
    if (!requireClientCertificate.value) dropMissingImplied(files.chosen, 'ca');
    const why = 'a TLS server needs a certificate and key';
    const certificate = requireFile(
      ctx,
      files,
      'certificate',
      { option: 'certificateFile', yamlKey: 'server_cert_path' },
      why,
    );
    const privateKey = requireFile(
      ctx,
      files,
      'privateKey',
      { option: 'privateKeyFile', yamlKey: 'server_key_path' },
      why,
    );
    const ca = files.chosen.ca;
    if (requireClientCertificate.value && !ca) {
      const variable = files.expects.ca!;
      throw new SigilError(
        'ERR_TLS_ENV_MISSING',
        `${variable} is not set: client certificates are required by default, so the server needs the CA that signs them. ` +
          `Set ${variable}, or set GRPC_REQUIRE_CLIENT_CERT=false to serve TLS without client authentication`,
        { details: { variable } },
      );
    }
    fileSettings = { certificate, privateKey, ...(ca ? { ca: toSetting(ca) } : {}) };
  }
  if (!requireClientCertificate.value && mode.value !== 'insecure') {
    warnings.push({
      event: 'grpc_tls.client_cert_optional',
      message: `client certificates are NOT required (${requireClientCertificate.origin}=false): any client that can reach the port gets a TLS connection without proving its identity`,
      variables: [requireClientCertificate.origin],
    });
  }
  return {
    side: 'server',
    ...commonSettings(ctx, mode, files, warnings),
    ...(fileSettings ? { files: fileSettings } : {}),
    requireClientCertificate: mode.value === 'insecure' ? false : requireClientCertificate.value,
  };
}

/**
 * `ServerTlsConfig.fromEnv()`: the spelling of the integration guide, same as {@link loadServerTlsConfig}.
 *
 * @example
 * ```ts
 * const tls = await createServerCredentials(ServerTlsConfig.fromEnv());
 * ```
 */
export const ServerTlsConfig = Object.freeze({
  fromEnv: (options?: LoadServerTlsConfigOptions): ServerTlsConfig => loadServerTlsConfig(options),
});
