import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { SigilError } from '@sigil/errors';
import {
  parseListenAddress,
  parseLogLevel,
  type ListenAddress,
  type LogLevel,
} from '@sigil/runtime';
import { parse as parseYaml } from 'yaml';
import type { AgentKind } from './identity';
import { parseDurationMs } from '@sigil/runtime';
import {
  settingsFor,
  type AgentCommand,
  type AgentSetting,
  type AgentSettingName,
} from './settings';

/**
 * The environment variable naming the optional YAML config file (also `--config`).
 *
 * @example
 * ```ts
 * resolveAgentConfig({ kind: 'connector', command: 'run', env: { [CONFIG_FILE_ENV]: '/etc/sigil/connector.yaml' } });
 * ```
 */
export const CONFIG_FILE_ENV = 'AGENT_CONFIG_PATH';

/**
 * Where the raw settings come from; see {@link resolveAgentConfig}.
 *
 * @example
 * ```ts
 * const sources: AgentConfigSources = { kind: 'tunneler', command: 'run', env: process.env, configFile: '/etc/sigil/tunneler.yaml' };
 * const config = resolveAgentConfig(sources);
 * ```
 */
export interface AgentConfigSources {
  kind: AgentKind;
  command: AgentCommand;
  /** Usually `process.env`, read here and nowhere else. */
  env: Readonly<Record<string, string | undefined>>;
  /** Values given as flags, by setting name. */
  flags?: Partial<Record<AgentSettingName, string>>;
  /** `--config`; falls back to AGENT_CONFIG_PATH. */
  configFile?: string;
  /** `--ephemeral`: enroll and run in one process, identity in memory only. */
  ephemeral?: boolean;
}

/**
 * The typed configuration of a connector or tunneler.
 *
 * @example
 * ```ts
 * const config: AgentConfig = resolveAgentConfig({ kind: 'connector', command: 'run', env: process.env });
 * console.log(config.stateDir, config.heartbeatIntervalMs, `${config.httpAddress.host}:${config.httpAddress.port}`);
 * ```
 */
export interface AgentConfig {
  kind: AgentKind;
  command: AgentCommand;
  /** Enroll and run in one process, nothing written to disk. */
  ephemeral: boolean;
  /** True when this invocation enrolls (the enroll command, or --ephemeral). */
  enrolls: boolean;
  agentId?: string;
  /** Never log it; use tokenFingerprint(). */
  enrollmentToken?: string;
  controllerAddresses?: string[];
  controllerCaPath?: string;
  controllerServerName?: string;
  /** Tunneler: CONNECTOR_ADDR. */
  connectorAddress?: string;
  /** Connector: CONNECTOR_LISTEN_ADDR. */
  connectorListenAddress?: ListenAddress;
  /** Undefined only when ephemeral. */
  stateDir?: string;
  httpAddress: ListenAddress;
  heartbeatIntervalMs: number;
  reconnect: { initialMs: number; maxMs: number };
  privateIp: string;
  logLevel: LogLevel;
}

interface RawValue {
  value: string;
  /** How a message names where the value came from: `CONTROLLER_ADDR`, `--controller-addr`, `agent.yaml: controller.addr`. */
  source: string;
}

const DEFAULT_HTTP_ADDR: Record<AgentKind, string> = {
  connector: '127.0.0.1:9090',
  tunneler: '127.0.0.1:9091',
};

/**
 * Parses an agent's configuration once, at the edge: flags win over the environment, which wins
 * over the YAML config file, which wins over defaults. Every problem is one `SigilError`
 * (`ERR_CONFIG_MISSING` / `ERR_CONFIG_INVALID`) naming the variable, flag or file key at fault.
 *
 * @example
 * ```ts
 * const config = resolveAgentConfig({ kind: 'connector', command: 'enroll', env: process.env, flags: { agentId: 'edge-1' } });
 * config.controllerAddresses; // ['10.0.0.5:8443', '10.0.0.6:8443']
 * ```
 */
