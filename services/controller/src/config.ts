import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { SigilError } from '@sigil/errors';
import { parseTrustDomain } from '@sigil/pki';
import { parseListenAddress, parseLogLevel } from '@sigil/runtime';
import type { LogLevel } from '@sigil/runtime';
import {
  explainSettings,
  formatSettingsHelp,
  invalidSetting,
  parseBoolean,
  parseDurationSeconds,
  parseList,
  parsePositiveIntegerValue,
  parseSettingFlags,
  readSettingsFile,
  resolveSettings,
  type ExtraSettingRow,
  type Setting,
  type SettingsTable,
} from '@sigil/settings';
import { ADMIN_LIMIT_DEFAULTS, adminTokenWeakness, type AdminLimits } from './internal/admin-guard';
import { ADMIN_TLS_MODES, type AdminTlsMode } from './internal/admin-tls';
import { GRPC_LIMIT_DEFAULTS, type GrpcLimits } from './internal/grpc-limits';
import { MIN_PASSWORD_CHARS } from './admin-auth/users';

/**
 * The controller's configuration, fully resolved: what {@link parseControllerConfig} returns and
 * what {@link createController} accepts (every field but `dataDir` has a default there).
 */
export interface ControllerConfig {
  /** Where the bootstrap and runtime CA keys live, and the embedded store (`controller.db`). */
  dataDir: string;
  /** SPIFFE trust domain of every identity the controller issues. Default `sigil.local`. */
  trustDomain: string;
  /** gRPC listen address (`host:port`) for enrollment and the control plane. Default `127.0.0.1:8443`. */
  controllerListenAddress: string;
  /** Admin HTTP listen address (`host:port`). Default `127.0.0.1:8080`. */
  adminListenAddress: string;
  /** `ADMIN_TLS`: `auto` (HTTPS unless bound to loopback; the default), `on` or `off`. */
  adminTls: AdminTlsMode;
  /** `ADMIN_TLS_CERT_FILE`: the admin API's certificate chain instead of the controller's own certificate. */
  adminTlsCertFile?: string;
  /** `ADMIN_TLS_KEY_FILE`: the key of {@link ControllerConfig.adminTlsCertFile}. */
  adminTlsKeyFile?: string;
  /** PostgreSQL connection URL; when set it replaces the embedded SQLite store. */
  databaseUrl?: string;
  /** Lifetime of connector X509-SVIDs. Default 3600 (1h). */
  connectorCertTtlSeconds: number;
  /** Lifetime of tunneler X509-SVIDs. Default 1800 (30m). */
  tunnelerCertTtlSeconds: number;
  /** Default lifetime of enrollment tokens. Default 900 (15m). */
  enrollmentTokenTtlSeconds: number;
  /** An agent with no heartbeat for this long is OFFLINE. Default 30. */
  agentOfflineAfterSeconds: number;
  /** Lifetime of the controller's own TLS certificate (renewed at two thirds). Default 86400 (24h). */
  controllerCertTtlSeconds: number;
  /** How far notBefore of agent certificates is back-dated, for agents whose clock is behind. Default 300 (5m). */
  certBackdateSeconds: number;
  /** An agent whose clock is off by more than this is logged as `agent.clock_skew`. Default 30. */
  clockSkewWarnSeconds: number;
  /** After this long since prepare, CA activation no longer waits for agents to acknowledge the new root. Default 3600 (1h). */
  caActivationGraceSeconds: number;
  /** Rotate the runtime CA automatically (`CA_AUTO_ROTATE`): prepare, activate and retire on a schedule. Default false. */
  caAutoRotate: boolean;
  /** With `caAutoRotate`: the fraction of the current CA's lifetime after which its successor is prepared (`CA_ROTATE_AT`). Default 0.5. */
  caRotateAtFraction: number;
  /** With `caAutoRotate`: how often the schedule is checked, seconds (`CA_AUTO_ROTATE_INTERVAL`). Default 60. */
  caAutoRotateIntervalSeconds: number;
  /** Lifetime of a runtime CA the controller creates (first start, prepare without `ttl_seconds`, automatic rotation) (`RUNTIME_CA_TTL`). Default 10 years. */
  runtimeCaTtlSeconds: number;
  /** Extra DNS names or IP addresses for the controller's TLS certificate. */
  serverNames: string[];
  /** The admin bearer token (from `SIGIL_ADMIN_TOKEN`); when absent one is generated on first start. */
  adminToken?: string;
  /** The first admin user's password (`SIGIL_ADMIN_PASSWORD`); when absent one is generated on first start. */
  adminPassword?: string;
  /** A console session unused for this long ends (`ADMIN_SESSION_IDLE_TIMEOUT`). Default 1800 (30m). */
  adminSessionIdleTimeoutSeconds: number;
  /** A console session ends this long after sign-in whatever happens (`ADMIN_SESSION_MAX_AGE`). Default 43200 (12h). */
  adminSessionMaxAgeSeconds: number;
  /** Failed sign-ins per minute per user name before it gets 429 (`ADMIN_SIGN_IN_FAILURES_PER_MINUTE`). Default 5. */
  adminSignInFailuresPerMinute: number;
  /** Log level (`LOG_LEVEL`). Default `info`. */
  logLevel: LogLevel;
  /** Limits of the gRPC listener (docs/controller.md "Limits"). */
  grpcLimits: GrpcLimits;
  /** Limits of the admin HTTP listener. */
  adminLimits: AdminLimits;
  /** Audit records older than this are deleted (`AUDIT_RETENTION`). Default 90 days. */
  auditRetentionSeconds: number;
  /** Unauthenticated refusals are summarised in one audit row this often (`AUDIT_SUMMARY_INTERVAL`). Default 60. */
  auditSummaryIntervalSeconds: number;
  /** Secrets given as command-line flags (visible in `ps`): the program warns about each. */
  secretFlags: string[];
  /**
   * How long after a minimum agent version is pinned the controller still renews agents below it
   * (`AGENT_UPGRADE_GRACE`); unset (the default): it never refuses them.
   */
  agentUpgradeGraceSeconds?: number;
}

