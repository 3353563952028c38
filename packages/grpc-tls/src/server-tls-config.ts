import { SigilError } from '@sigil/errors';
import type { Layer } from './internal/layers';
import { dropMissingImplied, envBoolean, envFileLayer, envValue } from './internal/layers';
import { commonSettings } from './internal/tls-common';
import type { Context } from './internal/tls-context';
import { agree, certsDirLayer, createContext, pick, toSetting } from './internal/tls-context';
import { requireFile, resolveFiles } from './internal/tls-files';
import { resolveMode } from './internal/tls-mode';
import { parseClientCertificateMode, type Sourced } from './internal/values';
import { GRPC_TLS_SETTINGS } from './tls-settings';
import type {
  ClientCertificateMode,
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
 * logger.info({ mode: config.mode, source: config.source, clientCertificate: config.clientCertificate });
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
  /** What the server asks of client certificates (see {@link ClientCertificateMode}). Default `require`; `none` in insecure mode. */
  readonly clientCertificate: ClientCertificateMode;
  /** `clientCertificate === 'require'`, kept for callers written before `clientCertificate` existed. */
  readonly requireClientCertificate: boolean;
}

/**
 * Options of {@link loadServerTlsConfig}.
 *
 * @example
 * ```ts
 * loadServerTlsConfig({ dir: '/etc/grpc-tls', clientCertificate: 'require' });
 * ```
 */
export interface LoadServerTlsConfigOptions extends LoadTlsConfigOptions {
  /**
   * `require` (default), `request` or `none` (see {@link ClientCertificateMode}). Beats
   * `GRPC_CLIENT_CERT`, `<PREFIX>TLS_CLIENT_CERT` and the YAML key `client_cert`.
   */
  clientCertificate?: ClientCertificateMode;
  /**
   * The older boolean spelling: `true` = `require`, `false` = `request` (`none` when there is no
   * client CA to verify with). Must agree with `clientCertificate` when both are given.
   */
  requireClientCertificate?: boolean;
}

/**
 * Reads the server's TLS settings once, at start-up, from explicit options, then the environment
 * (one convention: `<PREFIX>CERTS_DIR`, `GRPC_SERVER_*`, `GRPC_TLS_*`, `GRPC_TLS_DIR`), then the
 * YAML file named by `SIGIL_TLS_CONFIG`, then defaults. Strict: mutual TLS with client
 * certificates required unless `clientCertificate` / `GRPC_CLIENT_CERT` says `request` or
 * `none` (both warned about). Throws one
 * `SigilError` naming the variable at fault (`ERR_TLS_ENV_MISSING`, `ERR_TLS_CONFIG_INVALID`,
 * `ERR_TLS_CONFIG_AMBIGUOUS`, `ERR_TLS_DEV_IN_PRODUCTION`, `ERR_TLS_INSECURE_IN_PRODUCTION`).
 *
 * @example
 * ```ts
 * // GRPC_SERVER_CERT_PATH=/etc/grpc-tls/tls.crt GRPC_SERVER_KEY_PATH=/etc/grpc-tls/tls.key
 * // GRPC_CLIENT_CA_CERT_PATH=/etc/grpc-tls/ca.crt
 * const config = loadServerTlsConfig();
 * config.files?.certificate; // { path: '/etc/grpc-tls/tls.crt', origin: 'GRPC_SERVER_CERT_PATH' }
 *
 * // A server where some methods are public: ask for a client certificate, verify it if presented.
 * const identity = createRotatingIdentity({ certificateChainPem, privateKeyPem, caPem: clientBundlePem }, { requireIssuedByBundle: false });
 * const enrolment = loadServerTlsConfig({ identity, clientCertificate: 'request' });
 * ```
 */
