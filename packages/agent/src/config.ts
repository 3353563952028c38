import { networkInterfaces } from 'node:os';
import { SigilError } from '@sigil/errors';
import type { ListenAddress, LogLevel } from '@sigil/runtime';
import {
  missingSetting,
  rawSetting,
  readSettingsFile,
  resolveSettings,
  sourceLabel,
} from '@sigil/settings';
import type { ForwardSpec } from './forward-spec';
import type { AgentKind } from './identity';
import {
  agentSettingsTable,
  readEnrollmentToken,
  type AgentCommand,
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
  /** Reads standard input for `--enrollment-token -`. Default: file descriptor 0. */
  readStdin?: () => string;
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
  /** Secrets given as flag values (visible in `ps`): the CLI warns about each. */
  secretFlags: string[];
  controllerAddresses?: string[];
  controllerCaPath?: string;
  controllerServerName?: string;
  /** Tunneler: CONNECTOR_ADDR. */
  connectorAddress?: string;
  /** Connector: CONNECTOR_LISTEN_ADDR. */
  connectorListenAddress?: ListenAddress;
  /** Tunneler: TUNNELER_FORWARDS / `--forward` (none when unset). */
  forwards: ForwardSpec[];
  /** Connector: the data-plane limits (docs/data-plane.md). */
  dataPlane?: {
    maxStreamsPerTunneler: number;
    maxConnectionsPerResource: number;
    idleTimeoutMs: number;
  };
  /** Undefined only when ephemeral. */
  stateDir?: string;
  /**
   * Connector: SIGIL_WORKLOAD_API_SOCKET, where to serve the SPIFFE Workload API
   * (`/run/sigil/workload-api.sock` by default; undefined when set to `off` or `none`).
   */
  workloadApiSocket?: string;
  /**
   * True when {@link AgentConfig.workloadApiSocket} is the default path, not one that was asked
   * for: a connector that cannot serve there warns and runs on without the Workload API, where an
   * asked-for path that cannot be served stops it.
   */
  workloadApiSocketDefaulted?: boolean;
  httpAddress: ListenAddress;
  heartbeatIntervalMs: number;
  reconnect: { initialMs: number; maxMs: number };
  privateIp: string;
  logLevel: LogLevel;
}

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
  const table = agentSettingsTable(kind);
  const ephemeral = sources.ephemeral ?? false;
  const enrolls = command === 'enroll' || ephemeral;
  const configFile = sources.configFile ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const file = configFile === undefined ? undefined : readSettingsFile(configFile, table);
  const inputs = {
    env,
    ...(sources.flags ? { flags: sources.flags } : {}),
    ...(file ? { file } : {}),
  };
  const { values, sources: settingSources } = resolveSettings(table, inputs);

  const need = `sigil-${kind} ${command}${ephemeral ? ' --ephemeral' : ''} needs it`;
  const required = <K extends AgentSettingName>(
    name: K,
    why = need,
  ): NonNullable<(typeof values)[K]> => {
    const value = values[name];
    if (value === undefined) throw missingSetting(table[name], why);
    return value as NonNullable<(typeof values)[K]>;
  };
  const enrollment = <K extends AgentSettingName>(name: K) =>
    enrolls ? required(name) : values[name];

  const enrollmentToken = readEnrollmentToken({
    ...(values.enrollmentToken === undefined ? {} : { token: values.enrollmentToken }),
    ...(values.enrollmentTokenFile === undefined ? {} : { tokenFile: values.enrollmentTokenFile }),
    ...(sources.readStdin === undefined ? {} : { readStdin: sources.readStdin }),
  });
  if (enrolls && enrollmentToken === undefined) throw missingSetting(table.enrollmentToken, need);
  const tokenFlag = sources.flags?.enrollmentToken;
  const controllerAddresses = enrollment('controllerAddr');
  const controllerCaPath = enrollment('controllerCaPath');
  const agentId = enrollment('agentId');
  const connectorAddress =
    kind === 'tunneler' && enrolls ? required('connectorAddr') : values.connectorAddr;
  const stateDir = ephemeral
    ? undefined
    : (values.stateDir ??
      systemdStateDirectory(env) ??
      required('stateDir', `${need} unless --ephemeral`));

  if (values.reconnectMax < values.reconnectInitial) {
    const raw = rawSetting(table.reconnectMax, inputs, sources.flags?.reconnectMax);
    const at = raw === undefined ? 'RECONNECT_BACKOFF_MAX' : sourceLabel(raw.source);
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${at}=${raw?.raw ?? `${values.reconnectMax}ms`} is below RECONNECT_BACKOFF_INITIAL`,
      { details: { variable: at } },
    );
  }

  return {
    kind,
    command,
    ephemeral,
    enrolls,
    agentId,
    enrollmentToken,
    secretFlags: tokenFlag !== undefined && tokenFlag !== '-' ? ['--enrollment-token'] : [],
    controllerAddresses,
    controllerCaPath,
    controllerServerName: values.controllerServerName,
    connectorAddress,
    connectorListenAddress: kind === 'connector' ? values.connectorListenAddr : undefined,
    forwards: values.forwards ?? [],
    dataPlane:
      kind === 'connector'
        ? {
            maxStreamsPerTunneler: values.maxStreamsPerTunneler,
            maxConnectionsPerResource: values.maxConnectionsPerResource,
            idleTimeoutMs: values.idleTimeout,
          }
        : undefined,
    stateDir,
    ...(kind === 'connector' && values.workloadApiSocket !== false
      ? {
          workloadApiSocket: values.workloadApiSocket,
          workloadApiSocketDefaulted: settingSources.workloadApiSocket?.kind === 'default',
        }
      : {}),
    httpAddress: values.httpAddr,
    heartbeatIntervalMs: values.heartbeatInterval,
    reconnect: { initialMs: values.reconnectInitial, maxMs: values.reconnectMax },
    privateIp: values.privateIp ?? firstPrivateIpv4(),
    // enroll is a one-shot command: its result or its one-line error says it all.
    logLevel: values.logLevel ?? (command === 'enroll' ? 'error' : 'info'),
  };
}

function systemdStateDirectory(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  // systemd's StateDirectory= exports STATE_DIRECTORY (colon-separated when several are set).
  return nonEmpty(env.STATE_DIRECTORY)?.split(':')[0];
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