export function resolveAgentConfig(sources: AgentConfigSources): AgentConfig {
  const { kind, command, env } = sources;
  const settings = settingsFor(kind);
  const ephemeral = sources.ephemeral ?? false;
  const enrolls = command === 'enroll' || ephemeral;
  const configFile = sources.configFile ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const fileValues =
    configFile === undefined ? new Map<string, RawValue>() : readConfigFile(configFile, settings);

  const raw = (name: AgentSettingName): RawValue | undefined => {
    const spec = settings.find((s) => s.name === name);
    if (spec === undefined) return undefined;
    const flag = nonEmpty(sources.flags?.[name]);
    if (flag !== undefined) return { value: flag, source: `--${spec.flag}` };
    const fromEnv = nonEmpty(env[spec.env]);
    if (fromEnv !== undefined) return { value: fromEnv, source: spec.env };
    return fileValues.get(name);
  };
  const required = (name: AgentSettingName, why: string): RawValue => {
    const value = raw(name);
    if (value !== undefined) return value;
    const spec = settings.find((s) => s.name === name)!;
    throw new SigilError(
      'ERR_CONFIG_MISSING',
      `${spec.env} is not set: ${why} (env ${spec.env}, flag --${spec.flag} or ${spec.yaml} in the config file)`,
      {
        details: { variable: spec.env },
      },
    );
  };
  const withDefault = (name: AgentSettingName, fallback: string): RawValue => {
    const spec = settings.find((s) => s.name === name)!;
    return raw(name) ?? { value: fallback, source: spec.env };
  };
  const duration = (name: AgentSettingName): number => {
    const spec = settings.find((s) => s.name === name)!;
    const value = withDefault(name, spec.defaultValue!);
    return parseDurationMs(value.value, value.source);
  };
  const need = `sigil-${kind} ${command}${ephemeral ? ' --ephemeral' : ''} needs it`;

  const token = enrolls ? required('enrollmentToken', need) : raw('enrollmentToken');
  const controller = enrolls ? required('controllerAddr', need) : raw('controllerAddr');
  const caPath = enrolls ? required('controllerCaPath', need) : raw('controllerCaPath');
  const agentId = enrolls ? required('agentId', need) : raw('agentId');
  const connectorAddr =
    kind === 'tunneler' && enrolls ? required('connectorAddr', need) : raw('connectorAddr');
  const stateDir = ephemeral
    ? undefined
    : (raw('stateDir') ??
      systemdStateDirectory(env) ??
      required('stateDir', `${need} unless --ephemeral`));

  const reconnectInitialMs = duration('reconnectInitial');
  const reconnectMax = withDefault('reconnectMax', '30s');
  const reconnectMaxMs = parseDurationMs(reconnectMax.value, reconnectMax.source);
  if (reconnectMaxMs < reconnectInitialMs) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${reconnectMax.source}=${reconnectMax.value} is below RECONNECT_BACKOFF_INITIAL`,
      {
        details: { variable: reconnectMax.source },
      },
    );
  }
  const listen =
    kind === 'connector' ? withDefault('connectorListenAddr', '0.0.0.0:9443') : undefined;
  const http = withDefault('httpAddr', DEFAULT_HTTP_ADDR[kind]);
  const logLevel = raw('logLevel');

  return {
    kind,
    command,
    ephemeral,
    enrolls,
    agentId: agentId === undefined ? undefined : parseAgentId(agentId),
    enrollmentToken: token?.value,
    controllerAddresses: controller === undefined ? undefined : parseAddressList(controller),
    controllerCaPath: caPath?.value,
    controllerServerName: raw('controllerServerName')?.value,
    connectorAddress: connectorAddr === undefined ? undefined : parseAddressList(connectorAddr)[0],
    connectorListenAddress:
      listen === undefined ? undefined : parseListenAddress(listen.value, listen.source),
    stateDir: stateDir?.value,
    httpAddress: parseListenAddress(http.value, http.source),
    heartbeatIntervalMs: duration('heartbeatInterval'),
    reconnect: { initialMs: reconnectInitialMs, maxMs: reconnectMaxMs },
    privateIp: raw('privateIp')?.value ?? firstPrivateIpv4(),
    // enroll is a one-shot command: its result or its one-line error says it all.
    logLevel:
      logLevel === undefined
        ? command === 'enroll'
          ? 'error'
          : 'info'
        : parseLogLevel(logLevel.value, logLevel.source),
  };
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function parseAddressList(raw: RawValue): string[] {
  const entries = raw.value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw invalid(raw, 'no address given');
  for (const entry of entries) {
    const match = HOST_PORT.exec(entry);
    const port = Number(match?.[1]);
    if (match === null || port < 1 || port > 65535)
      throw invalid(raw, `"${entry}" is not host:port`);
  }
  return entries;
}

function parseAgentId(raw: RawValue): string {
  // The id becomes a SPIFFE ID path segment: letters, digits, '.', '-', '_' only.
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(raw.value) || raw.value === '.' || raw.value === '..') {
    throw invalid(raw, 'use 1-128 letters, digits, ".", "-" or "_"');
  }
  return raw.value;
}

function invalid(raw: RawValue, why: string): SigilError {
  return new SigilError(
    'ERR_CONFIG_INVALID',
    `${raw.source}=${JSON.stringify(raw.value)} is invalid: ${why}`,
    { details: { variable: raw.source } },
  );
}

function readConfigFile(file: string, settings: readonly AgentSetting[]): Map<string, RawValue> {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    const code =
      (cause as NodeJS.ErrnoException).code === undefined
        ? 'ERR_CONFIG_INVALID'
        : 'ERR_FILE_UNREADABLE';
    throw new SigilError(code, `config file ${file}: ${(cause as Error).message.split('\n')[0]}`, {
      cause,
      details: { file },
    });
  }
  const values = new Map<string, RawValue>();
  if (document === null || document === undefined) return values;
  const known = new Map(settings.map((s) => [s.yaml, s]));
  const visit = (node: unknown, prefix: string): void => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      for (const [key, child] of Object.entries(node))
        visit(child, prefix === '' ? key : `${prefix}.${key}`);
      return;
    }
    const spec = known.get(prefix);
    if (spec === undefined) {
      throw new SigilError(
        'ERR_CONFIG_INVALID',
        `config file ${file}: unknown key "${prefix}" (known: ${[...known.keys()].join(', ')})`,
        {
          details: { file, key: prefix },
        },
      );
    }
    const value = Array.isArray(node) ? node.map(String).join(',') : String(node);
    values.set(spec.name, { value, source: `${file}: ${prefix}` });
  };
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `config file ${file}: expected a mapping of settings`,
      { details: { file } },
    );
  }
  visit(document, '');
  return values;
}

function systemdStateDirectory(
  env: Readonly<Record<string, string | undefined>>,
): RawValue | undefined {
  // systemd's StateDirectory= exports STATE_DIRECTORY (colon-separated when several are set).
  const value = nonEmpty(env.STATE_DIRECTORY)?.split(':')[0];
  return value === undefined ? undefined : { value, source: 'STATE_DIRECTORY' };
}

function firstPrivateIpv4(): string {
  let interfaces: ReturnType<typeof networkInterfaces>;
  try {
    interfaces = networkInterfaces();
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_MISSING',
      `PRIVATE_IP is not set and the network interfaces cannot be listed (${(cause as Error).message}); set PRIVATE_IP`,
      {
        cause,
        details: { variable: 'PRIVATE_IP' },
      },
    );
  }
  for (const addresses of Object.values(interfaces)) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found !== undefined) return found.address;
  }
  return '127.0.0.1';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
