import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SigilError } from '@sigil/errors';
import { parseTrustDomain } from '@sigil/pki';
import { parseListenAddress, parseLogLevel } from '@sigil/runtime';
import type { LogLevel } from '@sigil/runtime';
import { parse as parseYaml } from 'yaml';
import { parseDurationMs } from '@sigil/runtime';

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
  /** Extra DNS names or IP addresses for the controller's TLS certificate. */
  serverNames: string[];
  /** The admin bearer token (from `SIGIL_ADMIN_TOKEN`); when absent one is generated on first start. */
  adminToken?: string;
  /** Log level (`LOG_LEVEL`). Default `info`. */
  logLevel: LogLevel;
}

/** Where {@link parseControllerConfig} reads from. */
export interface ParseControllerConfigOptions {
  /** Environment variables, usually `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Command-line arguments after the program name, usually `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Resolves relative paths (`DATA_DIR`, `--config`). Default `process.cwd()`. */
  cwd?: string;
}

/** The outcome of {@link parseControllerConfig}: a config to run, or the help text to print. */
export type ParsedControllerCommand =
  { action: 'run'; config: ControllerConfig } | { action: 'help'; text: string };

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
  connectorCertTtlSeconds: 3600,
  tunnelerCertTtlSeconds: 1800,
  enrollmentTokenTtlSeconds: 900,
  agentOfflineAfterSeconds: 30,
  controllerCertTtlSeconds: 86_400,
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

type SettingKind = 'string' | 'address' | 'duration' | 'list' | 'path' | 'level' | 'trust-domain';

interface Setting {
  key: Exclude<keyof ControllerConfig, 'adminToken'>;
  env: string;
  flag: string;
  kind: SettingKind;
  help: string;
  /** For durations: the smallest and largest accepted values, in seconds. */
  range?: [number, number];
}

const SETTINGS: readonly Setting[] = [
  {
    key: 'controllerListenAddress',
    env: 'CONTROLLER_LISTEN_ADDR',
    flag: 'controller-listen-addr',
    kind: 'address',
    help: 'gRPC listen address (default 127.0.0.1:8443)',
  },
  {
    key: 'adminListenAddress',
    env: 'ADMIN_LISTEN_ADDR',
    flag: 'admin-listen-addr',
    kind: 'address',
    help: 'admin HTTP listen address (default 127.0.0.1:8080)',
  },
  {
    key: 'trustDomain',
    env: 'TRUST_DOMAIN',
    flag: 'trust-domain',
    kind: 'trust-domain',
    help: 'SPIFFE trust domain (default sigil.local)',
  },
  {
    key: 'dataDir',
    env: 'DATA_DIR',
    flag: 'data-dir',
    kind: 'path',
    help: 'keys and embedded store (required)',
  },
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    flag: 'database-url',
    kind: 'string',
    help: 'PostgreSQL URL instead of the embedded store',
  },
  {
    key: 'connectorCertTtlSeconds',
    env: 'CONNECTOR_CERT_TTL',
    flag: 'connector-cert-ttl',
    kind: 'duration',
    range: [10, 30 * 86_400],
    help: 'connector certificate lifetime (default 1h)',
  },
  {
    key: 'tunnelerCertTtlSeconds',
    env: 'TUNNELER_CERT_TTL',
    flag: 'tunneler-cert-ttl',
    kind: 'duration',
    range: [10, 30 * 86_400],
    help: 'tunneler certificate lifetime (default 30m)',
  },
  {
    key: 'enrollmentTokenTtlSeconds',
    env: 'ENROLLMENT_TOKEN_TTL',
    flag: 'enrollment-token-ttl',
    kind: 'duration',
    range: [1, MAX_TOKEN_TTL_SECONDS],
    help: 'default enrollment token lifetime (default 15m)',
  },
  {
    key: 'agentOfflineAfterSeconds',
    env: 'AGENT_OFFLINE_AFTER',
    flag: 'agent-offline-after',
    kind: 'duration',
    range: [1, 86_400],
    help: 'heartbeat deadline before an agent is OFFLINE (default 30s)',
  },
  {
    key: 'controllerCertTtlSeconds',
    env: 'CONTROLLER_CERT_TTL',
    flag: 'controller-cert-ttl',
    kind: 'duration',
    range: [10, 365 * 86_400],
    help: 'controller TLS certificate lifetime (default 24h)',
  },
  {
    key: 'serverNames',
    env: 'CONTROLLER_SERVER_NAMES',
    flag: 'server-names',
    kind: 'list',
    help: 'extra DNS names/IPs for the controller certificate, comma-separated',
  },
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    flag: 'log-level',
    kind: 'level',
    help: 'fatal|error|warn|info|debug|trace|silent (default info)',
  },
];

