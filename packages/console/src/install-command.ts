// The commands that install or enroll an agent with a fresh enrollment token, as the Tokens page
// shows them: the one-liners of scripts/setup.sh and scripts/tunneler-setup.sh (docs/operations.md)
// and the plain `sigil-<kind> enroll` of docs/agents.md.

/** The agent kinds an enrollment token is for. */
export type AgentKind = 'connector' | 'tunneler';

/** What an install or enroll command needs (see {@link buildInstallCommand}). */
export interface InstallCommandOptions {
  kind: AgentKind;
  /** The agent's id (`CONNECTOR_ID` / `TUNNELER_ID`). */
  id: string;
  /** The one-time enrollment token. */
  token: string;
  /** `host:port` of the controller's gRPC port (`CONTROLLER_ADDR`). */
  controllerAddr: string;
  /** Where the bootstrap CA lies on the agent host (`CONTROLLER_CA_PATH`). */
  caPath: string;
  /** Tunnelers: `host:port` where their connector listens (`CONNECTOR_ADDR`). */
  connectorAddr?: string;
}

/** The default `CONTROLLER_CA_PATH` of the install scripts and the systemd units. */
export const DEFAULT_CA_PATH = '/etc/sigil/controller-ca.crt';

/** The default port of the controller's gRPC listener (`CONTROLLER_LISTEN_ADDR`). */
export const CONTROLLER_GRPC_PORT = 8443;

/** The default port a connector listens on for its tunnelers (`CONNECTOR_LISTEN_ADDR`). */
export const CONNECTOR_LISTEN_PORT = 9443;

const SAFE = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * `value` as one POSIX shell word: unchanged when it has only safe characters, else in single
 * quotes (an embedded `'` as `'\''`).
 *
 * @example
 * ```ts
 * shellQuote('10.0.0.5:8443'); // '10.0.0.5:8443'
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 */
export function shellQuote(value: string): string {
  if (SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `host:port`, with an IPv6 host in brackets.
 *
 * @example
 * ```ts
 * hostPort('::1', 8443); // '[::1]:8443'
 * hostPort('controller.example.org', 8443); // 'controller.example.org:8443'
 * ```
 */
export function hostPort(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

const WILDCARD_HOSTS = ['', '0.0.0.0', '::'];

/**
 * The `CONTROLLER_ADDR` to offer: the gRPC listen address the controller reports
 * (`grpc_listen_addr` of `GET /api/admin/summary`), with the host the console was loaded from
 * when it listens on every address (`0.0.0.0:8443`); `pageHost` and port 8443 without one.
 *
 * @example
 * ```ts
 * defaultControllerAddr('0.0.0.0:8443', 'controller.example.org'); // 'controller.example.org:8443'
 * defaultControllerAddr('10.0.0.5:9443', 'localhost'); // '10.0.0.5:9443'
 * ```
 */
export function defaultControllerAddr(
  grpcListenAddr: string | null | undefined,
  pageHost: string,
): string {
  const match = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(grpcListenAddr ?? '');
  if (match === null) return hostPort(pageHost, CONTROLLER_GRPC_PORT);
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  return hostPort(WILDCARD_HOSTS.includes(host) ? pageHost : host, port);
}

function settings(options: InstallCommandOptions): string[] {
  const idVar = options.kind === 'connector' ? 'CONNECTOR_ID' : 'TUNNELER_ID';
  return [
    `CONTROLLER_ADDR=${shellQuote(options.controllerAddr)}`,
    ...(options.kind === 'tunneler'
      ? [`CONNECTOR_ADDR=${shellQuote(options.connectorAddr ?? '')}`]
      : []),
    `${idVar}=${shellQuote(options.id)}`,
    `ENROLLMENT_TOKEN=${shellQuote(options.token)}`,
    `CONTROLLER_CA_PATH=${shellQuote(options.caPath)}`,
  ];
}

/**
 * The install one-liner run from a Sigil checkout on the agent host: installs the agent as a
 * systemd service, enrolls it once with the token and starts it (docs/operations.md).
 *
 * @example
 * ```ts
 * buildInstallCommand({ kind: 'connector', id: 'edge-1', token: 'sigil_et_x', controllerAddr: '10.0.0.5:8443', caPath: DEFAULT_CA_PATH });
 * // 'sudo CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ID=edge-1 ENROLLMENT_TOKEN=sigil_et_x CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt bash scripts/setup.sh'
 * ```
 */
export function buildInstallCommand(options: InstallCommandOptions): string {
  const script = options.kind === 'connector' ? 'scripts/setup.sh' : 'scripts/tunneler-setup.sh';
  return ['sudo', ...settings(options), 'bash', script].join(' ');
}

/**
 * The enrollment without systemd: `sigil-<kind> enroll` with the same settings, the identity in
 * `STATE_DIR` (docs/agents.md); `sigil-<kind> run` with the same `STATE_DIR` starts it.
 *
 * @example
 * ```ts
 * buildEnrollCommand({ kind: 'connector', id: 'edge-1', token: 'sigil_et_x', controllerAddr: '10.0.0.5:8443', caPath: DEFAULT_CA_PATH });
 * // 'CONTROLLER_ADDR=10.0.0.5:8443 CONNECTOR_ID=edge-1 ENROLLMENT_TOKEN=sigil_et_x CONTROLLER_CA_PATH=/etc/sigil/controller-ca.crt STATE_DIR=/var/lib/sigil-connector sigil-connector enroll'
 * ```
 */
export function buildEnrollCommand(options: InstallCommandOptions): string {
  return [
    ...settings(options),
    `STATE_DIR=/var/lib/sigil-${options.kind}`,
    `sigil-${options.kind}`,
    'enroll',
  ].join(' ');
}
