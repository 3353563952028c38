import { join, resolve } from 'node:path';
import { SigilError } from '@sigil/errors';
import type { RotatingIdentity } from './rotating-identity';
import {
  CERTS_DIR_FILES,
  chooseEnvLayer,
  directoryLayer,
  dropMissingImplied,
  Env,
  envBoolean,
  envFileLayer,
  envValue,
  FileRole,
  FileSource,
  fileLayer,
  Layer,
  mergeWithinLayer,
  ROLE_NAMES,
  SECRET_MOUNT_FILES,
} from './internal/layers';
import {
  parseBoolean,
  parseExpectedSpiffeIds,
  parseMinVersion,
  parseNonNegativeInteger,
  invalid,
  Sourced,
} from './internal/values';
import type { TlsMinVersion } from './internal/values';
import { readYamlTlsSection, YamlTlsSection } from './internal/yaml-file';

export type { TlsMinVersion };

/**
 * How an endpoint gets its TLS material. `file` (the default) reads PEM files and reloads them
 * when they change; `dev` makes a throwaway CA and certificates in memory (refused when
 * `NODE_ENV=production`); `insecure` is plaintext, only when asked for by name; `memory` serves a
 * {@link RotatingIdentity} the application feeds.
 *
 * @example
 * ```ts
 * if (config.mode === 'insecure') alertOnCall('gRPC is running without TLS');
 * ```
 */
export type TlsMode = 'file' | 'dev' | 'insecure' | 'memory';

/**
 * A file the configuration names, with the setting that named it (env var, option or YAML key).
 *
 * @example
 * ```ts
 * const { path, origin } = loadServerTlsConfig().files!.certificate; // '/etc/grpc-tls/tls.crt', 'GRPC_TLS_DIR'
 * ```
 */
export interface TlsFileSetting {
  readonly path: string;
  readonly origin: string;
}

/**
 * Something worth a warning in the configuration; logged each time credentials are created.
 *
 * @example
 * ```ts
 * for (const w of loadServerTlsConfig().warnings) console.warn(w.event, w.message); // grpc_tls.client_cert_optional ...
 * ```
 */
export interface TlsConfigWarning {
  /** Stable event name for the structured log, e.g. `grpc_tls.client_cert_optional`. */
  readonly event: string;
  readonly message: string;
  /** The settings involved. */
  readonly variables: readonly string[];
}

/**
 * When and how files are re-read for rotation.
 *
 * @example
 * ```ts
 * loadServerTlsConfig({ debounceMs: 1000, pollIntervalMs: 0 }).reload; // { watch: true, debounceMs: 1000, pollIntervalMs: 0, reloadOnSighup: true }
 * ```
 */
export interface TlsReloadSettings {
  /** Watch the files' directories (catches cert-manager's `..data` symlink swap and rewrites). Default true. */
  readonly watch: boolean;
  /** Quiet time after the last change before reloading, so a pair written in two steps is read once. Default 500. */
  readonly debounceMs: number;
  /** Re-read the files this often as a safety net for file systems without change events; 0 disables. Default 60000. */
  readonly pollIntervalMs: number;
  /** Reload on SIGHUP. Default true. */
  readonly reloadOnSighup: boolean;
}

interface TlsConfigBase {
  readonly mode: TlsMode;
  /** The convention the material came from, for logs: `GRPC_TLS_DIR`, `the GRPC_SERVER_* variables`, `options`, ... */
  readonly source: string;
  /** The in-memory identity (mode `memory`). */
  readonly identity?: RotatingIdentity;
  readonly minVersion: TlsMinVersion;
  /** OpenSSL cipher list (TLS 1.2 suites); Node's default when unset. */
  readonly ciphers?: string;
  /** Warn when the certificate has fewer days left than this. Default 30. */
  readonly warnDays: number;
  readonly reload: TlsReloadSettings;
  /** The SPIFFE ID of the throwaway certificate in `dev` mode. */
  readonly devSpiffeId?: string;
  readonly warnings: readonly TlsConfigWarning[];
}

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
 * A parsed, validated client configuration: the input of `createClientCredentials`.
 *
 * @example
 * ```ts
 * const config: ClientTlsConfig = ClientTlsConfig.fromEnv({ prefix: 'MIGLET_CONTROLLER_' });
 * logger.info({ serverName: config.serverName, expected: config.expectedServerIds });
 * ```
 */