const CONFIG_FILE = { env: 'CONTROLLER_CONFIG', flag: 'config' };
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ADMIN_TOKEN_ENV = 'SIGIL_ADMIN_TOKEN';

/**
 * The `--help` text: every flag with its environment variable.
 *
 * @example
 * ```ts
 * process.stdout.write(controllerUsage());
 * ```
 */
export function controllerUsage(): string {
  const rows = [
    ...SETTINGS.map((s) => [`--${s.flag}`, s.env, s.help]),
    [
      `--${CONFIG_FILE.flag}`,
      CONFIG_FILE.env,
      'YAML file with the same settings (keys: lower-case variable names)',
    ],
    ['', ADMIN_TOKEN_ENV, 'admin API bearer token (generated and printed once when unset)'],
  ];
  const width = Math.max(...rows.map((r) => r[0]!.length));
  const envWidth = Math.max(...rows.map((r) => r[1]!.length));
  return [
    'usage: sigil-controller [flags]',
    '',
    'Every flag can also be given as the environment variable next to it; flags win over',
    'variables, variables over the --config file.',
    '',
    ...rows.map(
      ([flag, env, help]) => `  ${flag!.padEnd(width)}  ${env!.padEnd(envWidth)}  ${help}`,
    ),
    '',
  ].join('\n');
}

function invalid(source: string, value: string, why: string): SigilError {
  return new SigilError('ERR_CONFIG_INVALID', `${source}=${JSON.stringify(value)}: ${why}`, {
    details: { variable: source, value },
  });
}

function parseDurationSeconds(value: string, source: string, range: [number, number]): number {
  const ms = parseDurationMs(value, source);
  if (ms % 1000 !== 0) throw invalid(source, value, 'use whole seconds (e.g. 90s)');
  const seconds = ms / 1000;
  if (seconds < range[0] || seconds > range[1])
    throw invalid(source, value, `must be between ${range[0]}s and ${range[1]}s`);
  return seconds;
}

function readConfigFile(path: string, source: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${source}: cannot read ${path} (${(cause as Error).message})`,
      { cause, details: { variable: source, file: path } },
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${path}: not valid YAML (${(cause as Error).message})`,
      { cause, details: { file: path } },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new SigilError('ERR_CONFIG_INVALID', `${path}: expected a mapping of settings`, {
      details: { file: path },
    });
  const known = new Map(SETTINGS.map((s) => [s.env.toLowerCase(), s.env]));
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const env = known.get(key);
    if (env === undefined) {
      throw new SigilError(
        'ERR_CONFIG_INVALID',
        `${path}: unknown setting "${key}" (known: ${[...known.keys()].join(', ')})`,
        { details: { file: path, key } },
      );
    }
    if (Array.isArray(value)) values[env] = value.map(String).join(',');
    else if (typeof value === 'string' || typeof value === 'number') values[env] = String(value);
    else
      throw new SigilError('ERR_CONFIG_INVALID', `${path}: "${key}" must be a string`, {
        details: { file: path, key },
      });
  }
  return values;
}

