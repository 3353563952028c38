import { SigilError } from '@sigil/errors';
import {
  loadClientTlsConfig,
  loadServerTlsConfig,
  type ClientTlsConfig,
  type ServerTlsConfig,
} from '@sigil/grpc-tls';
import {
  AUTHZ_POLICY_ENV,
  authorizationPolicyFromEnv,
  loadAuthorizationPolicy,
  type AuthorizationPolicy,
  type AuthorizationPolicyDocument,
} from '@sigil/interceptors';
import {
  formatSpiffeId,
  parseSpiffeId,
  parseTrustDomain,
  readCertificateChainFile,
  spiffeIdOfCertificate,
} from '@sigil/pki';
import {
  invalidSetting,
  parseList,
  parsePositiveIntegerValue,
  resolveSettings,
  sourceLabel,
  type SettingsTable,
} from '@sigil/settings';
import {
  parseListenAddress,
  parseLogLevel,
  type ListenAddress,
  type LogLevel,
} from '@sigil/runtime';
import { renderPolicyTemplate, type PolicyTemplateVariables } from './policy-template';

/**
 * The environment a config loader reads (usually `process.env`).
 *
 * @example
 * ```ts
 * const env: Environment = { GRPC_LISTEN_ADDR: '127.0.0.1:0', LOG_LEVEL: 'debug' };
 * ```
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The environment variable naming the trust domain of a service's peers.
 *
 * @example
 * ```ts
 * const trustDomain = process.env[TRUST_DOMAIN_ENV]; // SIGIL_TRUST_DOMAIN
 * ```
 */
export const TRUST_DOMAIN_ENV = 'SIGIL_TRUST_DOMAIN';

/**
 * What every Sigil gRPC service reads from its environment, parsed and validated.
 *
 * @example
 * ```ts
 * const config: GrpcServiceConfig = loadGrpcServiceConfig(process.env, { name: 'identity-service', defaultPort: 50051, defaultPolicyPath });
 * console.log(config.trustDomain, config.authorization.source);
 * ```
 */
export interface GrpcServiceConfig {
  /** The service's name, e.g. `identity-service`; its SPIFFE ID is `spiffe://<trust domain>/svc/<name>`. */
  name: string;
  /** `GRPC_LISTEN_ADDR`. */
  listen: ListenAddress;
  /** `METRICS_LISTEN_ADDR` (default `0.0.0.0:9090`): /healthz, /readyz, /metrics. */
  metricsListen: ListenAddress;
  /** `LOG_LEVEL` (default `info`). */
  logLevel: LogLevel;
  /** `SHUTDOWN_TIMEOUT_MS` (default 10 000): how long a drain may take before calls are cut. */
  shutdownTimeoutMs: number;
  /** Server mTLS settings (every `@sigil/grpc-tls` convention). */
  tls: ServerTlsConfig;
  /** `SIGIL_TRUST_DOMAIN`, or the trust domain of the service's own certificate. */
  trustDomain: string;
  /** The policy of `SIGIL_AUTHZ_POLICY`, or the service's default policy rendered for the trust domain. */
  authorization: AuthorizationPolicy;
}

/**
 * Options for {@link loadGrpcServiceConfig}.
 *
 * @example
 * ```ts
 * const options: LoadGrpcServiceConfigOptions = {
 *   name: 'content-service',
 *   defaultPort: 50053,
 *   defaultPolicyPath: 'policy/default.yaml',
 *   policyVariables: (td) => ({ allowedClients: [`spiffe://${td}/client/web`] }),
 * };
 * ```
 */
export interface LoadGrpcServiceConfigOptions {
  name: string;
  /** Port of the default `GRPC_LISTEN_ADDR` (`0.0.0.0:<port>`). */
  defaultPort: number;
  /** The service's default policy template (YAML), used when `SIGIL_AUTHZ_POLICY` is not set. */
  defaultPolicyPath: string;
  /** Template variables besides `trustDomain`, computed once the trust domain is known. */
  policyVariables?: (trustDomain: string) => PolicyTemplateVariables;
}

/**
 * The settings every Sigil gRPC service reads, declared once (docs/sample-services.md's table is
 * generated from it). `SIGIL_TRUST_DOMAIN` is the trust domain's name; `TRUST_DOMAIN` is accepted
 * as an alias.
 *
 * @example
 * ```ts
 * resolveSettings(grpcServiceSettings(50051), { env: process.env }).values.listen; // { host: '0.0.0.0', port: 50051 }
 * ```
 */
