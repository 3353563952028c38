import type { AgentKind } from './identity';

/**
 * Which agent commands read a setting.
 *
 * @example
 * ```ts
 * const command: AgentCommand = ephemeral ? 'run' : 'enroll';
 * const config = resolveAgentConfig({ kind: 'connector', command, env: process.env, ephemeral });
 * ```
 */
export type AgentCommand = 'enroll' | 'run';

/**
 * One configuration setting of an agent: the environment variable, the flag (the variable's name
 * in kebab-case) and the key in the YAML config file. Flags win over the environment, which wins
 * over the file, which wins over the default.
 *
 * @example
 * ```ts
 * const setting: AgentSetting = settingsFor('connector').find((s) => s.name === 'heartbeatInterval')!;
 * console.log(setting.env, `--${setting.flag}`, setting.yaml, setting.defaultValue); // HEARTBEAT_INTERVAL --heartbeat-interval heartbeat_interval 10s
 * ```
 */
export interface AgentSetting {
  /** Property name in the parsed settings. */
  readonly name: AgentSettingName;
  readonly env: string;
  readonly flag: string;
  /** Dotted path in the YAML config file. */
  readonly yaml: string;
  readonly description: string;
  /** Default, as the text a user would type. */
  readonly defaultValue?: string;
  /** Agent kinds that accept it. */
  readonly kinds: readonly AgentKind[];
}

/**
 * The settings every agent understands (see {@link AGENT_SETTINGS}).
 *
 * @example
 * ```ts
 * const flags: Partial<Record<AgentSettingName, string>> = { controllerAddr: '10.0.0.5:8443', logLevel: 'debug' };
 * resolveAgentConfig({ kind: 'connector', command: 'run', env: process.env, flags });
 * ```
 */
export type AgentSettingName =
  | 'enrollmentToken'
  | 'controllerAddr'
  | 'controllerCaPath'
  | 'controllerServerName'
  | 'agentId'
  | 'connectorAddr'
  | 'connectorListenAddr'
  | 'stateDir'
  | 'httpAddr'
  | 'heartbeatInterval'
  | 'reconnectInitial'
  | 'reconnectMax'
  | 'privateIp'
  | 'logLevel';

const BOTH: readonly AgentKind[] = ['connector', 'tunneler'];

function setting(
  name: AgentSettingName,
  env: string,
  yaml: string,
  description: string,
  extra: Partial<AgentSetting> = {},
): AgentSetting {
  return {
    name,
    env,
    flag: env.toLowerCase().replace(/_/g, '-'),
    yaml,
    description,
    kinds: BOTH,
    ...extra,
  };
}

/**
 * Every setting of `sigil-connector` and `sigil-tunneler`, in the order `--help` and
 * docs/agents.md list them. `agentId` reads CONNECTOR_ID or TUNNELER_ID depending on the kind
 * (see {@link settingsFor}).
 *
 * @example
 * ```ts
 * for (const s of AGENT_SETTINGS) console.log(`${s.env}\t--${s.flag}\t${s.description}`);
 * ```
 */
export const AGENT_SETTINGS: readonly AgentSetting[] = [
  setting(
    'enrollmentToken',
    'ENROLLMENT_TOKEN',
    'enrollment_token',
    'one-time enrollment token from POST /api/admin/tokens (enroll, --ephemeral)',
  ),
  setting(
    'controllerAddr',
    'CONTROLLER_ADDR',
    'controller.addr',
    'controller gRPC address host:port; several, comma-separated, for failover (run: defaults to the ones used at enrollment)',
  ),
  setting(
    'controllerCaPath',
    'CONTROLLER_CA_PATH',
    'controller.ca_path',
    'bootstrap CA to verify the controller with ($DATA_DIR/bootstrap-ca.crt of the controller; run: defaults to the copy pinned at enrollment)',
  ),
  setting(
    'controllerServerName',
    'CONTROLLER_SERVER_NAME',
    'controller.server_name',
    'name to verify in the controller certificate when it differs from the host in CONTROLLER_ADDR',
  ),
  setting(
    'agentId',
    'CONNECTOR_ID',
    'connector_id',
    'this agent id; must match the enrollment token',
    { kinds: ['connector'] },
  ),
  setting(
    'agentId',
    'TUNNELER_ID',
    'tunneler_id',
    'this agent id; must match the enrollment token',
    { kinds: ['tunneler'] },
  ),
  setting(
    'connectorAddr',
    'CONNECTOR_ADDR',
    'connector.addr',
    'address host:port of the connector to tunnel to (run: defaults to the one given at enrollment)',
    {
      kinds: ['tunneler'],
    },
  ),
  setting(
    'connectorListenAddr',
    'CONNECTOR_LISTEN_ADDR',
    'connector.listen_addr',
    'mTLS listen address for tunnelers',
    {
      kinds: ['connector'],
      defaultValue: '0.0.0.0:9443',
    },
  ),
  setting(
    'stateDir',
    'STATE_DIR',
    'state_dir',
    "directory holding the identity (key 0600, certificate, bundle, metadata); defaults to systemd's $STATE_DIRECTORY",
  ),
  setting(
    'httpAddr',
    'AGENT_HTTP_ADDR',
    'http_addr',
    'local /healthz, /readyz and /metrics (connector default 127.0.0.1:9090, tunneler 127.0.0.1:9091)',
  ),
  setting(
    'heartbeatInterval',
    'HEARTBEAT_INTERVAL',
    'heartbeat_interval',
    'time between heartbeats',
    { defaultValue: '10s' },
  ),
  setting(
    'reconnectInitial',
    'RECONNECT_BACKOFF_INITIAL',
    'reconnect.initial',
    'first reconnect delay ceiling (full jitter)',
    { defaultValue: '500ms' },
  ),
  setting('reconnectMax', 'RECONNECT_BACKOFF_MAX', 'reconnect.max', 'reconnect delay cap', {
    defaultValue: '30s',
  }),
  setting(
    'privateIp',
    'PRIVATE_IP',
    'private_ip',
    'address reported to the controller (default: first non-loopback IPv4)',
  ),
  setting(
    'logLevel',
    'LOG_LEVEL',
    'log_level',
    'fatal, error, warn, info, debug, trace or silent (default info; error for enroll)',
  ),
];

/**
 * The settings of one agent kind.
 *
 * @example
 * ```ts
 * settingsFor('tunneler').map((s) => s.env); // [..., 'TUNNELER_ID', 'CONNECTOR_ADDR', ...]
 * ```
 */
export function settingsFor(kind: AgentKind): AgentSetting[] {
  return AGENT_SETTINGS.filter((s) => s.kinds.includes(kind));
}