export interface ClientTlsConfig extends TlsConfigBase {
  readonly side: 'client';
  /** The PEM files (mode `file`). `ca` verifies the server. */
  readonly files?: {
    readonly certificate?: TlsFileSetting;
    readonly privateKey?: TlsFileSetting;
    readonly ca?: TlsFileSetting;
  };
  /** Present a client certificate (mutual TLS). Default true. */
  readonly requireClientCertificate: boolean;
  /** Name to verify the server certificate against and send as SNI/authority instead of the dialled host. */
  readonly serverName?: string;
  /** SPIFFE IDs (exact, or `spiffe://<trust-domain>` for any ID in it) the server must present. */
  readonly expectedServerIds: readonly string[];
  /** The setting that gave {@link ClientTlsConfig.expectedServerIds}, for messages. */
  readonly expectedServerIdOrigin?: string;
  /** Skip server verification entirely. Emergency only: refused in production. */
  readonly insecureSkipVerify: boolean;
}

/**
 * Options shared by {@link loadServerTlsConfig} and {@link loadClientTlsConfig}. Each beats every env var and the YAML file.
 *
 * @example
 * ```ts
 * const options: LoadTlsConfigOptions = { prefix: 'PARALLAX_', name: 'control-plane', minVersion: 'TLSv1.3' };
 * ```
 */
export interface LoadTlsConfigOptions {
  /** The environment to read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the prefixed conventions, e.g. `MIGLET_CONTROLLER_` or `PARALLAX_` (a trailing `_` is added if missing). */
  prefix?: string;
  /** The entry of a certs directory (`<PREFIX>CERTS_DIR/<name>/cert.pem`), e.g. `control-plane`. */
  name?: string;
  /** YAML config file. Default the `SIGIL_TLS_CONFIG` env var; `false` ignores both. */
  configFile?: string | false;
  /** Dotted path of the TLS section in the YAML file. Default `tls`. */
  configSection?: string;
  mode?: 'file' | 'dev' | 'insecure';
  /** Serve this in-memory identity (mode `memory`). */
  identity?: RotatingIdentity;
  /** A cert-manager Secret mount (`tls.crt`, `tls.key`, `ca.crt`). */
  dir?: string;
  certificateFile?: string;
  privateKeyFile?: string;
  caFile?: string;
  minVersion?: TlsMinVersion;
  ciphers?: string;
  warnDays?: number;
  watch?: boolean;
  debounceMs?: number;
  pollIntervalMs?: number;
  reloadOnSighup?: boolean;
  /** SPIFFE ID of the `dev` mode certificate. Default `spiffe://dev.sigil.local/dev/server` (or `/dev/client`). */
  devSpiffeId?: string;
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
 * Options of {@link loadClientTlsConfig}.
 *
 * @example
 * ```ts
 * loadClientTlsConfig({ dir: '/etc/grpc-tls', expectedServerId: 'spiffe://example.org/svc/user-service' });
 * ```
 */
export interface LoadClientTlsConfigOptions extends LoadTlsConfigOptions {
  /** Present no client certificate when set to false (the server must not require one). Default true. */
  requireClientCertificate?: boolean;
  serverName?: string;
  /** The server's SPIFFE ID, or `spiffe://<trust-domain>` for any workload of that trust domain. */
  expectedServerId?: string | readonly string[];
  insecureSkipVerify?: boolean;
}

const DEFAULTS = {
  minVersion: 'TLSv1.2' as TlsMinVersion,
  warnDays: 30,
  debounceMs: 500,
  pollIntervalMs: 60_000,
};

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
  const tlsDir = envValue(env, 'GRPC_TLS_DIR');
  if (tlsDir) envLayers.push(directoryLayer('GRPC_TLS_DIR', tlsDir, SECRET_MOUNT_FILES));
  const yamlLayer =
    yaml &&
    yamlFileLayer(yaml, {
      certificate: yaml.server_cert_path,
      privateKey: yaml.server_key_path,
      ca: yaml.client_ca_cert_path,
    });
  const files = resolveFiles(ctx, envLayers, yamlLayer);

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
 * Reads a client's TLS settings once, at start-up: explicit options, then the environment (one
 * convention: `<PREFIX>TLS_*` as in `MIGLET_CONTROLLER_TLS_CA_CERT_PATH`, `<PREFIX>CERTS_DIR`, the
 * `GRPC_SERVER_CA_CERT_PATH`/`GRPC_CLIENT_*` variables, `GRPC_TLS_DIR`), then the YAML file, then
 * defaults. Mutual TLS by default: a missing client certificate is an error naming the variable.
 *
 * @example
 * ```ts
 * // MIGLET_CONTROLLER_TLS_CA_CERT_PATH=/opt/miglet/certs/ca.crt, ..._CLIENT_CERT_PATH, ..._CLIENT_KEY_PATH,
 * // MIGLET_CONTROLLER_TLS_SERVER_NAME=controller.monkci.io
 * const config = loadClientTlsConfig({ prefix: 'MIGLET_CONTROLLER_' });
 * config.serverName; // 'controller.monkci.io'
 * ```
 */