export function grpcServiceSettings(defaultPort: number) {
  return {
    listen: {
      env: 'GRPC_LISTEN_ADDR',
      parse: parseListenAddress,
      default: parseListenAddress(`0.0.0.0:${defaultPort}`, 'GRPC_LISTEN_ADDR'),
      defaultText: '0.0.0.0:<service port>',
      help: 'gRPC listen address (`host:port`)',
    },
    metricsListen: {
      env: 'METRICS_LISTEN_ADDR',
      parse: parseListenAddress,
      default: parseListenAddress('0.0.0.0:9090', 'METRICS_LISTEN_ADDR'),
      defaultText: '0.0.0.0:9090',
      help: '`/healthz`, `/readyz` and `/metrics`',
    },
    logLevel: {
      env: 'LOG_LEVEL',
      parse: (raw: string, at: string): LogLevel => parseLogLevel(raw, at),
      default: 'info' as LogLevel,
      help: 'fatal, error, warn, info, debug, trace or silent',
    },
    shutdownTimeoutMs: {
      env: 'SHUTDOWN_TIMEOUT_MS',
      parse: parsePositiveIntegerValue,
      default: 10_000,
      help: 'how long a drain may take before calls are cut, in milliseconds',
    },
    trustDomain: {
      env: [TRUST_DOMAIN_ENV, 'TRUST_DOMAIN'],
      parse: (raw: string, at: string): string => {
        try {
          return parseTrustDomain(raw);
        } catch (cause) {
          throw invalidSetting(at, (cause as Error).message, { cause });
        }
      },
      defaultText: "the trust domain of the service's own certificate",
      help: 'SPIFFE trust domain of the service and its peers; must agree with the certificate',
    },
    authorizationPolicy: {
      env: AUTHZ_POLICY_ENV,
      parse: (raw: string): string => raw,
      defaultText: "the service's default policy",
      help: 'authorization policy file (YAML)',
    },
  } satisfies SettingsTable;
}

function nonEmpty(env: Environment, variable: string): string | undefined {
  const value = env[variable]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Parses a positive integer setting (milliseconds, counts); unset means `fallback`.
 *
 * @example
 * ```ts
 * const timeoutMs = parsePositiveInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000);
 * ```
 */
export function parsePositiveInteger(env: Environment, variable: string, fallback: number): number {
  const raw = nonEmpty(env, variable);
  return raw === undefined ? fallback : parsePositiveIntegerValue(raw, variable);
}

/**
 * Parses a comma-separated list of SPIFFE IDs (e.g. `CONTENT_SERVICE_ALLOWED_CLIENTS`); unset
 * means `fallback`. Throws `ERR_CONFIG_INVALID` naming the variable and the bad entry.
 *
 * @example
 * ```ts
 * const clients = parseSpiffeIdList(env, 'CONTENT_SERVICE_ALLOWED_CLIENTS', ['spiffe://example.org/client/web']);
 * ```
 */
export function parseSpiffeIdList(
  env: Environment,
  variable: string,
  fallback: readonly string[],
): string[] {
  const raw = nonEmpty(env, variable);
  if (raw === undefined) return [...fallback];
  return parseList(raw).map((item) => {
    try {
      return String(parseSpiffeId(item));
    } catch (cause) {
      throw invalidSetting(variable, `"${item}" is not a SPIFFE ID (${(cause as Error).message})`, {
        cause,
      });
    }
  });
}

/** The trust domain of the certificate a server configuration serves, when it has a SPIFFE ID. */
function trustDomainOfServerCertificate(tls: ServerTlsConfig): {
  trustDomain?: string;
  source: string;
} {
  if (tls.mode === 'dev' && tls.devSpiffeId !== undefined)
    return {
      trustDomain: parseSpiffeId(tls.devSpiffeId).trustDomain,
      source: 'the dev-mode certificate',
    };
  if (tls.files === undefined) return { source: `TLS mode ${tls.mode}` };
  const { path, origin } = tls.files.certificate;
  const [leaf] = readNaming(origin, path, () => readCertificateChainFile(path));
  const spiffeId = leaf === undefined ? undefined : spiffeIdOfCertificate(leaf);
  const source = `the certificate ${path} (${origin})`;
  return spiffeId === undefined
    ? { source }
    : { trustDomain: parseSpiffeId(spiffeId).trustDomain, source };
}

/** Re-raises pki's file errors (which name the file) so they also name the setting. */
function readNaming<T>(variable: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const error = SigilError.from(err, 'ERR_FILE_UNREADABLE');
    throw new SigilError(error.code, `${variable}: ${error.message}`, {
      cause: err,
      details: { ...error.details, variable, file },
    });
  }
}

function resolveTrustDomain(
  configured: { trustDomain: string; at: string } | undefined,
  tls: ServerTlsConfig,
): string {
  const fromCertificate = trustDomainOfServerCertificate(tls);
  if (configured === undefined) {
    if (fromCertificate.trustDomain !== undefined) return fromCertificate.trustDomain;
    throw invalidSetting(
      TRUST_DOMAIN_ENV,
      `is not set and ${fromCertificate.source} carries no SPIFFE ID to take the trust domain from; set ${TRUST_DOMAIN_ENV}`,
    );
  }
  const { trustDomain, at } = configured;
  if (fromCertificate.trustDomain !== undefined && fromCertificate.trustDomain !== trustDomain) {
    throw invalidSetting(
      at,
      `disagrees with ${fromCertificate.source}, whose SPIFFE ID is in trust domain ${fromCertificate.trustDomain}; unset ${at} or fix the certificate`,
      { value: trustDomain },
    );
  }
  return trustDomain;
}

