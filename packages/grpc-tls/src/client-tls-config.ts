import { SigilError } from '@sigil/errors';
import type { Layer } from './internal/layers';
import { envBoolean, envFileLayer, envValue } from './internal/layers';
import { parseExpectedSpiffeIds } from './internal/values';
import { commonSettings } from './internal/tls-common';
import {
  agree,
  ambiguous,
  certsDirLayer,
  createContext,
  pick,
  refuseInProduction,
  toSetting,
} from './internal/tls-context';
import { requireFile, resolveFiles } from './internal/tls-files';
import type { Context } from './internal/tls-context';
import { resolveMode } from './internal/tls-mode';
import { withUnreadConventions } from './internal/unread-conventions';
import type {
  LoadTlsConfigOptions,
  TlsConfigBase,
  TlsConfigWarning,
  TlsFileSetting,
} from './tls-config-types';

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
  return withUnreadConventions(ctx, () => readClientTlsConfig(ctx, options));
}

function readClientTlsConfig(ctx: Context, options: LoadClientTlsConfigOptions): ClientTlsConfig {
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
      certsDirLayer(env, prefix, ctx.name),
    );
  }
  envLayers.push(
    envFileLayer('the GRPC_CLIENT_* variables', env, {
      certificate: 'GRPC_CLIENT_CERT_PATH',
      privateKey: 'GRPC_CLIENT_KEY_PATH',
      ca: 'GRPC_SERVER_CA_CERT_PATH',
    }),
  );
  const files = resolveFiles(ctx, envLayers, (section) => ({
    certificate: section.client_cert_path,
    privateKey: section.client_key_path,
    ca: section.ca_cert_path,
  }));

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
 * The seed's spellings of the client loader, as one object (`ClientTlsConfig.fromEnv()`,
 * `ClientTlsConfig.development()`):
 *
 * - `fromEnv(options?)`: the same as {@link loadClientTlsConfig}.
 * - `development(options?)`: `dev` mode by name, whatever the environment's files say: a
 *   throwaway CA and a 24 h certificate for `localhost`. Refused in production
 *   (`ERR_TLS_DEV_IN_PRODUCTION`). With `GRPC_TLS_DEV_CA_DIR` (or the option `devCaDir`) the CA
 *   is kept in that directory, so a dev server and a dev client in two processes trust each other.
 *
 * @example
 * ```ts
 * const tls = await createClientCredentials(ClientTlsConfig.fromEnv());
 * // local development, two processes sharing GRPC_TLS_DEV_CA_DIR=/tmp/sigil-dev-ca
 * const dev = await createClientCredentials(ClientTlsConfig.development());
 * ```
 */
export const ClientTlsConfig = Object.freeze({
  fromEnv: (options?: LoadClientTlsConfigOptions): ClientTlsConfig => loadClientTlsConfig(options),
  development: (options?: Omit<LoadClientTlsConfigOptions, 'mode'>): ClientTlsConfig =>
    loadClientTlsConfig({ ...options, mode: 'dev' }),
});