/** Where {@link parseControllerConfig} reads from. */
export interface ParseControllerConfigOptions {
  /** Environment variables, usually `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Command-line arguments after the program name, usually `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Resolves relative paths (`DATA_DIR`, `--config`). Default `process.cwd()`. */
  cwd?: string;
  /** Reads standard input for a secret file named `-`. Default: file descriptor 0. */
  stdin?: () => string;
}

/** The outcome of {@link parseControllerConfig}: a config to run, or text to print (`--help`, `--explain`). */
export type ParsedControllerCommand =
  { action: 'run'; config: ControllerConfig } | { action: 'help' | 'explain'; text: string };

/**
 * Defaults shared by the parser and {@link createController}.
 *
 * @example
 * ```ts
 * CONTROLLER_DEFAULTS.controllerListenAddress; // '127.0.0.1:8443'
 * ```
 */
export const CONTROLLER_DEFAULTS = {
  trustDomain: 'sigil.local',
  controllerListenAddress: '127.0.0.1:8443',
  adminListenAddress: '127.0.0.1:8080',
  adminTls: 'auto' as AdminTlsMode,
  connectorCertTtlSeconds: 3600,
  tunnelerCertTtlSeconds: 1800,
  enrollmentTokenTtlSeconds: 900,
  agentOfflineAfterSeconds: 30,
  controllerCertTtlSeconds: 86_400,
  auditRetentionSeconds: 90 * 86_400,
  auditSummaryIntervalSeconds: 60,
  certBackdateSeconds: 300,
  clockSkewWarnSeconds: 30,
  caActivationGraceSeconds: 3600,
  caAutoRotate: false,
  caRotateAtFraction: 0.5,
  caAutoRotateIntervalSeconds: 60,
  runtimeCaTtlSeconds: 10 * 365 * 86_400,
  adminSessionIdleTimeoutSeconds: 1800,
  adminSessionMaxAgeSeconds: 43_200,
  adminSignInFailuresPerMinute: 5,
} as const;

/**
 * The longest enrollment token lifetime accepted anywhere (config or admin API): 24 hours.
 *
 * @example
 * ```ts
 * if (ttlSeconds > MAX_TOKEN_TTL_SECONDS) throw new Error('token TTL too long');
 * ```
 */
export const MAX_TOKEN_TTL_SECONDS = 86_400;

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function address(raw: string, at: string): string {
  parseListenAddress(raw, at);
  return raw;
}