function parseFlags(argv: readonly string[]): {
  values: Record<string, string | boolean | undefined>;
} {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    help: { type: 'boolean' },
    [CONFIG_FILE.flag]: { type: 'string' },
  };
  for (const s of SETTINGS) options[s.flag] = { type: 'string' };
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${(cause as Error).message} (see sigil-controller --help)`,
      { cause },
    );
  }
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
  const { values: flags } = parseFlags(options.argv ?? []);
  if (flags.help === true) return { action: 'help', text: controllerUsage() };

  const configPath =
    (flags[CONFIG_FILE.flag] as string | undefined) ?? nonEmpty(env[CONFIG_FILE.env]);
  const configSource =
    flags[CONFIG_FILE.flag] !== undefined ? `--${CONFIG_FILE.flag}` : CONFIG_FILE.env;
  const fileValues =
    configPath === undefined ? {} : readConfigFile(resolve(cwd, configPath), configSource);

  const resolved: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagValue = flags[setting.flag] as string | undefined;
    const envValue = nonEmpty(env[setting.env]);
    const [raw, source] =
      flagValue !== undefined
        ? [flagValue, `--${setting.flag}`]
        : envValue !== undefined
          ? [envValue, setting.env]
          : [fileValues[setting.env], `${configPath}: ${setting.env.toLowerCase()}`];
    if (raw === undefined) continue;
    resolved[setting.key] = parseSetting(setting, raw, source, cwd);
  }
  if (resolved.dataDir === undefined) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      'DATA_DIR (or --data-dir) is required: the directory that holds the CA keys and the embedded store',
      {
        details: { variable: 'DATA_DIR' },
      },
    );
  }
  const adminToken = nonEmpty(env[ADMIN_TOKEN_ENV]);
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${ADMIN_TOKEN_ENV} is too short: use at least 16 characters (e.g. openssl rand -hex 32)`,
      {
        details: { variable: ADMIN_TOKEN_ENV },
      },
    );
  }
  const config: ControllerConfig = {
    ...CONTROLLER_DEFAULTS,
    serverNames: [],
    logLevel: 'info',
    ...(resolved as Partial<ControllerConfig>),
    dataDir: resolved.dataDir as string,
    ...(adminToken === undefined ? {} : { adminToken }),
  };
  return { action: 'run', config };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function parseSetting(setting: Setting, raw: string, source: string, cwd: string): unknown {
  switch (setting.kind) {
    case 'address':
      parseListenAddress(raw, source);
      return raw.trim();
    case 'duration':
      return parseDurationSeconds(raw, source, setting.range!);
    case 'list': {
      const names = raw
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '');
      const bad = names.find((name) => isIP(name) === 0 && !DNS_NAME.test(name));
      if (bad !== undefined)
        throw invalid(source, raw, `"${bad}" is neither a DNS name nor an IP address`);
      return names;
    }
    case 'path':
      return resolve(cwd, raw);
    case 'level':
      return parseLogLevel(raw, source);
    case 'trust-domain':
      try {
        return parseTrustDomain(raw.trim());
      } catch (cause) {
        throw new SigilError(
          'ERR_CONFIG_INVALID',
          `${source}=${JSON.stringify(raw)} is not a valid SPIFFE trust domain (${(cause as Error).message})`,
          {
            cause,
            details: { variable: source, value: raw },
          },
        );
      }
    case 'string':
      if (setting.key === 'databaseUrl' && !/^postgres(ql)?:\/\//.test(raw.trim())) {
        throw invalid(source, redactUrl(raw), 'expected a postgres:// or postgresql:// URL');
      }
      return raw.trim();
  }
}

/**
 * A database URL with its password replaced by `***`, safe to log.
 *
 * @example
 * ```ts
 * redactUrl('postgresql://app:secret@db:5432/sigil'); // 'postgresql://app:***@db:5432/sigil'
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}
