import { Command, Option } from 'commander';
import pino from 'pino';
import { SigilError } from '@sigil/errors';
import { createLogger, installShutdownHandlers, runMain } from '@sigil/runtime';
import {
  startAgentRuntime,
  enrollFromConfig,
  type AgentRuntime,
  type AgentRuntimeOptions,
} from './agent-runtime';
import { CONFIG_FILE_ENV, resolveAgentConfig, type AgentConfig } from './config';
import { createIdentityStore } from './identity-store';
import type { AgentKind } from './identity';
import {
  secretFlagWarning,
  settingsFor,
  type AgentCommand,
  type AgentSettingName,
} from './settings';

/**
 * What the connector or tunneler adds on top of the shared runtime.
 *
 * @example
 * ```ts
 * async function startConnectorPart(context: AgentStartContext): Promise<RunningAgentPart> {
 *   const control = createStreamSupervisor({ ...controlOptions(context), onStateChange: (up) => context.runtime.setReady(up) });
 *   control.start();
 *   return { stop: () => control.stop() };
 * }
 * ```
 */
export interface AgentStartContext extends AgentRuntimeOptions {
  runtime: AgentRuntime;
}

/**
 * A started connector or tunneler part.
 *
 * @example
 * ```ts
 * const part: RunningAgentPart = { stop: () => tunnel.stop() };
 * ```
 */
export interface RunningAgentPart {
  /** Ends its streams and servers. */
  stop(): Promise<void>;
}

/**
 * A running agent, see {@link startAgent}.
 *
 * @example
 * ```ts
 * const agent: RunningAgent = await startAgent({ config, version, logger }, startConnectorPart);
 * installShutdownHandlers({ logger, shutdown: () => agent.stop() });
 * ```
 */
export interface RunningAgent<TPart extends RunningAgentPart = RunningAgentPart> {
  readonly runtime: AgentRuntime;
  readonly part: TPart;
  /** Stops the kind-specific part, then renewal, credentials and the HTTP endpoint. */
  stop(): Promise<void>;
}

/**
 * Starts an agent in this process: the shared runtime, then the kind-specific part. The bins
 * call it through {@link runAgentCli}; tests and embedders call it directly. A revoked identity
 * settles `agent.runtime.session.revocation`; the embedder then stops the agent (the bins exit 4).
 *
 * @example
 * ```ts
 * const agent = await startAgent({ config, version, logger }, (context) => startControlStream(context));
 * void agent.runtime.session.revocation.then(() => agent.stop());
 * await agent.stop();
 * ```
 */
export async function startAgent<TPart extends RunningAgentPart>(
  options: AgentRuntimeOptions,
  start: (context: AgentStartContext) => Promise<TPart>,
): Promise<RunningAgent<TPart>> {
  const runtime = await startAgentRuntime(options);
  let part: TPart;
  try {
    part = await start({ ...options, runtime });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  return {
    runtime,
    part,
    async stop() {
      await part.stop();
      await runtime.close();
    },
  };
}

/**
 * Options of {@link runAgentCli}.
 *
 * @example
 * ```ts
 * const options: AgentCliOptions = { kind: 'tunneler', version: '0.1.0', start: startTunnelerPart };
 * runAgentCli(options);
 * ```
 */
export interface AgentCliOptions {
  kind: AgentKind;
  version: string;
  /** The kind-specific part of `run`. */
  start: (context: AgentStartContext) => Promise<RunningAgentPart>;
  /** Default `process.argv`. */
  argv?: readonly string[];
  /** Default `process.env`; read here only, into the typed config. */
  env?: Readonly<Record<string, string | undefined>>;
}

const COMMANDS: Record<AgentCommand, string> = {
  enroll: 'redeem a one-time token for an identity and store it in STATE_DIR',
  run: 'run with the identity in STATE_DIR (or enroll first with --ephemeral)',
};

/**
 * The `sigil-connector` / `sigil-tunneler` command line: `enroll` and `run`, every setting as an
 * environment variable, a flag (the variable in kebab-case, e.g. `--controller-addr`) or a key in
 * the YAML file of `--config` / AGENT_CONFIG_PATH; flags win. Errors print one line
 * `error ERR_CODE: message`; exit codes: 0 done, 1 configuration or state error, 2 enrollment
 * refused, 3 controller unreachable or untrusted, 4 identity revoked (`run` stops for good when
 * the controller or its connector says so, and must not be restarted in a loop).
 *
 * @example
 * ```ts
 * // services/connector/src/main.ts
 * runAgentCli({ kind: 'connector', version, start: startConnectorPart });
 * ```
 */
export function runAgentCli(options: AgentCliOptions): void {
  const env = options.env ?? process.env;
  quietTlsServernameWarning();
  const program = new Command(`sigil-${options.kind}`)
    .description(
      `Sigil ${options.kind}: enrolls with the controller, then keeps its mTLS stream, heartbeats and certificate renewal going.`,
    )
    .version(options.version)
    .showHelpAfterError();
  for (const command of ['enroll', 'run'] as const) {
    const sub = program.command(command).description(COMMANDS[command]);
    for (const setting of settingsFor(options.kind)) {
      const fallback =
        setting.defaultValue === undefined ? '' : `, default ${setting.defaultValue}`;
      const option = new Option(
        `--${setting.flag} <value>`,
        `${setting.description} (env ${setting.env}${fallback})`,
      );
      if (setting.repeatable === true)
        option.argParser((value: string, previous?: string) =>
          previous === undefined ? value : `${previous},${value}`,
        );
      sub.addOption(option);
    }
    sub.option('--config <file>', `YAML config file (env ${CONFIG_FILE_ENV})`);
    sub.option('--ephemeral', 'enroll and run in one process, keeping the identity in memory only');
    if (command === 'enroll') sub.option('--json', 'print the result as JSON');
    sub.action(async (flags: Record<string, string | boolean | undefined>) => {
      const config = resolveAgentConfig({
        kind: options.kind,
        command: flags.ephemeral === true ? 'run' : command,
        env,
        flags: flagValues(options.kind, flags),
        configFile: typeof flags.config === 'string' ? flags.config : undefined,
        ephemeral: flags.ephemeral === true,
      });
      for (const flag of config.secretFlags)
        process.stderr.write(secretFlagWarning(options.kind, flag));
      if (config.command === 'enroll') await enroll(config, options.version, flags.json === true);
      else await run(config, options);
    });
  }
  runMain(() => program.parseAsync([...(options.argv ?? process.argv)]).then(() => undefined));
}

function flagValues(
  kind: AgentKind,
  flags: Record<string, string | boolean | undefined>,
): Partial<Record<AgentSettingName, string>> {
  const values: Partial<Record<AgentSettingName, string>> = {};
  for (const setting of settingsFor(kind)) {
    const value =
      flags[setting.flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())];
    if (typeof value === 'string') values[setting.name] = value;
  }
  return values;
}