export function loadClientTlsConfig(options: LoadClientTlsConfigOptions = {}): ClientTlsConfig {
  const ctx = createContext(options);
  const { env, prefix, yaml } = ctx;
  const warnings: TlsConfigWarning[] = [];
  const envLayers: Layer[] = [];
  if (prefix) {
    envLayers.push(
      envFileLayer(`the ${prefix}TLS_* variables`, env, {
        certificate: `${prefix}TLS_CLIENT_CERT_PATH`,
        privateKey: `${prefix}TLS_CLIENT_KEY_PATH`,
        ca: `${prefix}TLS_CA_CERT_PATH`,
      }),
      certsDirLayer(env, prefix, options.name),
    );
  }
  envLayers.push(
    envFileLayer('the GRPC_CLIENT_* variables', env, {
      certificate: 'GRPC_CLIENT_CERT_PATH',
      privateKey: 'GRPC_CLIENT_KEY_PATH',
      ca: 'GRPC_SERVER_CA_CERT_PATH',
    }),
  );
  const tlsDir = envValue(env, 'GRPC_TLS_DIR');
  if (tlsDir) envLayers.push(directoryLayer('GRPC_TLS_DIR', tlsDir, SECRET_MOUNT_FILES));
  const yamlLayer =
    yaml &&
    yamlFileLayer(yaml, {
      certificate: yaml.client_cert_path,
      privateKey: yaml.client_key_path,
      ca: yaml.ca_cert_path,
    });
  const files = resolveFiles(ctx, envLayers, yamlLayer);

  const serverName = pick<string>(
    options.serverName === undefined
      ? undefined
      : { value: options.serverName, origin: 'option serverName' },
    agree([
      envValue(env, 'GRPC_SERVER_DOMAIN'),
      prefix ? envValue(env, `${prefix}TLS_SERVER_NAME`) : undefined,
    ]),
    yaml?.server_name,
  );
  const expectedRaw = pick<string | readonly string[]>(
    options.expectedServerId === undefined
      ? undefined
      : { value: options.expectedServerId, origin: 'option expectedServerId' },
    agree([
      envValue(env, 'GRPC_SERVER_SPIFFE_ID'),
      prefix ? envValue(env, `${prefix}TLS_SERVER_SPIFFE_ID`) : undefined,
    ]),
    yaml?.server_spiffe_id,
  );
  const expected = expectedRaw && {
    value: parseExpectedSpiffeIds(expectedRaw.value, expectedRaw.origin),
    origin: expectedRaw.origin,
  };
  const insecureSkipVerify = pick<boolean>(
    options.insecureSkipVerify === undefined
      ? undefined
      : { value: options.insecureSkipVerify, origin: 'option insecureSkipVerify' },
    prefix ? envBoolean(env, `${prefix}TLS_INSECURE_SKIP_VERIFY`) : undefined,
    yaml?.insecure_skip_verify,
  ) ?? { value: false, origin: 'default' };
  const requireClientCertificate = options.requireClientCertificate ?? true;

  const mode = resolveMode(ctx, files, warnings);
  let fileSettings: ClientTlsConfig['files'];
  if (mode.value === 'file') {
    const ca = files.chosen.ca;
    if (!ca && !insecureSkipVerify.value) {
      const variable = files.expects.ca!;
      throw new SigilError(
        'ERR_TLS_ENV_MISSING',
        `${variable} is not set: the client needs the CA bundle that verifies the server's certificate`,
        {
          details: { variable },
        },
      );
    }
    const hasPair = files.chosen.certificate !== undefined || files.chosen.privateKey !== undefined;
    const why = 'mutual TLS needs a client certificate and key';
    const needed = requireClientCertificate || hasPair;
    const certificate = needed
      ? requireFile(
          ctx,
          files,
          'certificate',
          { option: 'certificateFile', yamlKey: 'client_cert_path' },
          why,
        )
      : undefined;
    const privateKey = needed
      ? requireFile(
          ctx,
          files,
          'privateKey',
          { option: 'privateKeyFile', yamlKey: 'client_key_path' },
          why,
        )
      : undefined;
    fileSettings = {
      ...(certificate ? { certificate } : {}),
      ...(privateKey ? { privateKey } : {}),
      ...(ca ? { ca: toSetting(ca) } : {}),
    };
  }
  if (insecureSkipVerify.value) {
    if (mode.value === 'insecure')
      throw ambiguous(`${insecureSkipVerify.origin}=true makes no sense in plaintext mode`, [
        insecureSkipVerify.origin,
      ]);
    if (expected) {
      throw ambiguous(
        `${insecureSkipVerify.origin}=true skips all verification, so ${expected.origin} cannot be enforced; unset one of them`,
        [insecureSkipVerify.origin, expected.origin],
      );
    }
    refuseInProduction(ctx, insecureSkipVerify.origin, 'skipping server certificate verification');
    warnings.push({
      event: 'grpc_tls.insecure_skip_verify',
      message: `server certificate verification is DISABLED (${insecureSkipVerify.origin}=true): any server, including an attacker in the middle, is accepted. Emergency use only`,
      variables: [insecureSkipVerify.origin],
    });
  }
  if (!requireClientCertificate && mode.value !== 'insecure') {
    warnings.push({
      event: 'grpc_tls.client_cert_optional',
      message:
        'the client presents no certificate (option requireClientCertificate=false): servers that require mutual TLS will refuse it',
      variables: ['option requireClientCertificate'],
    });
  }
  return {
    side: 'client',
    ...commonSettings(ctx, mode, files, warnings),
    ...(fileSettings ? { files: fileSettings } : {}),
    requireClientCertificate: mode.value === 'insecure' ? false : requireClientCertificate,
    ...(serverName ? { serverName: serverName.value } : {}),
    expectedServerIds: expected?.value ?? [],
    ...(expected ? { expectedServerIdOrigin: expected.origin } : {}),
    insecureSkipVerify: insecureSkipVerify.value,
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

/**
 * `ClientTlsConfig.fromEnv()`: the spelling of the integration guide, same as {@link loadClientTlsConfig}.
 *
 * @example
 * ```ts
 * const tls = await createClientCredentials(ClientTlsConfig.fromEnv({ prefix: 'MIGLET_CONTROLLER_' }));
 * ```
 */
export const ClientTlsConfig = Object.freeze({
  fromEnv: (options?: LoadClientTlsConfigOptions): ClientTlsConfig => loadClientTlsConfig(options),
});

interface Context {
  readonly options: LoadTlsConfigOptions;
  readonly env: Env;
  readonly prefix: string | undefined;
  readonly yaml: YamlTlsSection | undefined;
  readonly production: boolean;
  readonly explicit: Layer;
}

function createContext(options: LoadTlsConfigOptions): Context {
  const env = options.env ?? process.env;
  const prefix =
    options.prefix === undefined || options.prefix === ''
      ? undefined
      : options.prefix.endsWith('_')
        ? options.prefix
        : `${options.prefix}_`;
  const configFile =
    options.configFile === false
      ? undefined
      : options.configFile !== undefined
        ? { value: resolve(options.configFile), origin: 'option configFile' }
        : envValue(env, 'SIGIL_TLS_CONFIG');
  const yaml =
    configFile &&
    readYamlTlsSection(
      { value: resolve(configFile.value), origin: configFile.origin },
      options.configSection ?? 'tls',
    );
  const explicit = mergeWithinLayer(
    'options',
    options.dir === undefined
      ? undefined
      : directoryLayer('options', { value: options.dir, origin: 'option dir' }, SECRET_MOUNT_FILES),
    fileLayer('options', {
      certificate:
        options.certificateFile === undefined
          ? undefined
          : { value: options.certificateFile, origin: 'option certificateFile' },
      privateKey:
        options.privateKeyFile === undefined
          ? undefined
          : { value: options.privateKeyFile, origin: 'option privateKeyFile' },
      ca:
        options.caFile === undefined
          ? undefined
          : { value: options.caFile, origin: 'option caFile' },
    }),
  );
  return { options, env, prefix, yaml, production: env['NODE_ENV'] === 'production', explicit };
}

/** `<PREFIX>CERTS_DIR/<name>/{cert,key,ca}.pem`, each overridable by `<PREFIX>TLS_{CERT,KEY,CA}_FILE`. */
function certsDirLayer(env: Env, prefix: string, name: string | undefined): Layer {
  const individual = envFileLayer(`the ${prefix}TLS_*_FILE variables`, env, {
    certificate: `${prefix}TLS_CERT_FILE`,
    privateKey: `${prefix}TLS_KEY_FILE`,
    ca: `${prefix}TLS_CA_FILE`,
  });
  const certsDir = envValue(env, `${prefix}CERTS_DIR`);
  let directory: Layer | undefined;
  if (certsDir) {
    if (name === undefined) {
      const complete = (['certificate', 'privateKey', 'ca'] as const).every(
        (role) => individual.files[role],
      );
      if (!complete) {
        throw new SigilError(
          'ERR_TLS_CONFIG_INVALID',
          `${prefix}CERTS_DIR is set but no certificate name was given: pass { name } (e.g. name: 'control-plane' reads ${certsDir.value}/control-plane/cert.pem, key.pem and ca.pem)`,
          { details: { variable: `${prefix}CERTS_DIR` } },
        );
      }
    } else {
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..')
        throw invalid('option name', `"${name}" is not a directory entry name`);
      directory = directoryLayer(
        `${prefix}CERTS_DIR`,
        { value: join(resolve(certsDir.value), name), origin: `${prefix}CERTS_DIR` },
        CERTS_DIR_FILES,
      );
    }
  }
  return mergeWithinLayer(
    certsDir ? `${prefix}CERTS_DIR` : `the ${prefix}TLS_*_FILE variables`,
    directory,
    individual,
  );
}

function yamlFileLayer(
  yaml: YamlTlsSection,
  entries: Partial<Record<FileRole, Sourced<string>>>,
): Layer {
  const name = `the YAML file ${yaml.file}`;
  const directory = yaml.dir && directoryLayer(name, yaml.dir, SECRET_MOUNT_FILES, yaml.baseDir);
  return mergeWithinLayer(name, directory, fileLayer(name, entries, yaml.baseDir));
}

interface ResolvedFiles {
  /** The file per role after precedence: explicit options, then the env convention, then YAML. */
  readonly chosen: Partial<Record<FileRole, FileSource>>;
  /** The variable to name when a role is missing. */
  readonly expects: Partial<Record<FileRole, string>>;
  /** Name of the layer that supplied the certificate (or whatever it supplied first). */
  readonly source: string;
  /** Rank (3 options, 2 env, 1 YAML) of each role's winner: lets an explicit mode ignore lower layers. */
  readonly ranks: Partial<Record<FileRole, number>>;
}

function resolveFiles(
  ctx: Context,
  envLayers: readonly Layer[],
  yamlLayer: Layer | undefined,
): ResolvedFiles {
  const envLayer = chooseEnvLayer(envLayers);
  const chosen: Partial<Record<FileRole, FileSource>> = {};
  const ranks: Partial<Record<FileRole, number>> = {};
  const sources: string[] = [];
  const layers: [Layer | undefined, number][] = [
    [ctx.explicit, 3],
    [envLayer, 2],
    [yamlLayer, 1],
  ];
  for (const role of ['certificate', 'privateKey', 'ca'] as const) {
    for (const [layer, rank] of layers) {
      const file = layer?.files[role];
      if (file) {
        chosen[role] = file;
        ranks[role] = rank;
        sources.push(layer!.name);
        break;
      }
    }
  }
  // Name the missing variable of the convention in use, else of the first (most specific) one.
  const expects = { ...((envLayer ?? envLayers.find((l) => l.expects))?.expects ?? {}) };
  return { chosen, expects, source: sources[0] ?? 'none', ranks };
}

/** The setting names of a file role outside the env: the option and the YAML key. */
interface RoleNames {
  readonly option: string;
  readonly yamlKey: string;
}

function requireFile(
  ctx: Context,
  files: ResolvedFiles,
  role: 'certificate' | 'privateKey',
  names: RoleNames,
  why: string,
): TlsFileSetting {
  const file = files.chosen[role];
  if (file) return toSetting(file);
  const otherRole = role === 'certificate' ? 'privateKey' : 'certificate';
  const other = files.chosen[otherRole];
  // Name the setting of the same convention as the half of the pair that is there.
  const rank = other ? files.ranks[otherRole] : 2;
  const variable =
    rank === 3
      ? `option ${names.option}`
      : rank === 1 && ctx.yaml
        ? `${ctx.yaml.file}: ${ctx.options.configSection ?? 'tls'}.${names.yamlKey}`
        : files.expects[role]!;
  const hint = other
    ? `${other.origin} is set, so the ${ROLE_NAMES[role]} must be too`
    : `set ${files.expects.certificate} and ${files.expects.privateKey}${files.expects.certificate === 'GRPC_SERVER_CERT_PATH' ? ', or GRPC_TLS_CERT and GRPC_TLS_KEY' : ''}, or GRPC_TLS_DIR; SIGIL_TLS_MODE=dev makes throwaway certificates for development`;
  throw new SigilError('ERR_TLS_ENV_MISSING', `${variable} is not set: ${why} (${hint})`, {
    details: { variable },
  });
}

function resolveMode(
  ctx: Context,
  files: ResolvedFiles,
  warnings: TlsConfigWarning[],
): Sourced<TlsMode> & { rank: number } {
  const { options, env, prefix, yaml } = ctx;
  const explicitMode =
    options.mode === undefined
      ? undefined
      : { value: parseModeName(options.mode, 'option mode'), origin: 'option mode' };
  if (options.identity && explicitMode)
    throw ambiguous(
      'option identity and option mode are both set; an identity means mode "memory"',
      ['option identity', 'option mode'],
    );
  const envMode = envValue(env, 'SIGIL_TLS_MODE');
  const candidates: [Sourced<TlsMode> | undefined, number][] = [
    [options.identity ? { value: 'memory', origin: 'option identity' } : explicitMode, 3],
    [
      envMode && {
        value: parseModeName(envMode.value, 'SIGIL_TLS_MODE'),
        origin: 'SIGIL_TLS_MODE',
      },
      2,
    ],
    [
      yaml?.mode && {
        value: parseModeName(yaml.mode.value, yaml.mode.origin),
        origin: yaml.mode.origin,
      },
      1,
    ],
  ];
  let mode: (Sourced<TlsMode> & { rank: number }) | undefined;
  for (const [candidate, rank] of candidates) {
    if (candidate) {
      mode = { ...candidate, rank };
      break;
    }
  }
  const enabled = pick<boolean>(
    prefix ? envBoolean(env, `${prefix}TLS_ENABLED`) : undefined,
    yaml?.enabled,
  );
  const allowInsecure = prefix ? envBoolean(env, `${prefix}TLS_ALLOW_INSECURE`) : undefined;
  if (enabled && !enabled.value) {
    if (!mode && allowInsecure?.value)
      mode = {
        value: 'insecure',
        origin: `${enabled.origin}=false with ${allowInsecure.origin}=true`,
        rank: 2,
      };
    if (!mode || mode.value !== 'insecure') {
      throw new SigilError(
        'ERR_TLS_CONFIG_INVALID',
        `${enabled.origin}=false asks for plaintext, but Sigil only runs without TLS when asked for by name: set SIGIL_TLS_MODE=insecure` +
          (prefix ? ` (or ${prefix}TLS_ALLOW_INSECURE=true)` : '') +
          `, or remove ${enabled.origin}`,
        { details: { variable: enabled.origin } },
      );
    }
  } else if (enabled?.value && mode?.value === 'insecure') {
    throw ambiguous(`${enabled.origin}=true but ${mode.origin}=insecure; choose one`, [
      enabled.origin,
      mode.origin,
    ]);
  }
  if (allowInsecure?.value && mode?.value !== 'insecure') {
    warnings.push({
      event: 'grpc_tls.allow_insecure_ignored',
      message: `${allowInsecure.origin}=true is ignored: Sigil never falls back to plaintext. Plaintext needs ${prefix}TLS_ENABLED=false or SIGIL_TLS_MODE=insecure`,
      variables: [allowInsecure.origin],
    });
  }
  const resolved = mode ?? { value: 'file' as TlsMode, origin: 'default', rank: 0 };
  if (resolved.value !== 'file') {
    // Certificates named at the same or a higher precedence than the mode make the intent unclear.
    for (const role of ['certificate', 'privateKey', 'ca'] as const) {
      const file = files.chosen[role];
      if (file && (files.ranks[role] ?? 0) >= resolved.rank) {
        throw ambiguous(
          `${resolved.origin} selects mode "${resolved.value}" but ${file.origin} names a ${ROLE_NAMES[role]} file (${file.value}); remove one of them`,
          [resolved.origin, file.origin],
        );
      }
    }
  }
  if (resolved.value === 'dev' && ctx.production) {
    throw new SigilError(
      'ERR_TLS_DEV_IN_PRODUCTION',
      `${resolved.origin}=dev is refused because NODE_ENV=production: dev mode serves throwaway certificates from an in-memory CA`,
      {
        details: { variable: resolved.origin },
      },
    );
  }
  if (resolved.value === 'insecure') {
    refuseInProduction(ctx, resolved.origin, 'plaintext gRPC (no TLS)');
    warnings.push({
      event: 'grpc_tls.insecure_mode',
      message: `TLS is DISABLED (${resolved.origin}): gRPC traffic is plaintext and unauthenticated. Never use this in production`,
      variables: [resolved.origin],
    });
  }
  return resolved;
}

function parseModeName(raw: string, origin: string): TlsMode {
  const text = raw.trim().toLowerCase();
  if (text === 'file' || text === 'dev' || text === 'insecure') return text;
  throw invalid(origin, `"${raw}" is not a TLS mode (use file, dev or insecure)`);
}

function refuseInProduction(ctx: Context, origin: string, what: string): void {
  if (!ctx.production) return;
  const override = envValue(ctx.env, 'SIGIL_ALLOW_INSECURE_IN_PRODUCTION');
  if (override && parseBoolean(override.value, override.origin)) return;
  throw new SigilError(
    'ERR_TLS_INSECURE_IN_PRODUCTION',
    `${origin} asks for ${what}, which is refused because NODE_ENV=production (set SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true as well to override)`,
    { details: { variable: origin } },
  );
}

function commonSettings(
  ctx: Context,
  mode: Sourced<TlsMode>,
  files: ResolvedFiles,
  warnings: TlsConfigWarning[],
) {
  const { options, env, yaml } = ctx;
  const minVersion = pick<string>(
    options.minVersion === undefined
      ? undefined
      : { value: options.minVersion, origin: 'option minVersion' },
    envValue(env, 'SIGIL_TLS_MIN_VERSION'),
    yaml?.min_version,
  );
  const ciphers = pick<string>(
    options.ciphers === undefined
      ? undefined
      : { value: options.ciphers, origin: 'option ciphers' },
    envValue(env, 'SIGIL_TLS_CIPHERS'),
    yaml?.ciphers,
  );
  const warnDays = pick<string | number>(
    options.warnDays === undefined
      ? undefined
      : { value: options.warnDays, origin: 'option warnDays' },
    envValue(env, 'SIGIL_TLS_CERT_WARN_DAYS'),
    yaml?.cert_warn_days,
  );
  const number = (
    option: number | undefined,
    origin: string,
    fromYaml: Sourced<number> | undefined,
    fallback: number,
  ): number =>
    option !== undefined ? parseNonNegativeInteger(option, origin) : (fromYaml?.value ?? fallback);
  const source =
    mode.value === 'file'
      ? files.source
      : mode.value === 'memory'
        ? 'option identity'
        : mode.origin;
  return {
    mode: mode.value,
    source,
    ...(ctx.options.identity ? { identity: ctx.options.identity } : {}),
    minVersion: minVersion
      ? parseMinVersion(minVersion.value, minVersion.origin)
      : DEFAULTS.minVersion,
    ...(ciphers ? { ciphers: ciphers.value } : {}),
    warnDays: warnDays
      ? parseNonNegativeInteger(warnDays.value, warnDays.origin)
      : DEFAULTS.warnDays,
    reload: {
      watch: options.watch ?? yaml?.watch?.value ?? true,
      debounceMs: number(
        options.debounceMs,
        'option debounceMs',
        yaml?.reload_debounce_ms,
        DEFAULTS.debounceMs,
      ),
      pollIntervalMs: number(
        options.pollIntervalMs,
        'option pollIntervalMs',
        yaml?.poll_interval_ms,
        DEFAULTS.pollIntervalMs,
      ),
      reloadOnSighup: options.reloadOnSighup ?? yaml?.reload_on_sighup?.value ?? true,
    },
    ...(options.devSpiffeId
      ? { devSpiffeId: parseExpectedSpiffeIds(options.devSpiffeId, 'option devSpiffeId')[0]! }
      : {}),
    warnings,
  };
}

/** The first defined setting, in precedence order. */
function pick<T>(...settings: (Sourced<T> | undefined)[]): Sourced<T> | undefined {
  return settings.find((s) => s !== undefined);
}

/** Two env vars that mean the same thing must not disagree. */
function agree<T>(settings: (Sourced<T> | undefined)[]): Sourced<T> | undefined {
  const set = settings.filter((s): s is Sourced<T> => s !== undefined);
  for (const other of set.slice(1)) {
    if (String(other.value) !== String(set[0]!.value)) {
      throw ambiguous(
        `${set[0]!.origin}=${String(set[0]!.value)} and ${other.origin}=${String(other.value)} disagree; set one of them`,
        [set[0]!.origin, other.origin],
      );
    }
  }
  return set[0];
}

function ambiguous(message: string, variables: string[]): SigilError {
  return new SigilError('ERR_TLS_CONFIG_AMBIGUOUS', message, { details: { variables } });
}

function toSetting(file: FileSource): TlsFileSetting {
  return { path: file.value, origin: file.origin };
}
