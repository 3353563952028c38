import { X509Certificate } from 'node:crypto';
import { SigilError } from '@sigil/errors';
import { readTrustBundleFile, toPem } from '@sigil/pki';
import { startHttpEndpoint, type HttpEndpoint } from '@sigil/runtime';
import type pino from 'pino';
import { createAgentSession, type AgentSession, type AgentSessionOptions } from './agent-session';
import type { AgentConfig } from './config';
import { enrollAgent } from './enrollment';
import type { AgentIdentity } from './identity';
import { createIdentityStore, type IdentityStore } from './identity-store';

/**
 * Options of {@link enrollFromConfig} and {@link startAgent}.
 *
 * @example
 * ```ts
 * const options: AgentRuntimeOptions = { config, version: '0.1.0', logger, renewal: { jitterFraction: 0 } };
 * const runtime = await startAgentRuntime(options);
 * ```
 */
export interface AgentRuntimeOptions {
  config: AgentConfig;
  /** Reported on enrollment and every heartbeat. */
  version: string;
  logger: pino.Logger;
  /** Renewal timing overrides (tests). */
  renewal?: AgentSessionOptions['renewal'];
}

/**
 * What `enroll` produced.
 *
 * @example
 * ```ts
 * const { identity, store }: EnrollmentResult = await enrollFromConfig({ config, version, logger });
 * console.log(`${identity.spiffeId} stored in ${store.stateDir ?? 'memory'}`);
 * ```
 */
export interface EnrollmentResult {
  identity: AgentIdentity;
  store: IdentityStore;
}

/**
 * `sigil-<kind> enroll`: enrolls with the settings of `config` and stores the identity in
 * STATE_DIR (in memory when ephemeral).
 *
 * @example
 * ```ts
 * const { identity } = await enrollFromConfig({ config, version: '0.1.0', logger });
 * console.log(`enrolled as ${identity.spiffeId}`);
 * ```
 */
export async function enrollFromConfig(options: AgentRuntimeOptions): Promise<EnrollmentResult> {
  const { config } = options;
  const store = createIdentityStore({ kind: config.kind, stateDir: config.stateDir });
  const caPath = config.controllerCaPath!;
  const identity = await enrollAgent({
    kind: config.kind,
    agentId: config.agentId!,
    token: config.enrollmentToken!,
    controllerAddresses: config.controllerAddresses!,
    controllerCaPem: readControllerCa(caPath),
    controllerCaPath: caPath,
    controllerServerName: config.controllerServerName,
    connectorAddress: config.connectorAddress,
    version: options.version,
    privateIp: config.privateIp,
    logger: options.logger,
  });
  await store.save(identity);
  options.logger.info(
    {
      event: 'agent.enrolled',
      kind: identity.kind,
      agentId: identity.agentId,
      spiffeId: identity.spiffeId,
      serial: new X509Certificate(identity.certificateChainPem).serialNumber.toLowerCase(),
      notAfter: identity.notAfter.toISOString(),
      stateDir: store.stateDir ?? null,
    },
    'agent.enrolled',
  );
  return { identity, store };
}

/**
 * The shared part of a running agent, started by {@link startAgent}.
 *
 * @example
 * ```ts
 * const runtime: AgentRuntime = await startAgentRuntime({ config, version, logger });
 * runtime.setReady(true);
 * console.log(runtime.http.url, runtime.session.nextRenewalAt);
 * await runtime.close();
 * ```
 */
export interface AgentRuntime {
  readonly session: AgentSession;
  readonly http: HttpEndpoint;
  readonly store: IdentityStore;
  /** Sets what /readyz answers (the kind-specific stream decides). */
  setReady(ready: boolean): void;
  /** Stops renewal, credentials and the HTTP endpoint. */
  close(): Promise<void>;
}

/**
 * Starts what every running agent needs: its identity (loaded from STATE_DIR, or enrolled first
 * with `--ephemeral`), the session that renews it, and the local /healthz, /readyz and /metrics
 * endpoint on AGENT_HTTP_ADDR. The connector and tunneler add their stream on top.
 *
 * @example
 * ```ts
 * const runtime = await startAgentRuntime({ config, version, logger });
 * const stream = createStreamSupervisor({ ..., onStateChange: (up) => runtime.setReady(up) });
 * ```
 */
export async function startAgentRuntime(options: AgentRuntimeOptions): Promise<AgentRuntime> {
  const { config, logger } = options;
  const { identity, store } = config.enrolls
    ? await enrollFromConfig(options)
    : await loadIdentity(config);
  const session = createAgentSession({
    identity,
    store,
    controllerAddresses: config.controllerAddresses ?? identity.controllerAddresses,
    controllerCaPem:
      config.controllerCaPath === undefined
        ? identity.controllerCaPem
        : readControllerCa(config.controllerCaPath),
    controllerServerName: config.controllerServerName,
    version: options.version,
    logger,
    renewal: options.renewal,
  });
  let ready = false;
  await session.start();
  let http: HttpEndpoint;
  try {
    http = await startHttpEndpoint({
      host: config.httpAddress.host,
      port: config.httpAddress.port,
      registry: session.metrics.registry,
      // Ready while the stream is up and STATE_DIR holds the identity in use.
      isReady: () => ready && session.persistence().persisted,
      readiness: () => ({ identity: session.persistence() }),
      logger,
    });
  } catch (err) {
    session.stop();
    throw err;
  }
  logger.info(
    {
      event: 'agent.started',
      kind: identity.kind,
      agentId: identity.agentId,
      spiffeId: identity.spiffeId,
      httpUrl: http.url,
      ephemeral: config.ephemeral,
      stateDir: store.stateDir ?? null,
    },
    'agent.started',
  );
  return {
    session,
    http,
    store,
    setReady(value) {
      ready = value;
    },
    async close() {
      ready = false;
      session.stop();
      await http.close();
    },
  };
}

async function loadIdentity(config: AgentConfig): Promise<EnrollmentResult> {
  const store = createIdentityStore({ kind: config.kind, stateDir: config.stateDir });
  const identity = await store.load();
  if (identity === undefined) {
    throw new SigilError(
      'ERR_NOT_ENROLLED',
      `no ${config.kind} identity in STATE_DIR ${store.stateDir}: run \`sigil-${config.kind} enroll\` first (or \`run --ephemeral\`)`,
      {
        details: { stateDir: store.stateDir },
      },
    );
  }
  if (config.agentId !== undefined && config.agentId !== identity.agentId) {
    const variable = config.kind === 'connector' ? 'CONNECTOR_ID' : 'TUNNELER_ID';
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${variable}=${config.agentId} but STATE_DIR ${store.stateDir} holds the identity of ${identity.agentId}`,
      {
        details: { variable, stateDir: store.stateDir },
      },
    );
  }
  return { identity, store };
}

function readControllerCa(path: string): string {
  return toPem(readTrustBundleFile(path));
}