function duration(range: [number, number]): (raw: string, at: string) => number {
  return (raw, at) => parseDurationSeconds(raw, at, range);
}

/** A positive whole-number limit: YAML key and flag follow the variable. */
function count(env: string, fallback: number, help: string): Setting<number> & { default: number } {
  return {
    env,
    flag: env.toLowerCase().replace(/_/g, '-'),
    yaml: env.toLowerCase(),
    parse: parsePositiveIntegerValue,
    default: fallback,
    help,
  };
}

/** A duration setting: YAML key and flag follow the variable; `defaultText` is the default as typed. */
function ttl(
  env: string,
  fallback: number,
  defaultText: string,
  range: [number, number],
  help: string,
): Setting<number> & { default: number } {
  return {
    env,
    flag: env.toLowerCase().replace(/_/g, '-'),
    yaml: env.toLowerCase(),
    parse: duration(range),
    default: fallback,
    defaultText,
    help,
  };
}

/**
 * Every setting of `sigil-controller`, declared once: `--help`, the docs' variable table
 * (docs/controller.md) and {@link parseControllerConfig} come from it. A flag is the variable in
 * kebab-case, a YAML key the variable in lower case. `SIGIL_TRUST_DOMAIN` is the trust domain's
 * name; `TRUST_DOMAIN` is accepted as an alias.
 *
 * @example
 * ```ts
 * CONTROLLER_SETTINGS.trustDomain.env; // ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN']
 * ```
 */