/**
 * Reads what every Sigil gRPC service needs from `env`, once, at the edge: `GRPC_LISTEN_ADDR`
 * (default `0.0.0.0:<defaultPort>`), `METRICS_LISTEN_ADDR` (default `0.0.0.0:9090`), `LOG_LEVEL`,
 * `SHUTDOWN_TIMEOUT_MS`, server mTLS (every `@sigil/grpc-tls` convention), the trust domain
 * (`SIGIL_TRUST_DOMAIN`, else that of the service's own certificate; both set must agree) and the
 * authorization policy (`SIGIL_AUTHZ_POLICY`, else `defaultPolicyPath` rendered with
 * `${trustDomain}`). Every problem is one SigilError naming the variable or file.
 *
 * @example
 * ```ts
 * const config = loadGrpcServiceConfig(process.env, {
 *   name: 'identity-service',
 *   defaultPort: 50051,
 *   defaultPolicyPath: join(__dirname, '../policy/default.yaml'),
 * });
 * ```
 */
export function loadGrpcServiceConfig(
  env: Environment,
  options: LoadGrpcServiceConfigOptions,
): GrpcServiceConfig {
  const { values, sources } = resolveSettings(grpcServiceSettings(options.defaultPort), { env });
  const { listen, metricsListen, logLevel, shutdownTimeoutMs } = values;
  const tls = loadServerTlsConfig({ env });
  const trustDomain = resolveTrustDomain(
    values.trustDomain === undefined
      ? undefined
      : { trustDomain: values.trustDomain, at: sourceLabel(sources.trustDomain!) },
    tls,
  );
  const authorization =
    values.authorizationPolicy === undefined
      ? loadAuthorizationPolicy(
          renderPolicyTemplate(options.defaultPolicyPath, {
            trustDomain,
            ...options.policyVariables?.(trustDomain),
          }) as AuthorizationPolicyDocument,
          {
            source: `${options.defaultPolicyPath} (default policy of ${options.name}, trust domain ${trustDomain})`,
          },
        )
      : authorizationPolicyFromEnv(env);
  return {
    name: options.name,
    listen,
    metricsListen,
    logLevel,
    shutdownTimeoutMs,
    tls,
    trustDomain,
    authorization,
  };
}

/**
 * Where and how a service reaches one service it calls.
 *
 * @example
 * ```ts
 * const identity: UpstreamConfig = loadUpstreamConfig(process.env, { name: 'identity-service', variable: 'IDENTITY_SERVICE_ADDR', defaultAddress: 'localhost:50051', trustDomain });
 * console.log(identity.address, identity.tls.expectedServerIds);
 * ```
 */
export interface UpstreamConfig {
  /** The upstream's service name, e.g. `identity-service`. */
  name: string;
  /** `host:port` from the address variable. */
  address: string;
  /** Client mTLS settings; the expected server identity defaults to `spiffe://<trust domain>/svc/<name>`. */
  tls: ClientTlsConfig;
}

/**
 * Options for {@link loadUpstreamConfig}.
 *
 * @example
 * ```ts
 * const options: LoadUpstreamConfigOptions = { name: 'user-service', variable: 'USER_SERVICE_ADDR', defaultAddress: 'localhost:50052', trustDomain: 'example.org' };
 * ```
 */
export interface LoadUpstreamConfigOptions {
  name: string;
  /** The variable holding `host:port`, e.g. `IDENTITY_SERVICE_ADDR`. */
  variable: string;
  defaultAddress: string;
  trustDomain: string;
}

/**
 * Reads how to reach an upstream service: its address from `variable` and client mTLS from the
 * `@sigil/grpc-tls` client conventions (`GRPC_CLIENT_CERT_PATH`, ...). Unless the environment
 * names the expected server identity (`GRPC_SERVER_SPIFFE_ID`), the upstream must present
 * `spiffe://<trust domain>/svc/<name>`.
 *
 * @example
 * ```ts
 * const identity = loadUpstreamConfig(process.env, {
 *   name: 'identity-service', variable: 'IDENTITY_SERVICE_ADDR', defaultAddress: 'localhost:50051', trustDomain: config.trustDomain,
 * });
 * ```
 */
export function loadUpstreamConfig(
  env: Environment,
  options: LoadUpstreamConfigOptions,
): UpstreamConfig {
  const address = nonEmpty(env, options.variable) ?? options.defaultAddress;
  parseListenAddress(address, options.variable);
  const tls = loadClientTlsConfig({ env });
  if (tls.expectedServerIds.length > 0 || tls.insecureSkipVerify || tls.mode === 'insecure')
    return { name: options.name, address, tls };
  const expected = String(formatSpiffeId(options.trustDomain, 'svc', options.name));
  return {
    name: options.name,
    address,
    tls: {
      ...tls,
      expectedServerIds: [expected],
      expectedServerIdOrigin: `the default identity of ${options.name}`,
    },
  };
}
