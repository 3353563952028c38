import { readFileSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import {
  parseListenAddress,
  parseLogLevel,
  type ListenAddress,
  type LogLevel,
} from '@sigil/runtime';
import {
  envNames,
  parseDurationMs,
  parseList,
  parsePositiveIntegerValue,
  invalidSetting,
  type Setting,
  type SettingsTable,
} from '@sigil/settings';
import type { AgentKind } from './identity';
import { parseForwards } from './forward-spec';

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
 * One configuration setting of an agent, as `--help` and docs/agents.md show it: the environment
 * variable, the flag (the variable's name in kebab-case) and the key in the YAML config file.
 * Flags win over the environment, which wins over the file, which wins over the default.
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
  /** Default, as `--help` and the docs show it. */
  readonly defaultValue?: string;
  /** Agent kinds that accept it. */
  readonly kinds: readonly AgentKind[];
  /** The flag may be given several times (the values join as a comma-separated list). */
  readonly repeatable?: boolean;
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
export type AgentSettingName = keyof AgentSettingsTable;

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function addressList(raw: string, at: string): string[] {
  const entries = parseList(raw);
  if (entries.length === 0)
    throw invalidSetting(at, 'is invalid: no address given', { value: raw });
  for (const entry of entries) {
    const match = HOST_PORT.exec(entry);
    const port = Number(match?.[1]);
    if (match === null || port < 1 || port > 65535)
      throw invalidSetting(at, `is invalid: "${entry}" is not host:port`, { value: raw });
  }
  return entries;
}

function agentId(raw: string, at: string): string {
  // The id becomes a SPIFFE ID path segment: letters, digits, '.', '-', '_' only.
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(raw) || raw === '.' || raw === '..')
    throw invalidSetting(at, 'is invalid: use 1-128 letters, digits, ".", "-" or "_"', {
      value: raw,
    });
  return raw;
}

const text = (raw: string): string => raw;

/** A setting whose flag is its variable in kebab-case. */
function setting<T>(
  env: string,
  yaml: string,
  rest: Omit<Setting<T>, 'env' | 'flag' | 'yaml'>,
): Setting<T> {
  return { env, flag: env.toLowerCase().replace(/_/g, '-'), yaml, ...rest };
}

function withDefault<T>(
  value: T,
  defaultText: string,
  spec: Setting<T>,
): Setting<T> & { default: T } {
  return { ...spec, default: value, defaultText };
}

/** Where a connector serves the Workload API unless told otherwise (docs/workload-api.md). */
const DEFAULT_WORKLOAD_API_SOCKET = '/run/sigil/workload-api.sock';

const DEFAULT_HTTP_ADDR: Record<AgentKind, string> = {
  connector: '127.0.0.1:9090',
  tunneler: '127.0.0.1:9091',
};

/** Settings of one kind only; every other setting is read by both. */
const ONLY: Partial<Record<AgentSettingName, AgentKind>> = {
  connectorAddr: 'tunneler',
  connectorListenAddr: 'connector',
  forwards: 'tunneler',
  maxStreamsPerTunneler: 'connector',
  maxConnectionsPerResource: 'connector',
  idleTimeout: 'connector',
  workloadApiSocket: 'connector',
};

/** Settings whose flag may be repeated. */
const REPEATABLE: ReadonlySet<AgentSettingName> = new Set(['forwards']);

function fullTable(kind: AgentKind) {
  return {
    enrollmentToken: setting('ENROLLMENT_TOKEN', 'enrollment_token', {
      parse: text,
      help: 'one-time token from `POST /api/admin/tokens` (`enroll`, `--ephemeral`); never logged. `-` reads it from standard input; as a flag value it shows in `ps` (a warning says so)',
      secret: true,
    }),
    enrollmentTokenFile: setting('ENROLLMENT_TOKEN_FILE', 'enrollment_token_file', {
      parse: text,
      help: 'file holding the enrollment token (first line), e.g. a mounted secret; `-` reads standard input',
    }),
    controllerAddr: setting('CONTROLLER_ADDR', 'controller.addr', {
      parse: addressList,
      defaultText: "run: the enrollment's",
      help: '`host:port` of the controller; several comma-separated (a YAML list works too) for failover',
    }),
    controllerCaPath: setting('CONTROLLER_CA_PATH', 'controller.ca_path', {
      parse: text,
      defaultText: 'run: the copy pinned at enrollment',
      help: "bootstrap CA the controller must verify against (the controller's `$DATA_DIR/bootstrap-ca.crt`)",
    }),
    controllerServerName: setting('CONTROLLER_SERVER_NAME', 'controller.server_name', {
      parse: text,
      help: 'name to verify (and send as SNI) when the controller certificate does not name the host in `CONTROLLER_ADDR`',
    }),
    agentId: setting(kind === 'connector' ? 'CONNECTOR_ID' : 'TUNNELER_ID', `${kind}_id`, {
      parse: agentId,
      help: 'the agent id the token was created for (letters, digits, `.`, `-`, `_`)',
    }),
    connectorAddr: setting('CONNECTOR_ADDR', 'connector.addr', {
      parse: (raw: string, at: string) => addressList(raw, at)[0]!,
      defaultText: "run: the enrollment's",
      help: "`host:port` where the tunneler's connector listens",
    }),
    connectorListenAddr: withDefault(
      parseListenAddress('0.0.0.0:9443', 'default'),
      '0.0.0.0:9443',
      setting('CONNECTOR_LISTEN_ADDR', 'connector.listen_addr', {
        parse: (raw: string, at: string): ListenAddress => parseListenAddress(raw, at),
        help: 'mTLS listen address for tunnelers',
      }),
    ),
    stateDir: setting('STATE_DIR', 'state_dir', {
      parse: text,
      defaultText: "systemd's $STATE_DIRECTORY",
      help: 'where the identity is kept: key (0600), certificate, bundle, metadata (required unless `--ephemeral`)',
    }),
    httpAddr: withDefault(
      parseListenAddress(DEFAULT_HTTP_ADDR[kind], 'default'),
      `${DEFAULT_HTTP_ADDR.connector} (connector), ${DEFAULT_HTTP_ADDR.tunneler} (tunneler)`,
      setting('AGENT_HTTP_ADDR', 'http_addr', {
        parse: (raw: string, at: string): ListenAddress => parseListenAddress(raw, at),
        help: 'local `/healthz`, `/readyz` and `/metrics`',
      }),
    ),
    heartbeatInterval: withDefault(
      10_000,
      '10s',
      setting('HEARTBEAT_INTERVAL', 'heartbeat_interval', {
        parse: parseDurationMs,
        help: 'time between heartbeats',
      }),
    ),
    reconnectInitial: withDefault(
      500,
      '500ms',
      setting('RECONNECT_BACKOFF_INITIAL', 'reconnect.initial', {
        parse: parseDurationMs,
        help: 'first reconnect delay ceiling (full jitter)',
      }),
    ),
    reconnectMax: withDefault(
      30_000,
      '30s',
      setting('RECONNECT_BACKOFF_MAX', 'reconnect.max', {
        parse: parseDurationMs,
        help: 'reconnect delay cap',
      }),
    ),
    privateIp: setting('PRIVATE_IP', 'private_ip', {
      parse: text,
      defaultText: 'first non-loopback IPv4',
      help: "address reported to the controller's registry",
    }),
    forwards: {
      ...setting('TUNNELER_FORWARDS', 'forwards', {
        parse: parseForwards,
        help: '`run`: local listeners tunneled to resources, `listen=resource` or `listen=resource@host:port` (network resources), comma-separated; `--forward` is repeatable (docs/data-plane.md)',
      }),
      flag: 'forward',
    },
    maxStreamsPerTunneler: withDefault(
      64,
      '64',
      setting('CONNECTOR_MAX_STREAMS_PER_TUNNELER', 'data_plane.max_streams_per_tunneler', {
        parse: parsePositiveIntegerValue,
        help: 'tunneled connections one tunneler may hold open at once; more are refused (`limit_reached`)',
      }),
    ),
    maxConnectionsPerResource: withDefault(
      512,
      '512',
      setting('CONNECTOR_MAX_CONNECTIONS_PER_RESOURCE', 'data_plane.max_connections_per_resource', {
        parse: parsePositiveIntegerValue,
        help: 'tunneled connections open to one resource at once, all tunnelers together; more are refused (`limit_reached`)',
      }),
    ),
    idleTimeout: withDefault(
      30 * 60_000,
      '30m',
      setting('CONNECTOR_IDLE_TIMEOUT', 'data_plane.idle_timeout', {
        parse: parseDurationMs,
        help: 'a tunneled connection with no byte either way for this long is closed (`idle_timeout`)',
      }),
    ),
    workloadApiSocket: withDefault<string | false>(
      DEFAULT_WORKLOAD_API_SOCKET,
      DEFAULT_WORKLOAD_API_SOCKET,
      {
        env: 'SIGIL_WORKLOAD_API_SOCKET',
        flag: 'workload-api-socket',
        yaml: 'workload_api.socket',
        parse: (raw: string, at: string): string | false => {
          if (raw === 'off' || raw === 'none') return false;
          if (!raw.startsWith('/'))
            throw invalidSetting(at, 'is invalid: give an absolute socket path, or off', {
              value: raw,
            });
          return raw;
        },
        help: 'serve the SPIFFE Workload API on this unix socket, its directory created 0755 when missing (docs/workload-api.md); `off` or `none`: not served',
      },
    ),
    logLevel: setting('LOG_LEVEL', 'log_level', {
      parse: (raw: string, at: string): LogLevel => parseLogLevel(raw, at),
      defaultText: 'info (error for enroll)',
      help: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`',
    }),
  } satisfies SettingsTable;
}

/**
 * The settings table of one agent kind, for `@sigil/settings`' `resolveSettings`.
 *
 * @example
 * ```ts
 * resolveSettings(agentSettingsTable('connector'), { env: process.env }).values.heartbeatInterval; // 10000
 * ```
 */
export type AgentSettingsTable = ReturnType<typeof fullTable>;

/**
 * The settings table of one agent kind (only the settings that kind reads): {@link resolveAgentConfig},
 * `--help` and docs/agents.md come from it.
 *
 * @example
 * ```ts
 * agentSettingsTable('tunneler').agentId.env; // 'TUNNELER_ID'
 * ```
 */
export function agentSettingsTable(kind: AgentKind): AgentSettingsTable {
  const table: Partial<AgentSettingsTable> = fullTable(kind);
  for (const [name, only] of Object.entries(ONLY))
    if (only !== kind) delete table[name as AgentSettingName];
  return table as AgentSettingsTable;
}

/**
 * The settings of one agent kind, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * settingsFor('tunneler').map((s) => s.env); // [..., 'TUNNELER_ID', 'CONNECTOR_ADDR', ...]
 * ```
 */
export function settingsFor(kind: AgentKind): AgentSetting[] {
  return Object.entries(agentSettingsTable(kind)).map(([name, spec]) => {
    const only = ONLY[name as AgentSettingName];
    const defaultValue = (spec as Setting<unknown>).defaultText;
    return {
      name: name as AgentSettingName,
      env: envNames(spec)[0]!,
      flag: spec.flag!,
      yaml: spec.yaml!,
      description: spec.help,
      ...(defaultValue === undefined ? {} : { defaultValue }),
      kinds: only === undefined ? ['connector', 'tunneler'] : [only],
      ...(REPEATABLE.has(name as AgentSettingName) ? { repeatable: true } : {}),
    };
  });
}

/**
 * Every setting of `sigil-connector` and `sigil-tunneler`: the connector's, then those only the
 * tunneler reads. `agentId` reads CONNECTOR_ID or TUNNELER_ID depending on the kind
 * (see {@link settingsFor}).
 *
 * @example
 * ```ts
 * for (const s of AGENT_SETTINGS) console.log(`${s.env}\t--${s.flag}\t${s.description}`);
 * ```
 */
export const AGENT_SETTINGS: readonly AgentSetting[] = [
  ...settingsFor('connector'),
  ...settingsFor('tunneler').filter((s) => !settingsFor('connector').some((c) => c.env === s.env)),
];

/** Where {@link readEnrollmentToken} looks. */
export interface EnrollmentTokenSources {
  /** ENROLLMENT_TOKEN / `--enrollment-token`; `-` means standard input. */
  token?: string;
  /** ENROLLMENT_TOKEN_FILE / `--enrollment-token-file`; `-` means standard input. */
  tokenFile?: string;
  /** Reads standard input. Default: file descriptor 0. */
  readStdin?: () => string;
}

/**
 * The enrollment token from the variable or flag, from standard input (`-`), or from the first
 * line of `ENROLLMENT_TOKEN_FILE`; undefined when none is given. Both set, an empty file or an
 * unreadable one are `ERR_CONFIG_INVALID` naming the variable.
 *
 * @example
 * ```ts
 * readEnrollmentToken({ tokenFile: '/run/secrets/enrollment-token' }); // 'sigil_et_...'
 * ```
 */
export function readEnrollmentToken(sources: EnrollmentTokenSources): string | undefined {
  const { token, tokenFile } = sources;
  if (token !== undefined && tokenFile !== undefined)
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      'ENROLLMENT_TOKEN and ENROLLMENT_TOKEN_FILE are both set: set one of them',
      { details: { variable: 'ENROLLMENT_TOKEN_FILE' } },
    );
  const path = token === '-' ? '-' : tokenFile;
  if (path === undefined) return token;
  const variable = token === '-' ? 'ENROLLMENT_TOKEN' : 'ENROLLMENT_TOKEN_FILE';
  const where = path === '-' ? 'standard input' : path;
  let content: string;
  try {
    content =
      path === '-'
        ? (sources.readStdin ?? (() => readFileSync(0, 'utf8')))()
        : readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${variable}: cannot read the token from ${where} (${(cause as Error).message})`,
      { cause, details: { variable } },
    );
  }
  const first = content.split(/\r?\n/)[0]!.trim();
  if (first === '')
    throw new SigilError('ERR_CONFIG_INVALID', `${variable}: ${where} holds no token`, {
      details: { variable },
    });
  return first;
}

/**
 * The warning for a secret given as a command-line flag (every local user sees it in `ps`).
 *
 * @example
 * ```ts
 * process.stderr.write(secretFlagWarning('connector', '--enrollment-token'));
 * ```
 */
export function secretFlagWarning(kind: AgentKind, flag: string): string {
  return `sigil-${kind}: warning: ${flag} on the command line is visible to every local user (ps); use ENROLLMENT_TOKEN, ENROLLMENT_TOKEN_FILE or ${flag} - (standard input) instead\n`;
}