export const CONTROLLER_SETTINGS = {
  controllerListenAddress: {
    env: 'CONTROLLER_LISTEN_ADDR',
    flag: 'controller-listen-addr',
    yaml: 'controller_listen_addr',
    parse: address,
    default: CONTROLLER_DEFAULTS.controllerListenAddress,
    help: 'gRPC (mTLS) listen address: EnrollmentService and ControlPlaneService',
  },
  adminListenAddress: {
    env: 'ADMIN_LISTEN_ADDR',
    flag: 'admin-listen-addr',
    yaml: 'admin_listen_addr',
    parse: address,
    default: CONTROLLER_DEFAULTS.adminListenAddress,
    help: 'admin HTTP API, `/healthz`, `/readyz`, `/metrics`',
  },
  adminTls: {
    env: 'ADMIN_TLS',
    flag: 'admin-tls',
    yaml: 'admin_tls',
    parse: (raw: string, at: string): AdminTlsMode => {
      const mode = raw.trim().toLowerCase();
      if (!(ADMIN_TLS_MODES as readonly string[]).includes(mode))
        throw invalidSetting(at, `must be one of ${ADMIN_TLS_MODES.join(', ')}`, { value: raw });
      return mode as AdminTlsMode;
    },
    default: CONTROLLER_DEFAULTS.adminTls,
    help: 'HTTPS on the admin API: `auto` (unless `ADMIN_LISTEN_ADDR` is loopback), `on`, or `off` (plain HTTP, warned about off loopback)',
  },
  adminTlsCertFile: {
    env: 'ADMIN_TLS_CERT_FILE',
    flag: 'admin-tls-cert-file',
    yaml: 'admin_tls_cert_file',
    parse: (raw: string) => raw,
    help: "PEM certificate chain the admin API serves instead of the controller's own certificate (re-read when it changes); with `ADMIN_TLS_KEY_FILE`",
  },
  adminTlsKeyFile: {
    env: 'ADMIN_TLS_KEY_FILE',
    flag: 'admin-tls-key-file',
    yaml: 'admin_tls_key_file',
    parse: (raw: string) => raw,
    help: 'PEM private key of `ADMIN_TLS_CERT_FILE` (mode 0600 or stricter)',
  },
  trustDomain: {
    env: ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN'],
    flag: 'trust-domain',
    yaml: 'trust_domain',
    parse: (raw: string, at: string): string => {
      try {
        return parseTrustDomain(raw);
      } catch (cause) {
        throw invalidSetting(
          at,
          `is not a valid SPIFFE trust domain (${(cause as Error).message})`,
          {
            value: raw,
            cause,
          },
        );
      }
    },
    default: CONTROLLER_DEFAULTS.trustDomain,
    help: 'SPIFFE trust domain of every issued identity; must match the CAs already in `DATA_DIR`',
  },
  dataDir: {
    env: 'DATA_DIR',
    flag: 'data-dir',
    yaml: 'data_dir',
    parse: (raw: string): string => raw,
    help: 'CA keys, `bootstrap-ca.crt`, and the embedded store (required)',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: 'database-url',
    yaml: 'database_url',
    parse: (raw: string, at: string): string => {
      if (!/^postgres(ql)?:\/\//.test(raw))
        throw invalidSetting(at, 'expected a postgres:// or postgresql:// URL', {
          value: redactUrl(raw),
        });
      return raw;
    },
    help: '`postgresql://user:password@host:5432/db` to use PostgreSQL instead of the embedded SQLite store; prefer the variable or `DATABASE_URL_FILE` (a flag shows in `ps`)',
    secret: true,
  },
  databaseUrlFile: {
    env: 'DATABASE_URL_FILE',
    flag: 'database-url-file',
    yaml: 'database_url_file',
    parse: (raw: string): string => raw,
    help: 'file holding the `DATABASE_URL` (e.g. a mounted secret), read once at start; `-` reads standard input',
  },
  connectorCertTtlSeconds: ttl(
    'CONNECTOR_CERT_TTL',
    CONTROLLER_DEFAULTS.connectorCertTtlSeconds,
    '1h',
    [10, 30 * 86_400],
    'connector X509-SVID lifetime (10s to 30 days)',
  ),
  tunnelerCertTtlSeconds: ttl(
    'TUNNELER_CERT_TTL',
    CONTROLLER_DEFAULTS.tunnelerCertTtlSeconds,
    '30m',
    [10, 30 * 86_400],
    'tunneler X509-SVID lifetime (10s to 30 days)',
  ),
  enrollmentTokenTtlSeconds: ttl(
    'ENROLLMENT_TOKEN_TTL',
    CONTROLLER_DEFAULTS.enrollmentTokenTtlSeconds,
    '15m',
    [1, MAX_TOKEN_TTL_SECONDS],
    'default lifetime of enrollment tokens (at most 24h; `ttl_seconds` overrides per token)',
  ),
  agentOfflineAfterSeconds: ttl(
    'AGENT_OFFLINE_AFTER',
    CONTROLLER_DEFAULTS.agentOfflineAfterSeconds,
    '30s',
    [1, 86_400],
    'an agent with no heartbeat for this long is `OFFLINE` (agents send one about every 10 s)',
  ),
  controllerCertTtlSeconds: ttl(
    'CONTROLLER_CERT_TTL',
    CONTROLLER_DEFAULTS.controllerCertTtlSeconds,
    '24h',
    [10, 365 * 86_400],
    "lifetime of the controller's own TLS certificate, renewed at two thirds",
  ),
  certBackdateSeconds: ttl(
    'CERT_BACKDATE',
    CONTROLLER_DEFAULTS.certBackdateSeconds,
    '5m',
    [1, 86_400],
    "how far notBefore of agent certificates is back-dated, so an agent whose clock is behind the controller's by less still enrolls (1s to 1 day)",
  ),
  clockSkewWarnSeconds: ttl(
    'CLOCK_SKEW_WARN',
    CONTROLLER_DEFAULTS.clockSkewWarnSeconds,
    '30s',
    [1, 86_400],
    'an agent whose clock is off by more than this (measured at enrollment and on heartbeats) is logged as `agent.clock_skew`',
  ),
  caActivationGraceSeconds: ttl(
    'CA_ACTIVATION_GRACE',
    CONTROLLER_DEFAULTS.caActivationGraceSeconds,
    '1h',
    [0, 30 * 86_400],
    'after this long since `POST /api/admin/ca/prepare`, activation no longer waits for every online agent to acknowledge the bundle with the new root (0s to 30 days)',
  ),
  caAutoRotate: {
    env: 'CA_AUTO_ROTATE',
    flag: 'ca-auto-rotate',
    yaml: 'ca_auto_rotate',
    parse: (raw: string, at: string): boolean => parseBoolean(raw, at),
    default: CONTROLLER_DEFAULTS.caAutoRotate as boolean,
    help: 'rotate the runtime CA automatically: prepare its successor once it has lived `CA_ROTATE_AT` of its lifetime, activate once the agents acknowledged the new root (or after `CA_ACTIVATION_GRACE`), retire once nothing live chains to the old one',
  },
  caRotateAtFraction: {
    env: 'CA_ROTATE_AT',
    flag: 'ca-rotate-at',
    yaml: 'ca_rotate_at',
    parse: (raw: string, at: string): number => {
      const text = raw.trim();
      const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
      if (text === '' || !Number.isFinite(value) || value < 0.1 || value > 0.9)
        throw invalidSetting(at, 'must be a fraction from 0.1 to 0.9 (or 10% to 90%)', {
          value: raw,
        });
      return value;
    },
    default: CONTROLLER_DEFAULTS.caRotateAtFraction as number,
    help: 'with `CA_AUTO_ROTATE`: the fraction of the runtime CA lifetime after which its successor is prepared (0.1 to 0.9, or 10% to 90%; SPIRE prepares at half-life)',
  },
  caAutoRotateIntervalSeconds: ttl(
    'CA_AUTO_ROTATE_INTERVAL',
    CONTROLLER_DEFAULTS.caAutoRotateIntervalSeconds,
    '1m',
    [1, 3600],
    'with `CA_AUTO_ROTATE`: how often the rotation schedule is checked (1s to 1h)',
  ),
  runtimeCaTtlSeconds: ttl(
    'RUNTIME_CA_TTL',
    CONTROLLER_DEFAULTS.runtimeCaTtlSeconds,
    '3650d',
    [10, 20 * 365 * 86_400],
    'lifetime of a runtime CA the controller creates: on the first start, on `POST /api/admin/ca/prepare` without `ttl_seconds`, and by `CA_AUTO_ROTATE` (10s to 20 years; agent certificates never outlive their CA)',
  ),
  serverNames: {
    env: 'CONTROLLER_SERVER_NAMES',
    flag: 'server-names',
    yaml: 'controller_server_names',
    parse: (raw: string, at: string): string[] => {
      const names = parseList(raw);
      const bad = names.find((name) => isIP(name) === 0 && !DNS_NAME.test(name));
      if (bad !== undefined)
        throw invalidSetting(at, `"${bad}" is neither a DNS name nor an IP address`, {
          value: raw,
        });
      return names;
    },
    default: [] as string[],
    help: 'extra DNS names / IPs for the controller certificate, comma-separated (add the name or address agents dial)',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: 'log-level',
    yaml: 'log_level',
    parse: (raw: string, at: string): LogLevel => parseLogLevel(raw, at),
    default: 'info' as LogLevel,
    help: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`',
  },
  adminToken: {
    env: 'SIGIL_ADMIN_TOKEN',
    parse: (raw: string, at: string): string => {
      if (raw.length < 16)
        throw invalidSetting(
          at,
          'is too short: use at least 16 characters (e.g. openssl rand -hex 32)',
        );
      const weakness = adminTokenWeakness(raw);
      if (weakness !== undefined) throw invalidSetting(at, weakness);
      return raw;
    },
    help: 'admin API bearer token, at least 128 bits estimated (e.g. `openssl rand -hex 32`); no flag, secrets stay off the command line',
    defaultText: 'generated and printed once',
    secret: true,
  },
  adminPassword: {
    env: 'SIGIL_ADMIN_PASSWORD',
    parse: (raw: string, at: string): string => {
      if (raw.length < MIN_PASSWORD_CHARS)
        throw invalidSetting(at, `is too short: use at least ${MIN_PASSWORD_CHARS} characters`);
      return raw;
    },
    help: 'password of the user `admin` created at first start when no admin user exists (later changes: `sigil-controller admin-user passwd admin`); no flag, secrets stay off the command line',
    defaultText: 'generated and printed once',
    secret: true,
  },
  adminSessionIdleTimeoutSeconds: ttl(
    'ADMIN_SESSION_IDLE_TIMEOUT',
    CONTROLLER_DEFAULTS.adminSessionIdleTimeoutSeconds,
    '30m',
    [60, 7 * 86_400],
    'a console session (cookie `sigil_session`) unused for this long ends',
  ),
  adminSessionMaxAgeSeconds: ttl(
    'ADMIN_SESSION_MAX_AGE',
    CONTROLLER_DEFAULTS.adminSessionMaxAgeSeconds,
    '12h',
    [300, 30 * 86_400],
    'a console session ends this long after sign-in, used or not',
  ),
  adminSignInFailuresPerMinute: count(
    'ADMIN_SIGN_IN_FAILURES_PER_MINUTE',
    CONTROLLER_DEFAULTS.adminSignInFailuresPerMinute,
    'failed sign-ins (`POST /api/admin/session`) per minute per user name; beyond it that name gets 429 `ERR_RATE_LIMITED` (per address: `ADMIN_AUTH_FAILURES_PER_MINUTE`)',
  ),
  maxMessageBytes: count(
    'CONTROLLER_MAX_MESSAGE_SIZE',
    GRPC_LIMIT_DEFAULTS.maxMessageBytes,
    'largest gRPC message a caller may send, in bytes (an Enroll or Connect message is a few KiB)',
  ),
  maxConcurrentStreams: count(
    'CONTROLLER_MAX_CONCURRENT_STREAMS',
    GRPC_LIMIT_DEFAULTS.maxConcurrentStreams,
    'concurrent gRPC streams per connection',
  ),
  maxSessionMemoryMib: count(
    'CONTROLLER_MAX_SESSION_MEMORY',
    GRPC_LIMIT_DEFAULTS.maxSessionMemoryMib,
    'HTTP/2 memory per connection in MiB; beyond it new streams are refused',
  ),
  idleConnectionTimeoutSeconds: ttl(
    'CONTROLLER_IDLE_CONNECTION_TIMEOUT',
    GRPC_LIMIT_DEFAULTS.idleConnectionTimeoutMs / 1000,
    '5m',
    [1, 86_400],
    'a gRPC connection with no open stream for this long is closed (GOAWAY; clients reconnect on their next call)',
  ),
  handshakeTimeoutSeconds: ttl(
    'CONTROLLER_HANDSHAKE_TIMEOUT',
    GRPC_LIMIT_DEFAULTS.handshakeTimeoutMs / 1000,
    '10s',
    [1, 3600],
    'a connection that has not completed TLS and started a call by then is closed',
  ),
  unauthenticatedConnectionTimeoutSeconds: ttl(
    'CONTROLLER_UNAUTHENTICATED_CONNECTION_TIMEOUT',
    GRPC_LIMIT_DEFAULTS.unauthenticatedConnectionTimeoutMs / 1000,
    '30s',
    [1, 3600],
    'a connection without a verified client certificate (enrollment) is closed after this long',
  ),
  maxConcurrentHandshakes: count(
    'CONTROLLER_MAX_CONCURRENT_HANDSHAKES',
    GRPC_LIMIT_DEFAULTS.maxConcurrentHandshakes,
    'TLS handshakes worked on at once; later connections wait, unread, for a turn (each turn lasts at most 1 s), so a reconnect or renewal burst cannot stall heartbeats',
  ),
  maxConnections: count(
    'CONTROLLER_MAX_CONNECTIONS',
    GRPC_LIMIT_DEFAULTS.maxConnections,
    'open gRPC connections in total; keep it below the descriptor limit (`ulimit -n`) minus `ADMIN_MAX_CONNECTIONS` and about 100',
  ),
  maxConnectionsPerAddress: count(
    'CONTROLLER_MAX_CONNECTIONS_PER_IP',
    GRPC_LIMIT_DEFAULTS.maxConnectionsPerAddress,
    'open gRPC connections per remote address (raise it when many agents share one NAT address)',
  ),
  enrollmentsPerMinutePerAddress: count(
    'CONTROLLER_ENROLL_RATE_PER_IP',
    GRPC_LIMIT_DEFAULTS.enrollmentsPerMinutePerAddress,
    'Enroll calls per minute per remote address (burst of the same size); more get `ERR_RATE_LIMITED`',
  ),
  enrollmentsPerMinute: count(
    'CONTROLLER_ENROLL_RATE',
    GRPC_LIMIT_DEFAULTS.enrollmentsPerMinute,
    'Enroll calls per minute in total',
  ),
  adminMaxConnections: count(
    'ADMIN_MAX_CONNECTIONS',
    ADMIN_LIMIT_DEFAULTS.maxConnections,
    'open connections to the admin port; more are closed at once',
  ),
  adminRequestTimeoutSeconds: ttl(
    'ADMIN_REQUEST_TIMEOUT',
    ADMIN_LIMIT_DEFAULTS.requestTimeoutMs / 1000,
    '10s',
    [1, 3600],
    'time to send a whole admin request, and the longest an idle admin connection stays open',
  ),
  adminAuthFailuresPerMinute: count(
    'ADMIN_AUTH_FAILURES_PER_MINUTE',
    ADMIN_LIMIT_DEFAULTS.authFailuresPerMinute,
    'failed admin authentications per minute per address; beyond it the address gets 429 `ERR_RATE_LIMITED`',
  ),
  auditRetentionSeconds: ttl(
    'AUDIT_RETENTION',
    CONTROLLER_DEFAULTS.auditRetentionSeconds,
    '90d',
    [3600, 100 * 365 * 86_400],
    'audit records older than this are deleted (hourly)',
  ),
  auditSummaryIntervalSeconds: ttl(
    'AUDIT_SUMMARY_INTERVAL',
    CONTROLLER_DEFAULTS.auditSummaryIntervalSeconds,
    '60s',
    [1, 86_400],
    'unauthenticated refusals are counted and written as one `audit.refusals_summary` row this often',
  ),
  agentUpgradeGraceSeconds: {
    env: 'AGENT_UPGRADE_GRACE',
    flag: 'agent-upgrade-grace',
    yaml: 'agent_upgrade_grace',
    parse: duration([0, 365 * 86_400]),
    help: 'after a minimum agent version is pinned (`PUT /api/admin/agent-versions`), agents below it are still renewed for this long, then refused with `ERR_AGENT_UPGRADE_REQUIRED`; unset (the default): never refused, only flagged and told to upgrade',
  },
} satisfies SettingsTable;

/**
 * The rows `--help` and the docs show besides {@link CONTROLLER_SETTINGS}: the config file.
 *
 * @example
 * ```ts
 * formatSettingsMarkdown(CONTROLLER_SETTINGS, CONTROLLER_EXTRA_ROWS);
 * ```
 */
export const CONTROLLER_EXTRA_ROWS: readonly ExtraSettingRow[] = [
  {
    flag: 'config',
    env: 'CONTROLLER_CONFIG',
    help: 'YAML file with the same settings (keys: lower-case variable names)',
  },
  {
    flag: 'explain',
    help: 'print every setting, its value (secrets hidden) and where it came from, then exit',
  },
];

/**
 * The `--help` text: every flag with its environment variable.
 *
 * @example
 * ```ts
 * process.stdout.write(controllerUsage());
 * ```
 */
export function controllerUsage(): string {
  return formatSettingsHelp(CONTROLLER_SETTINGS, {
    usage: 'sigil-controller [flags]',
    intro: [
      'Every flag can also be given as the environment variable next to it; flags win over',
      'variables, variables over the --config file.',
    ],
    extra: CONTROLLER_EXTRA_ROWS,
  });
}

/**
 * Parses the controller's configuration from flags, environment variables and an optional YAML
 * file (flags win over variables, variables over the file), validating every value once, at the
 * edge: a bad value throws `ERR_CONFIG_INVALID` naming the variable or flag.
 *
 * @example
 * ```ts
 * const parsed = parseControllerConfig({ env: process.env, argv: process.argv.slice(2) });
 * if (parsed.action === 'run') await createController(parsed.config).start();
 * ```
 */
export function parseControllerConfig(
  options: ParseControllerConfigOptions = {},
): ParsedControllerCommand {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const { flags, extra } = parseSettingFlags(CONTROLLER_SETTINGS, options.argv ?? [], {
    program: 'sigil-controller',
    booleans: ['help', 'explain'],
    strings: ['config'],
  });
  if (extra.help === true) return { action: 'help', text: controllerUsage() };

  const configPath = (extra.config as string | undefined) ?? nonEmpty(env.CONTROLLER_CONFIG);
  const file =
    configPath === undefined
      ? undefined
      : readSettingsFile(configPath, CONTROLLER_SETTINGS, {
          readPath: resolve(cwd, configPath),
          unreadableCode: 'ERR_CONFIG_INVALID',
        });
  const resolved = resolveSettings(CONTROLLER_SETTINGS, { env, flags, ...(file ? { file } : {}) });
  if (extra.explain === true)
    return { action: 'explain', text: explainSettings(CONTROLLER_SETTINGS, resolved) };
  const { values } = resolved;
  if (values.dataDir === undefined) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      'DATA_DIR (or --data-dir) is required: the directory that holds the CA keys and the embedded store',
      { details: { variable: 'DATA_DIR' } },
    );
  }
  const {
    dataDir,
    adminTlsCertFile,
    adminTlsKeyFile,
    databaseUrl: databaseUrlValue,
    databaseUrlFile,
    adminToken,
    maxMessageBytes,
    maxConcurrentStreams,
    maxSessionMemoryMib,
    idleConnectionTimeoutSeconds,
    handshakeTimeoutSeconds,
    unauthenticatedConnectionTimeoutSeconds,
    maxConcurrentHandshakes,
    maxConnections,
    maxConnectionsPerAddress,
    enrollmentsPerMinutePerAddress,
    enrollmentsPerMinute,
    adminMaxConnections,
    adminRequestTimeoutSeconds,
    adminAuthFailuresPerMinute,
    ...rest
  } = values;
  if (databaseUrlValue !== undefined && databaseUrlFile !== undefined)
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      'DATABASE_URL and DATABASE_URL_FILE are both set: set one of them',
      { details: { variable: 'DATABASE_URL_FILE' } },
    );
  const databaseUrl =
    databaseUrlFile === undefined
      ? databaseUrlValue
      : CONTROLLER_SETTINGS.databaseUrl.parse(
          readSecretFile(databaseUrlFile, 'DATABASE_URL_FILE', cwd, options.stdin),
          `DATABASE_URL_FILE (${databaseUrlFile})`,
        );
  const config: ControllerConfig = {
    ...rest,
    dataDir: resolve(cwd, dataDir),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(adminTlsCertFile === undefined ? {} : { adminTlsCertFile: resolve(cwd, adminTlsCertFile) }),
    ...(adminTlsKeyFile === undefined ? {} : { adminTlsKeyFile: resolve(cwd, adminTlsKeyFile) }),
    grpcLimits: {
      maxMessageBytes,
      maxConcurrentStreams,
      maxSessionMemoryMib,
      idleConnectionTimeoutMs: idleConnectionTimeoutSeconds * 1000,
      handshakeTimeoutMs: handshakeTimeoutSeconds * 1000,
      unauthenticatedConnectionTimeoutMs: unauthenticatedConnectionTimeoutSeconds * 1000,
      maxConcurrentHandshakes,
      maxConnections,
      maxConnectionsPerAddress,
      enrollmentsPerMinutePerAddress,
      enrollmentsPerMinute,
    },
    adminLimits: {
      maxConnections: adminMaxConnections,
      requestTimeoutMs: adminRequestTimeoutSeconds * 1000,
      authFailuresPerMinute: adminAuthFailuresPerMinute,
    },
    secretFlags: resolved.sources.databaseUrl?.kind === 'flag' ? ['--database-url'] : [],
  };
  return { action: 'run', config };
}

/** A secret from a file (first line, trimmed), or from standard input when the name is `-`. */
function readSecretFile(
  path: string,
  variable: string,
  cwd: string,
  stdin: (() => string) | undefined,
): string {
  let text: string;
  try {
    text =
      path === '-'
        ? (stdin ?? (() => readFileSync(0, 'utf8')))()
        : readFileSync(resolve(cwd, path), 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${variable} ${path}: cannot read the file (${(cause as Error).message})`,
      { cause, details: { variable, file: path } },
    );
  }
  const secret = text.split(/\r?\n/)[0]!.trim();
  if (secret === '')
    throw new SigilError('ERR_CONFIG_INVALID', `${variable} ${path}: the file is empty`, {
      details: { variable, file: path },
    });
  return secret;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * A database URL with every password replaced by `***`, safe to log: the userinfo password and
 * the `password` and `sslpassword` query parameters (libpq accepts both). A password with an
 * unencoded `@` or `/` is still hidden: everything up to the last `@` goes (over-redacting is safe).
 *
 * @example
 * ```ts
 * redactUrl('postgresql://app:secret@db:5432/sigil?sslpassword=k'); // 'postgresql://app:***@db:5432/sigil?sslpassword=***'
 * ```
 */
export function redactUrl(url: string): string {
  const withoutUserinfo = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:).*@/i, '$1***@');
  return withoutUserinfo.replace(
    /([?&](?:ssl)?password=)[^&#]*/gi,
    (_match, name: string) => `${name}***`,
  );
}