export function loadServerTlsConfig(options: LoadServerTlsConfigOptions = {}): ServerTlsConfig {
  const ctx = createContext(options);
  const { env, prefix } = ctx;
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

  const requested = resolveClientCertificate(ctx, options);
  const mode = resolveMode(ctx, files, warnings);
  let clientCertificate = mode.value === 'insecure' ? 'none' : requested.value;
  let fileSettings: ServerTlsConfig['files'];
  if (mode.value === 'file') {
    if (clientCertificate !== 'require') dropMissingImplied(files.chosen, 'ca');
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
    // `GRPC_REQUIRE_CLIENT_CERT=false` always meant "verify a certificate if there is a CA to verify it with".
    if (!ca && clientCertificate === 'request' && requested.legacy) clientCertificate = 'none';
    if (!ca && clientCertificate !== 'none') {
      const variable = files.expects.ca!;
      const why =
        clientCertificate === 'require'
          ? 'client certificates are required by default'
          : `client certificates are requested (${requested.said})`;
      throw new SigilError(
        'ERR_TLS_ENV_MISSING',
        `${variable} is not set: ${why}, so the server needs the CA that signs them. ` +
          `Set ${variable}, or set ${GRPC_TLS_SETTINGS.clientCertificate.env}=none (GRPC_REQUIRE_CLIENT_CERT=false) to serve TLS without client authentication`,
        { details: { variable } },
      );
    }
    fileSettings = { certificate, privateKey, ...(ca ? { ca: toSetting(ca) } : {}) };
  }
  if (mode.value !== 'insecure')
    warnings.push(...clientCertificateWarnings(clientCertificate, requested));
  return {
    side: 'server',
    ...commonSettings(ctx, mode, files, warnings),
    ...(fileSettings ? { files: fileSettings } : {}),
    clientCertificate,
    requireClientCertificate: clientCertificate === 'require',
  };
}

/** The client certificate mode as asked for, with the words that asked (for messages). */
interface RequestedClientCertificate extends Sourced<ClientCertificateMode> {
  /** `GRPC_CLIENT_CERT=request`, `option requireClientCertificate=false`, ... */
  readonly said: string;
  /** Said with one of the boolean spellings (`requireClientCertificate`, `GRPC_REQUIRE_CLIENT_CERT`, ...). */
  readonly legacy: boolean;
}

/**
 * Options, then env vars, then YAML, then `require`. Within each, the mode and its boolean
 * spelling (`true` = `require`, `false` = `request`) must agree.
 */
function resolveClientCertificate(
  ctx: Context,
  options: LoadServerTlsConfigOptions,
): RequestedClientCertificate {
  const { env, prefix, yaml } = ctx;
  const modeSetting = (
    setting: Sourced<string> | undefined,
  ): RequestedClientCertificate | undefined =>
    setting && {
      value: parseClientCertificateMode(setting.value, setting.origin),
      said: `${setting.origin}=${setting.value}`,
      origin: setting.origin,
      legacy: false,
    };
  const booleanSetting = (
    setting: Sourced<boolean> | undefined,
  ): RequestedClientCertificate | undefined =>
    setting && {
      value: setting.value ? 'require' : 'request',
      said: `${setting.origin}=${String(setting.value)}`,
      origin: setting.origin,
      legacy: true,
    };
  const option = <T>(name: string, value: T | undefined): Sourced<T> | undefined =>
    value === undefined ? undefined : { value, origin: `option ${name}` };
  const { env: variable } = GRPC_TLS_SETTINGS.clientCertificate;
  const same = (settings: (RequestedClientCertificate | undefined)[]) =>
    agree(settings) as RequestedClientCertificate | undefined;
  return (
    (pick(
      same([
        modeSetting(option('clientCertificate', options.clientCertificate)),
        booleanSetting(option('requireClientCertificate', options.requireClientCertificate)),
      ]),
      same([
        modeSetting(envValue(env, variable)),
        prefix ? modeSetting(envValue(env, `${prefix}TLS_CLIENT_CERT`)) : undefined,
        booleanSetting(envBoolean(env, 'GRPC_REQUIRE_CLIENT_CERT')),
        prefix ? booleanSetting(envBoolean(env, `${prefix}TLS_VERIFY_CLIENT`)) : undefined,
      ]),
      same([modeSetting(yaml?.client_cert), booleanSetting(yaml?.require_client_cert)]),
    ) as RequestedClientCertificate | undefined) ?? {
      value: GRPC_TLS_SETTINGS.clientCertificate.default,
      said: 'default',
      origin: 'default',
      legacy: false,
    }
  );
}

function clientCertificateWarnings(
  mode: ClientCertificateMode,
  requested: RequestedClientCertificate,
): TlsConfigWarning[] {
  if (mode === 'require') return [];
  const said = mode === requested.value ? requested.said : `${requested.said}, and no client CA`;
  return [
    mode === 'request'
      ? {
          event: 'grpc_tls.client_cert_optional',
          message: `client certificates are requested but NOT required (${said}): a client without one, or with one that does not verify, gets a TLS connection with no peer identity, so every method must authorize its caller`,
          variables: [requested.origin],
        }
      : {
          event: 'grpc_tls.client_cert_not_requested',
          message: `client certificates are NOT requested (${said}): any client that can reach the port gets a TLS connection without proving its identity`,
          variables: [requested.origin],
        },
  ];
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