async function enroll(config: AgentConfig, version: string, json: boolean): Promise<void> {
  // Standard output carries the result; logs go to standard error.
  const logger = createLogger({
    name: `sigil-${config.kind}`,
    level: config.logLevel,
    destination: pino.destination(2),
  });
  await refuseEnrolledStateDir(config);
  const { identity, store } = await enrollFromConfig({ config, version, logger });
  const result = {
    kind: identity.kind,
    agent_id: identity.agentId,
    spiffe_id: identity.spiffeId,
    not_after: identity.notAfter.toISOString(),
    state_dir: store.stateDir,
    ...(identity.connectorId === undefined ? {} : { connector_id: identity.connectorId }),
  };
  process.stdout.write(
    json
      ? `${JSON.stringify(result)}\n`
      : `enrolled ${identity.kind} ${identity.agentId} as ${identity.spiffeId}; certificate valid until ${result.not_after}; identity stored in ${store.stateDir}\n` +
          `next: sigil-${identity.kind} run (with STATE_DIR=${store.stateDir})\n`,
  );
}

async function run(config: AgentConfig, options: AgentCliOptions): Promise<void> {
  const logger = createLogger({ name: `sigil-${config.kind}`, level: config.logLevel });
  const agent = await startAgent({ config, version: options.version, logger }, options.start);
  installShutdownHandlers({ logger, shutdown: () => agent.stop() });
  // A revoked identity ends the process with ERR_AGENT_REVOKED (exit code 4) through runMain, an
  // identity that expired unrenewed with ERR_IDENTITY_UNUSABLE (exit code 1), a version the
  // controller no longer renews with ERR_AGENT_UPGRADE_REQUIRED (exit code 5).
  const { session } = agent.runtime;
  const fatal = await Promise.race([session.revocation, session.unusable]);
  await agent.stop();
  throw fatal;
}

/**
 * grpc-js passes the dialled host as the TLS server name even when it is an IP address, and Node
 * prints a DEP0123 deprecation warning for it on the first connection. Agents dial IP addresses
 * by design, so that one warning would only clutter their one-line errors; every other warning
 * is still printed, in Node's format.
 */
function quietTlsServernameWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') return;
    process.stderr.write(
      `(node:${process.pid}) ${warning.code === undefined ? '' : `[${warning.code}] `}${warning.name}: ${warning.message}\n`,
    );
  });
}

// The token of an enrolled STATE_DIR has been used: the controller would only say so.
async function refuseEnrolledStateDir(config: AgentConfig): Promise<void> {
  if (config.stateDir === undefined) return;
  const enrolled = await createIdentityStore({ kind: config.kind, stateDir: config.stateDir })
    .load()
    .catch(() => undefined);
  if (enrolled === undefined) return;
  throw new SigilError(
    'ERR_AGENT_ALREADY_ENROLLED',
    `STATE_DIR ${config.stateDir} already holds the identity of ${enrolled.kind} ${enrolled.agentId} (${enrolled.spiffeId}): already enrolled, run \`sigil-${config.kind} run\`, or remove STATE_DIR to enroll again`,
    { details: { stateDir: config.stateDir, spiffeId: enrolled.spiffeId } },
  );
}
